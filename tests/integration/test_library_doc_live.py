"""docs/library.md's examples as written, on the live test bed (real containerd, runc and
dockerd on the bed's private sockets), with one pod of the bed's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from testbed import PodHandle, TestBed

from tests.docexamples import run_examples

pytestmark = pytest.mark.integration


@pytest.fixture
def pod(testbed: TestBed) -> Iterator[PodHandle]:
    handle = testbed.run_pod("libdoc", namespace="libdoc")
    yield handle
    testbed.remove_pod(handle)


def test_the_examples_run_on_the_live_node(
    testbed: TestBed, pod: PodHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INSPECT8S_BUNDLE", raising=False)
    monkeypatch.delenv("INSPECT8S_ROOT", raising=False)
    monkeypatch.setenv("INSPECT8S_CRI_ENDPOINTS", testbed.cri_endpoint)
    monkeypatch.setenv("INSPECT8S_DOCKER_HOSTS", testbed.docker_endpoint)
    printed = run_examples()
    lines = printed.splitlines()
    assert any(line.startswith("node ") and ", cgroup " in line for line in lines)
    assert any(line.startswith("runtime containerd ") for line in lines)
    # The bed's pod is in the node report with its init process.
    (name, pid) = next(iter(pod.container_pids.items()))
    assert f"libdoc/libdoc container {name}: pid {pid}," in printed
    assert any(line.startswith("pod ") and ", traced on this machine" in line for line in lines)
    assert any(line.startswith("PID ") for line in lines)
    assert any(" findings on " in line for line in lines)
    assert "not found: no pod 'no-such-pod'" in printed
    # As root the record example records this node and audits the bundle.
    assert any(line.startswith("bundle /") and " sockets, " in line for line in lines)
    assert any(line.startswith("the bundle's audit: ") for line in lines)
