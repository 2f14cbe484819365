"""`inspect8s audit` and `inspect8s record` live against the test bed's containerd and dockerd.

The bed runs containerd 1.6 with CRI and dockerd 20.10 on top of it, no kubelet. Expected:
dockerd beside containerd, the Docker container in the moby namespace, and the process
this test keeps connected to docker.sock; nothing on the healthy parts (CRI v1, cgroup
driver, deprecations, config keys that containerd 1.6 still reads).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testbed import ContainerRequest, TestBed

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
NODE_PREFIXES = (
    "I8S-KFLAG",
    "I8S-KUBELET",
    "I8S-CRI-",
    "I8S-RUNTIME-",
    "I8S-CTRD",
    "I8S-CG",
    "I8S-CRICTL",
    "I8S-NODE-DOCKER",
    "I8S-NODE-MOBY",
)

HOLDER = """
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"GET /_ping HTTP/1.1\\r\\nHost: docker\\r\\n\\r\\n")
s.recv(4096)
print("connected", flush=True)
time.sleep(600)
"""


@pytest.fixture(scope="module")
def holder(testbed: TestBed) -> Iterator[int]:
    """A process that keeps a connection to the bed's docker.sock open (like an agent)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(testbed.docker_socket)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "connected"
        yield proc.pid
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def moby(testbed: TestBed) -> Any:
    """A Docker container (moby namespace) and a CRI pod (so the cgroup driver is judged)."""
    testbed.run_pod(
        "audit-web",
        "audit",
        qos="burstable",
        host_network=True,
        containers=[ContainerRequest("app", memory_limit_bytes=64 << 20)],
    )
    return testbed.run_docker("audit-legacy")


def _audit(*args: str) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "inspect8s", "audit", "-o", "json", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=180,
    )
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _mine(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in doc["findings"] if f["checkId"].startswith(NODE_PREFIXES)]


def test_live_audit_finds_docker_leftovers_and_nothing_else(
    testbed: TestBed, moby: Any, holder: int
) -> None:
    # The bed's pod runs in the host's network namespace, which the kernel-only checks
    # (I8S-HOST-*, tests/integration/test_host_truth_kernel.py) report as high: leave them
    # out of this node-level exit code.
    code, doc = _audit(
        "--cri-endpoint",
        testbed.cri_endpoint,
        "--docker-host",
        testbed.docker_endpoint,
        "--ignore",
        "I8S-HOST",
    )
    findings = _mine(doc)
    assert {f["checkId"] for f in findings} == {
        "I8S-NODE-DOCKERD",
        "I8S-NODE-MOBY",
        "I8S-NODE-DOCKERSOCK",
    }
    subjects = {f["subject"] for f in findings}
    host = findings[0]["subject"].split("/")[1]
    assert f"node/{host}/dockerd/{testbed.dockerd_pid}" in subjects
    assert f"node/{host}/container/{moby.id[:12]}" in subjects
    assert f"node/{host}/process/{holder}" in subjects
    # the bed's daemons themselves are never reported as docker.sock clients
    assert f"node/{host}/process/{testbed.dockerd_pid}" not in subjects
    # healthy parts were judged, not skipped for lack of data
    not_run = {o["checkId"] for o in doc["incomplete"]}
    for check_id in ("I8S-CTRD-CFGPROP", "I8S-CTRD-DEPRWARN", "I8S-CG-DRIVER", "I8S-NODE-MOBY"):
        assert check_id not in not_run, check_id
    # medium findings stay under the default --fail-on high; the exit code itself also
    # counts the host-truth checks, which judge the bed's hostNetwork pod without its spec
    # (I8S-HOST-HOSTNS, high)
    assert all(f["severity"] == "medium" for f in findings)
    others = {f["checkId"] for f in doc["findings"] if f["severity"] in ("high", "critical")}
    assert code == (1 if others else 0) and others <= {"I8S-HOST-HOSTNS"}


def test_live_record_then_replay_gives_the_same_findings(
    testbed: TestBed, moby: Any, holder: int, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspect8s",
            "record",
            str(bundle),
            "--cri-endpoint",
            testbed.cri_endpoint,
            "--docker-host",
            testbed.docker_endpoint,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 60
    cri = json.loads((bundle / "runtime/cri.json").read_text())
    answers = cri[str(testbed.containerd_socket)]
    # The API version is the Version call's own answer: no second call to find it.
    assert "ApiVersion" not in answers
    assert answers["Version"]["answer"]["runtimeName"] == "containerd"
    assert "error" in answers["RuntimeConfig"]  # containerd 1.6: UNIMPLEMENTED
    docker = json.loads((bundle / "runtime/docker.json").read_text())
    assert moby.id in {
        c["Id"] for c in docker[str(testbed.docker_socket)]["/containers/json"]["answer"]
    }
    assert (bundle / "runtime/unix-peers.json").is_file()

    _, live = _audit(
        "--cri-endpoint", testbed.cri_endpoint, "--docker-host", testbed.docker_endpoint
    )
    _, replay = _audit("--from", str(bundle))
    # Only findings about what the bed started: a busy host's daemons and their clients
    # come and go between the two runs.
    ours = (f"/dockerd/{testbed.dockerd_pid}", f"/container/{moby.id[:12]}", f"/process/{holder}")

    def pick(doc: dict[str, Any]) -> set[tuple[str, str]]:
        return {(f["checkId"], f["subject"]) for f in _mine(doc) if f["subject"].endswith(ours)}

    assert len(pick(live)) == 3
    assert pick(replay) == pick(live)
