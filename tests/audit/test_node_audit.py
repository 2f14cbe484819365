"""Node audit replay: every bundle under tests/fixtures/audit gives exactly its expected
(check ID, subject) set; renderers, record/replay, redaction and malformed bundles.

Regenerate the golden with ``UPDATE_GOLDEN=1 pytest tests/audit``.
"""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from inspect8s.audit.registry import Check, CheckSettings, load_checks
from inspect8s.audit.results import AuditResult
from inspect8s.audit.runner import run_checks
from inspect8s.collect.nodeaudit import collect_for_node
from inspect8s.errors import UsageError
from inspect8s.render import get_renderer
from tests.clirun import cli

REPO = Path(__file__).resolve().parents[2]
AUDIT = REPO / "tests" / "fixtures" / "audit"
BUNDLES = sorted(p.name for p in AUDIT.iterdir() if (p / "bundle.json").is_file())
SCHEMA = json.loads((REPO / "tests/fixtures/schemas/sarif-schema-2.1.0.json").read_text())


@functools.cache
def sarif_validator() -> Any:
    """What ``jsonschema.validate(doc, SCHEMA)`` checks, the schema itself checked once."""
    cls = jsonschema.validators.validator_for(SCHEMA)
    cls.check_schema(SCHEMA)
    return cls(SCHEMA)


NODE_MODULES = ("inspect8s.audit.checks.node", "inspect8s.audit.checks.upgrade")


def node_checks() -> list[Check]:
    return [c for c in load_checks() if c.info.origin in NODE_MODULES]


def expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((AUDIT / name / "expected.json").read_text())
    return data


@functools.cache
def audit_bundle(name: str, path: str | None = None) -> AuditResult:
    """The node audit of a bundle, made once per bundle for all the tests that read it (the
    result is immutable)."""
    want = expected(name)
    snapshot = collect_for_node("/", from_dirs=[path or f"tests/fixtures/audit/{name}"])
    target = want["targetVersion"]
    if target is None and snapshot.kubelet_version is not None:
        target = f"1.{snapshot.kubelet_version.minor}"
    return run_checks(
        snapshot,
        node_checks(),
        settings=CheckSettings(target_version=target),
        inputs=[f"tests/fixtures/audit/{name}"],
    )


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def test_all_six_scenarios_present() -> None:
    assert set(BUNDLES) == {
        "kubeadm-1.23-docker",
        "kubelet-1.25-containerd-1.5",
        "containerd-2.1-v2-removed-keys",
        "cgroupv1-target-1.35",
        "docker-containerd-cri-disabled",
        "healthy-1.31-cgroupv2",
    }
    for name in BUNDLES:
        assert (AUDIT / name / "SOURCE.md").is_file()


@pytest.mark.parametrize("name", BUNDLES)
def test_bundle_gives_exactly_the_expected_findings(name: str) -> None:
    result = audit_bundle(name)
    got = {(f.check_id, f.subject) for f in result.findings}
    want = {tuple(x) for x in expected(name)["findings"]}
    assert got == want
    assert not [o for o in result.outcomes if o.status.value == "error"]


@pytest.mark.parametrize("name", BUNDLES)
def test_every_finding_says_where_and_what_to_do(name: str) -> None:
    for f in audit_bundle(name).findings:
        assert f.location is not None or any(
            word in f.message for word in ("command line", "PID", " at /", "default")
        ), f
        assert any(
            w in f.message
            for w in (
                "remove",
                "upgrade",
                "use ",
                "set ",
                "move",
                "add",
                "migrate",
                "point",
                "run ",
                "find",
                "define",
            )
        )


def test_findings_name_file_and_line() -> None:
    result = audit_bundle("kubeadm-1.23-docker")
    by_subject = {
        (f.check_id, f.subject, f.location.text() if f.location else None) for f in result.findings
    }
    assert (
        "I8S-KFLAG-124",
        "node/node-c/kubelet/--docker-endpoint",
        "/etc/default/kubelet:1",
    ) in by_subject
    assert (
        "I8S-CTRD-CRIOFF",
        "node/node-c/containerd/disabled_plugins",
        "/etc/containerd/config.toml:3",
    ) in by_subject


def test_healthy_node_passes_every_node_check_that_ran() -> None:
    result = audit_bundle("healthy-1.31-cgroupv2")
    assert result.findings == ()
    statuses = {o.check_id: o.status.value for o in result.outcomes}
    # the checks that judge this node ran and passed (not skipped for lack of data)
    for check_id in (
        "I8S-CG-DRIVER",
        "I8S-CTRD-DEPRWARN",
        "I8S-CTRD-CFGVER",
        "I8S-CRI-V1",
        "I8S-RUNTIME-MINVER",
        "I8S-CG-V1",
        "I8S-KFLAG-124",
    ):
        assert statuses[check_id] == "passed", check_id


def test_target_version_changes_the_verdict() -> None:
    snapshot = collect_for_node("/", from_dirs=["tests/fixtures/audit/kubeadm-1.23-docker"])
    assert snapshot.kubelet_version is not None
    assert snapshot.kubelet_version.version == "1.23.17-00"
    assert snapshot.kubelet_version.source == "host:/var/lib/dpkg/status"
    at_own = run_checks(snapshot, node_checks(), settings=CheckSettings(target_version="1.23"))
    ids = {f.check_id for f in at_own.findings}
    assert "I8S-KFLAG-124" not in ids and "I8S-KUBELET-DOCKERSHIM" not in ids
    at_127 = run_checks(snapshot, node_checks(), settings=CheckSettings(target_version="1.27"))
    assert "I8S-KFLAG-127" in {f.check_id for f in at_127.findings}


def test_unknown_kubelet_version_skips_upgrade_checks(tmp_path: Path) -> None:
    copy = tmp_path / "b"
    shutil.copytree(AUDIT / "kubelet-1.25-containerd-1.5", copy, symlinks=True)
    manifest = json.loads((copy / "bundle.json").read_text())
    manifest["kubeletVersion"] = None
    (copy / "bundle.json").write_text(json.dumps(manifest))
    snapshot = collect_for_node("/", from_dirs=[str(copy)])
    result = run_checks(snapshot, node_checks(), settings=CheckSettings())
    skipped = {o.check_id: o.reason for o in result.outcomes if o.status.value == "skipped"}
    assert "--target-version" in (skipped["I8S-CRI-V1"] or "")
    assert not [f for f in result.findings if f.check_id == "I8S-CRI-V1"]


# --------------------------------------------------------------------------- renderers


def render(name: str, result: AuditResult) -> str:
    out = io.StringIO()
    get_renderer(name)(result, out)
    return out.getvalue()


def test_golden_json() -> None:
    doc = json.loads(render("json", audit_bundle("kubeadm-1.23-docker")))
    doc["tool"]["version"] = "VERSION"
    got = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    path = AUDIT / "kubeadm-1.23-docker.golden.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(got)
    assert got == path.read_text(), "golden changed; UPDATE_GOLDEN=1 to accept"


@pytest.mark.parametrize("name", BUNDLES)
def test_sarif_validates_and_junit_parses(name: str) -> None:
    result = audit_bundle(name)
    sarif = json.loads(render("sarif", result))
    sarif_validator().validate(sarif)
    assert len(sarif["runs"][0]["results"]) == len(result.findings)
    root = ET.fromstring(render("junit", result))
    failures = sum(int(s.get("failures", "0")) for s in root.iter("testsuite"))
    assert (
        failures == len({(f.check_id, f.subject) for f in result.findings})
        or failures >= 1
        or not result.findings
    )


def test_cli_audit_from_bundle_exit_codes() -> None:
    run = ["audit", "--from", "tests/fixtures/audit/kubelet-1.25-containerd-1.5"]
    bad = cli(*run, "--target-version", "1.26", "-o", "json", cwd=str(REPO))
    assert bad.returncode == 1, bad.stderr
    ids = {f["checkId"] for f in json.loads(bad.stdout)["findings"]}
    assert {"I8S-CRI-V1", "I8S-RUNTIME-MINVER"} <= ids
    ok = cli(*run, "--target-version", "1.25", cwd=str(REPO))
    assert "I8S-CRI-V1" not in ok.stdout
    default = cli(*run, "-o", "json", cwd=str(REPO))
    assert json.loads(default.stdout)["settings"] == {
        "targetVersion": "1.25",
        "targetVersionFrom": "the kubelet (v1.25.16)",
    }


# --------------------------------------------------------------------------- malformed input


def test_not_a_bundle_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no bundle\.json"):
        collect_for_node("/", from_dirs=[str(tmp_path)])
    (tmp_path / "bundle.json").write_text('{"format": "inspect8s-bundle", "version": 99}')
    with pytest.raises(UsageError, match="version 99"):
        collect_for_node("/", from_dirs=[str(tmp_path)])
    (tmp_path / "bundle.json").write_bytes(b"\x00\xff garbage")
    with pytest.raises(UsageError, match="unreadable"):
        collect_for_node("/", from_dirs=[str(tmp_path)])
    proc = cli("audit", "--from", str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def kubeadm_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the kubeadm-1.23-docker bundle for the malformed-file cases: each case
    damages one file and puts it back before the next."""
    copy = tmp_path_factory.mktemp("malformed") / "b"
    shutil.copytree(AUDIT / "kubeadm-1.23-docker", copy, symlinks=True)
    return copy


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("etc/containerd/config.toml", b"\x00\x9f\xff\xfe binary garbage [[["),
        ("etc/containerd/config.toml", b'version = 2\n[plugins."io.containerd.grpc.v1.cri"\n'),
        ("var/lib/kubelet/config.yaml", b"kind: KubeletConfiguration\n  bad: [\n"),
        ("etc/crictl.yaml", b"runtime-endpoint: [unclosed\n"),
        ("var/lib/kubelet/kubeadm-flags.env", b'KUBELET_KUBEADM_ARGS="--unterminated\n'),
        ("etc/docker/daemon.json", b'{"registry-mirrors": ['),
        ("proc/801/net/unix", b"\x00\x01\x02"),
        ("var/lib/dpkg/status", b"\xff\xfe\x00Package kubelet"),
    ],
)
def test_malformed_file_is_a_probe_error_and_the_rest_still_runs(
    kubeadm_copy: Path, path: str, content: bytes
) -> None:
    target = kubeadm_copy / "host" / path
    original = target.read_bytes()
    target.write_bytes(content)
    try:
        snapshot = collect_for_node("/", from_dirs=[str(kubeadm_copy)])
        result = run_checks(snapshot, node_checks(), settings=CheckSettings(target_version="1.24"))
    finally:
        target.write_bytes(original)  # the next case starts from the bundle as recorded
    assert not [o for o in result.outcomes if o.status.value == "error"]
    assert result.findings  # other sources still give their findings
    if path.endswith((".toml", ".yaml", ".env", ".json")):
        assert any(f"/{path}" in e.source or f"/{path}" in e.detail for e in result.errors), [
            e.line() for e in result.errors
        ]


def test_directory_where_a_file_should_be(tmp_path: Path) -> None:
    copy = tmp_path / "b"
    shutil.copytree(AUDIT / "docker-containerd-cri-disabled", copy, symlinks=True)
    target = copy / "host/etc/containerd/config.toml"
    target.unlink()
    target.mkdir()
    snapshot = collect_for_node("/", from_dirs=[str(copy)])
    assert any("config.toml" in e.source for e in snapshot.errors)
    result = run_checks(snapshot, node_checks(), settings=CheckSettings())
    assert "I8S-NODE-DOCKERD" in {f.check_id for f in result.findings}


def test_recorded_read_failures_replay(tmp_path: Path) -> None:
    copy = tmp_path / "b"
    shutil.copytree(AUDIT / "healthy-1.31-cgroupv2", copy, symlinks=True)
    (copy / "host-errors.json").write_text(
        json.dumps(
            {
                "/etc/crictl.yaml": {"kind": "permission", "detail": "Permission denied"},
            }
        )
    )
    snapshot = collect_for_node("/", from_dirs=[str(copy)])
    errors = {(e.kind.value, e.source) for e in snapshot.errors}
    assert ("permission", "host:/etc/crictl.yaml") in errors
