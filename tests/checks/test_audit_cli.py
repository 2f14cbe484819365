"""`inspect8s audit` and `inspect8s checks` as a user runs them (the CLI runner, in-process):
output formats, exit codes 0/1/2/3/4."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.clirun import CliResult, cli
from tests.zygote import CliProcess

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOLDEN_INPUT = FIXTURES / "manifests" / "golden"
CLEAN = FIXTURES / "checks" / "I8S-RES-MEMLIMIT" / "pass-limits.yaml"
DOCKERSOCK = FIXTURES / "checks" / "I8S-WL-DOCKERSOCK" / "fail-docker-sock.yaml"


def run(*args: str, stdin: str | None = None) -> CliResult:
    return cli(*args, stdin=stdin)


def test_findings_at_or_above_fail_on_exit_1() -> None:
    proc = run("audit", "--manifests", str(DOCKERSOCK))
    assert proc.returncode == 1, proc.stderr
    assert "I8S-WL-DOCKERSOCK" in proc.stdout
    assert "critical" in proc.stdout
    assert proc.stderr == ""


def test_fail_on_threshold_and_none() -> None:
    # the clean deployment still lacks allowPrivilegeEscalation: false (medium)
    assert run("audit", "--manifests", str(CLEAN)).returncode == 0
    assert run("audit", "--manifests", str(CLEAN), "--fail-on", "medium").returncode == 1
    assert run("audit", "--manifests", str(DOCKERSOCK), "--fail-on", "none").returncode == 0
    assert run("audit", "--manifests", str(DOCKERSOCK), "--fail-on", "CRITICAL").returncode == 1


def test_require_complete_and_nothing_collected() -> None:
    broken = str(GOLDEN_INPUT / "broken.yaml")
    proc = run("audit", "--manifests", str(CLEAN), broken, "--require-complete")
    assert proc.returncode == 3
    assert f"could not check manifest:{broken}: malformed" in proc.stdout
    assert run("audit", "--manifests", str(CLEAN), broken).returncode == 0
    only_broken = run("audit", "--manifests", broken)
    assert only_broken.returncode == 4
    assert "Traceback" not in only_broken.stderr


def test_usage_errors_exit_2() -> None:
    for args in (
        ("audit", "--manifests", "/nonexistent/inspect8s/path"),
        ("audit", "--manifests", str(CLEAN), "-o", "pdf"),
        ("audit", "--manifests", str(CLEAN), "--fail-on", "urgent"),
        ("audit", "--manifests", str(CLEAN), "--select", "I8S-NOPE"),
        ("audit", str(CLEAN)),
        ("checks", "-o", "sarif"),
        ("checks", "I8S-NOPE"),
    ):
        proc = run(*args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_node_audit_runs_on_this_machine() -> None:
    # The node hook is wired (inspect8s/nodeaudit.py); tests/audit covers its findings.
    proc = run("audit", "-o", "json", "--fail-on", "none")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["target"] == "node"
    assert "Traceback" not in proc.stderr


def test_broken_check_plugin_exits_4(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("raise RuntimeError('plugin exploded')\n")
    proc = run("audit", "--manifests", str(CLEAN), "--checks-path", str(tmp_path))
    assert proc.returncode == 4
    assert "bad.py failed to load: RuntimeError: plugin exploded" in proc.stderr


def test_checks_path_plugin_runs_on_manifests(tmp_path: Path) -> None:
    (tmp_path / "team.py").write_text(
        "from inspect8s import check, Scope, Severity, Violation\n"
        "@check('I8S-TEAM-001', title='No team label', severity=Severity.CRITICAL, "
        "scope=Scope.POD)\n"
        "def team(pod):\n"
        "    '''Pods name their team.'''\n"
        "    if 'team' not in pod.labels:\n"
        "        yield Violation('no team label')\n"
    )
    proc = run(
        "audit",
        "--manifests",
        str(CLEAN),
        "--checks-path",
        str(tmp_path),
        "-o",
        "json",
        "--select",
        "I8S-TEAM",
    )
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert [c["id"] for c in doc["checks"]] == ["I8S-TEAM-001"]
    assert [(f["checkId"], f["subject"]) for f in doc["findings"]] == [
        ("I8S-TEAM-001", "Deployment/shop/web")
    ]


def test_select_ignore_and_ignore_file(tmp_path: Path) -> None:
    proc = run("audit", "--manifests", str(DOCKERSOCK), "-o", "json", "--ignore", "I8S-WL")
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    assert not any(c["id"].startswith("I8S-WL") for c in doc["checks"])
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text(
        "- id: I8S-WL-DOCKERSOCK\n  subject: DaemonSet/shop/builder\n"
        "  reason: builds images, reviewed\n"
    )
    proc = run("audit", "--manifests", str(DOCKERSOCK), "-o", "json", "--ignore-file", str(ignore))
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    [sock] = [f for f in doc["findings"] if f["checkId"] == "I8S-WL-DOCKERSOCK"]
    assert sock["suppressed"] == {"reason": "builds images, reviewed"}
    assert doc["summary"]["suppressed"] == 1


def test_output_file_and_stdin(tmp_path: Path) -> None:
    out = tmp_path / "report.sarif"
    proc = run(
        "audit",
        "--manifests",
        "-",
        "-o",
        "sarif",
        "--output-file",
        str(out),
        stdin=DOCKERSOCK.read_text(),
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert f"report written to {out}" in proc.stderr
    sarif = json.loads(out.read_text())
    [result] = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "I8S-WL-DOCKERSOCK"]
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "%3Cstdin%3E"
    # the line of the hostPath's path, not the document's first line
    line = DOCKERSOCK.read_text().splitlines().index("            path: /var/run/docker.sock")
    assert physical["region"] == {"startLine": line + 1}


def test_every_format_renders(tmp_path: Path) -> None:
    for fmt in ("table", "json", "yaml", "sarif", "junit"):
        proc = run("audit", "--manifests", str(GOLDEN_INPUT), "-o", fmt)
        assert proc.returncode == 1, (fmt, proc.stderr)
        assert "I8S-WL-DOCKERSOCK" in proc.stdout


def test_checks_lists_and_explains() -> None:
    proc = run("checks")
    assert proc.returncode == 0
    assert "I8S-WL-DOCKERSOCK" in proc.stdout and "critical" in proc.stdout
    proc = run("checks", "-o", "json")
    doc = json.loads(proc.stdout)
    assert doc["schemaVersion"] == 1
    ids = [c["id"] for c in doc["checks"]]
    assert ids == sorted(ids) and "I8S-SEC-PRIVILEGED" in ids
    assert all(c["rationale"] for c in doc["checks"])
    proc = run("checks", "I8S-WL-SECCOMP")
    assert proc.returncode == 0
    assert "kubernetes/kubernetes#109819" in proc.stdout


def _many_documents(tmp_path: Path, n: int = 30_000) -> Path:
    path = tmp_path / "many.yaml"
    path.write_text("".join(f"---\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n" for i in range(n)))
    return path


def test_progress_goes_to_a_terminal_and_never_to_a_pipe(tmp_path: Path) -> None:
    import pty
    import select

    path = _many_documents(tmp_path, 300)  # the last count is always drawn, then erased
    report = tmp_path / "report.json"
    cmd = ["audit", "--manifests", str(path), "-o", "json", "--output-file", str(report)]
    leader, follower = pty.openpty()
    proc = CliProcess(cmd, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the pty closes when the child exits
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(60) == 0
    os.close(leader)
    assert b"manifests (" in seen
    assert b"documents): files 1/1" in seen
    assert b"\r\x1b[K" in seen  # the status line is rewritten and erased
    piped = run("audit", "--manifests", str(path), "-o", "json", "--output-file", str(report))
    assert piped.returncode == 0
    assert "manifests (" not in piped.stderr
    assert "report written to" in piped.stderr


def test_max_manifest_size_caps_files_and_is_validated(tmp_path: Path) -> None:
    path = _many_documents(tmp_path, 2000)
    proc = run("audit", "--manifests", str(path), str(DOCKERSOCK), "--max-manifest-size", "16K")
    assert proc.returncode == 1  # DOCKERSOCK is still audited
    assert "larger than 16 KiB" in proc.stdout
    assert "--max-manifest-size" in proc.stdout
    bad = run("audit", "--manifests", str(path), "--max-manifest-size", "lots")
    assert bad.returncode == 2
    assert "--max-manifest-size" in bad.stderr
    assert run("audit", "--max-manifest-size", "1G").returncode == 2


def test_dev_zero_a_fifo_and_deep_json_end_quickly_with_errors(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    deep = tmp_path / "deep.json"
    deep.write_text('{"kind": ' + "[" * 100_000 + "]" * 100_000 + "}")
    proc = run(
        "audit", "--manifests", "/dev/zero", str(fifo), str(deep), str(DOCKERSOCK), "-o", "json"
    )
    assert proc.returncode == 1, proc.stderr  # the good file is audited: its critical finding
    doc = json.loads(proc.stdout)
    errors = {e["source"]: e["detail"] for e in doc["errors"]}
    assert errors["manifest:/dev/zero"] == "is a character device, not a regular file"
    assert errors[f"manifest:{fifo}"] == "is a FIFO, not a regular file"
    assert "nested deeper than 1000 levels" in errors[f"manifest:{deep}"]
    assert any(f["checkId"] == "I8S-WL-DOCKERSOCK" for f in doc["findings"])
