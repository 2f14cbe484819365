"""``record`` keeps every CRI answer a trace reads, so ``--from`` traces CRI-O pods exactly
as live: the real CRI-O 1.28.11 recording's host tree under ``--root``, its answers said
again over a real gRPC socket at the path CRI-O listened on (tests/testbed/criserver.py),
traced live, recorded, and traced from the bundle."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testbed.criserver import ReplayCRI

from tests.clirun import cli

BUNDLE = Path("tests/fixtures/bundles/real-crio-1.28")
SOCKET = "/run/crio-rk/crio.sock"
PODS = ("besteffort", "guaranteed", "hostns", "oomer", "privileged", "sockmount", "web")
PIDS = (6846, 31973, 5048, 5066, 6360, 6375)  # crio, kubelet, conmon, pause, conmon, web


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    # unix socket paths are limited to 108 bytes: a short directory
    base = Path(tempfile.mkdtemp(prefix="i8s-crio-"))
    tree = base / "root"
    shutil.copytree(BUNDLE / "host", tree, symlinks=True)
    socket = tree / SOCKET.lstrip("/")
    socket.unlink()  # the bundle's marker; the server binds the real socket there
    answers = json.loads((BUNDLE / "runtime" / "cri.json").read_text())[SOCKET]
    server = ReplayCRI(answers).serve(str(socket))
    try:
        yield tree
    finally:
        server.stop(0)
        shutil.rmtree(base, ignore_errors=True)


def _doc(*args: str) -> Any:
    result = cli(*args, "-o", "json")
    assert result.returncode == 0, result.stderr
    doc: Any = result.json()
    return doc


def _same(doc: Any) -> Any:
    """A chain document without where it was traced (the one thing that differs)."""
    doc = json.loads(json.dumps(doc))
    for chain in [doc, doc.get("chain")]:
        if isinstance(chain, dict):
            chain.pop("traced_on", None)
    return doc


def test_record_then_replay_traces_every_pod_as_live(root: Path, tmp_path: Path) -> None:
    live = {
        pod: _doc("pod", pod, "-n", "shop", "--trace-runtime", "--root", str(root)) for pod in PODS
    }
    # the live traces are CRI-O's own answers, over the socket
    runtime = {x["name"]: x for x in live["web"]["node_links"]}["runtime"]["values"]
    assert (runtime["version"], runtime["version_source"]) == ("1.28.11", "cri:Version")
    bundle = tmp_path / "bundle"
    recorded = cli("record", str(bundle), "--root", str(root))
    assert recorded.returncode == 0, recorded.stderr
    cri = json.loads((bundle / "runtime" / "cri.json").read_text())
    (calls,) = cri.values()
    assert {"Version", "Status", "ListPodSandbox", "ListContainers", "PodSandboxStatus",
            "ContainerStatus"} <= set(calls)  # fmt: skip
    assert len(calls["PodSandboxStatus"]) == 7 and len(calls["ContainerStatus"]) == 7
    for pod in PODS:
        replayed = _doc("pod", pod, "-n", "shop", "--trace-runtime", "--from", str(bundle))
        assert _same(replayed) == _same(live[pod]), pod
    for pid in PIDS:
        assert _same(_doc("pid", str(pid), "--from", str(bundle))) == _same(
            _doc("pid", str(pid), "--root", str(root))
        ), pid
