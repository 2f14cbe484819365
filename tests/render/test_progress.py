"""render/progress.py, and progress through the real CLI: on a terminal's standard error
for manifest audits and cluster audits with agents; never in pipes or with -o json."""

from __future__ import annotations

import io
import os
import pty
from pathlib import Path

from inspect8s.render.progress import Progress
from tests.clirun import cli
from tests.kube.test_cluster_audit import agent_output, nodes
from tests.kubeserver import AgentScript, KubeServer
from tests.ptyrun import REPO, run_in_pty

ERASE = "\r\x1b[K"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_disabled_progress_writes_nothing() -> None:
    quiet = Progress(None)
    quiet.update("x", force=True)
    quiet.step("files", 1, 2)
    quiet.log("node a done")
    quiet.clear()
    assert not quiet.enabled


def test_status_line_is_throttled_kept_below_logs_and_erased() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress(out, clock=clock) as progress:
        progress.step("files", 1, 10)
        progress.step("files", 2, 10)  # same instant: not drawn
        clock.now = 0.5
        progress.step("files", 3, 10)
        progress.step("files", 10, 10)  # the last step is always drawn
        progress.log("node n1 done (1/2)")
    text = out.getvalue()
    assert "files 1/10" in text and "files 2/10" not in text and "files 3/10" in text
    assert "files 10/10" in text
    assert f"{ERASE}inspect8s: node n1 done (1/2)\ninspect8s: files 10/10" in text
    assert text.endswith(ERASE)  # the status line is gone when the work is done


def test_for_output_needs_a_terminal_and_no_structured_stdout() -> None:
    assert not Progress.for_output(structured=False, stderr=io.StringIO()).enabled
    leader, follower = pty.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as tty:
            assert Progress.for_output(structured=False, stderr=tty).enabled
            assert not Progress.for_output(structured=True, stderr=tty).enabled
    finally:
        os.close(leader)
        os.close(follower)


def _manifests(tmp_path: Path, count: int) -> Path:
    src = (REPO / "tests" / "fixtures" / "manifests" / "golden" / "workloads.yaml").read_text()
    folder = tmp_path / "manifests"
    folder.mkdir()
    for i in range(count):
        (folder / f"app-{i:03}.yaml").write_text(src)
    return folder


def test_manifest_audit_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    folder = _manifests(tmp_path, 40)
    args = ["audit", "--manifests", str(folder), "--fail-on", "none"]
    shown = run_in_pty(args)
    assert shown.returncode == 0, shown.output
    assert f"{ERASE}inspect8s: manifests (" in shown.output
    assert "files 40/40" in shown.output
    as_json = run_in_pty([*args, "-o", "json"])
    assert as_json.returncode == 0 and ERASE not in as_json.output
    assert as_json.output.lstrip().startswith("{")
    piped = cli(*args)
    assert piped.returncode == 0 and piped.stderr == ""
    assert "\x1b" not in piped.stdout


def test_cluster_audit_with_agents_shows_each_node(tmp_path: Path) -> None:
    names = ("n1", "n2")
    with KubeServer(nodes=nodes(*names)) as server:
        server.agent_by_node = {
            "n1": AgentScript(logs=agent_output("host-1", "a")),
            "n2": AgentScript(phases=("Pending", "Failed"), logs="panic\n", exit_code=2),
        }
        kubeconfig = server.kubeconfig(tmp_path / "config")
        args = ["audit", "--cluster", "--agents", "--kubeconfig", str(kubeconfig)]
        result = run_in_pty([*args, "--fail-on", "none"])
    assert result.returncode == 0, result.output
    text = result.output
    assert (
        "inspect8s: listing pods, nodes, RuntimeClasses and the API version table's kinds" in text
    )
    assert "inspect8s: auditing 2 nodes through agent pods, 4 at a time\n" in text
    assert "node n1 done (" in text and "node n2 failed: " in text
    assert "agent pods: 2/2 nodes done" in text
