"""tests/zygote.py: a forked child shows what a fresh ``python -m inspect8s`` shows (output,
stderr, exit code, stdin, environment, directory, signals), so the tests that use it test
the real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.zygote import REPO, CliProcess, run_forked

FIXTURE_HOST = REPO / "tests/fixtures/audit/containerd-2.1-v2-removed-keys/host"
MANIFEST = "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: web}\n"


def fresh(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspect8s", *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)}, **kwargs,  # type: ignore[call-overload]
    )  # fmt: skip


CASES = {
    "version": (["--version"], None),
    "help": (["--help"], None),
    "usage error": (["node", "--output", "nope"], None),
    "missing root": (["node", "--root", "/nonexistent"], None),
    "node json": (["node", "--root", str(FIXTURE_HOST), "-o", "json"], None),
    "manifests on stdin": (["audit", "--manifests", "-", "-o", "json"], MANIFEST),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_forked_run_is_a_fresh_run(case: str) -> None:
    args, stdin = CASES[case]
    want = fresh(args, input=stdin)
    got = run_forked(
        args, input=stdin, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert (got.returncode, got.stderr) == (want.returncode, want.stderr)
    if "json" in case:  # the report carries its own timing
        assert _without_times(got.stdout) == _without_times(want.stdout)
    else:
        assert got.stdout == want.stdout


def _without_times(text: str) -> str:
    import json

    def strip(doc: object) -> object:
        if isinstance(doc, dict):
            return {k: strip(v) for k, v in doc.items() if "time" not in k.lower()}
        if isinstance(doc, list):
            return [strip(v) for v in doc]
        return doc

    return json.dumps(strip(json.loads(text)), sort_keys=True)


def test_environment_and_directory_are_the_callers(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("clusters: [\n")
    # KUBECONFIG is read from the child's own environment, relative to its own directory
    got = run_forked(
        ["pod", "web"], capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "KUBECONFIG": "config"},
    )  # fmt: skip
    assert got.returncode == 2
    assert "is not valid YAML at line 2" in got.stderr and "config" in got.stderr


def test_sigint_and_sigkill_end_the_child_as_a_process() -> None:
    # audit of an endless stdin: the run waits for input until it is interrupted
    proc = CliProcess(
        ["audit", "--manifests", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.poll() is None
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.decode().strip().splitlines()[-1] == "inspect8s: interrupted"

    proc = CliProcess(["audit", "--manifests", "-"], stdin=subprocess.PIPE)
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.2)
    proc.kill()
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert proc.maxrss_kb is not None and proc.maxrss_kb > 0


def test_a_full_disk_and_a_closed_pipe_are_what_a_process_sees() -> None:
    args = ["node", "--root", str(FIXTURE_HOST)]
    with open("/dev/full", "w") as full:
        got = run_forked(args, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert got.returncode == 4
    assert got.stderr == "inspect8s: error: cannot write the output: No space left on device\n"
    read, write = os.pipe()
    os.close(read)
    proc = CliProcess([*args, "-o", "json"], stdout=write, stderr=subprocess.PIPE)
    os.close(write)
    _out, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (141, b"")
