"""No runtime endpoint is asked the same question twice in one command.

A counting runtime sits between inspect8s and the real containerd and dockerd of the test
bed: every call that reaches a socket is counted by (socket, call, argument). The node
report, a pod's trace and a whole node audit with every pod traced (what ``record`` does)
each run once with it; no count may pass one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import pytest
from testbed import ContainerRequest, PodHandle, TestBed

from inspect8s.collect import trace
from inspect8s.collect.node import RuntimeOptions, gather_node
from inspect8s.collect.nodeaudit import collect_node_audit
from inspect8s.host.fs import HostFS
from inspect8s.model import SocketInfo
from inspect8s.runtime.clients import LIVE

pytestmark = pytest.mark.integration

Key = tuple[str, str, str]


class _Counted:
    def __init__(self, inner: Any, socket: str, counts: Counter[Key]) -> None:
        self._inner = inner
        self._socket = socket
        self._counts = counts

    def __getattr__(self, name: str) -> Callable[..., Any]:
        target = getattr(self._inner, name)
        if name in ("close", "__enter__", "__exit__") or not callable(target):
            return target  # type: ignore[no-any-return]

        def call(*args: Any, **kwargs: Any) -> Any:
            arg = "/".join(str(a) for a in (*args, *kwargs.values()))
            self._counts[(self._socket, name, arg)] += 1
            return target(*args, **kwargs)

        return call

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> _Counted:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class CountingClients:
    """Live clients that count every call reaching a socket."""

    def __init__(self) -> None:
        self.counts: Counter[Key] = Counter()

    def cri(self, fs: HostFS, socket: SocketInfo, timeout: float) -> Any:
        return _Counted(LIVE.cri(fs, socket, timeout), socket.ident, self.counts)

    def docker(self, fs: HostFS, socket: SocketInfo, timeout: float) -> Any:
        return _Counted(LIVE.docker(fs, socket, timeout), socket.ident, self.counts)

    def twice(self) -> list[tuple[Key, int]]:
        return [(k, n) for k, n in self.counts.items() if n > 1]

    def calls_to(self, socket: str) -> set[str]:
        return {call for s, call, _arg in self.counts if s == socket}


@pytest.fixture(scope="module")
def pod(testbed: TestBed) -> Iterator[PodHandle]:
    handle = testbed.run_pod(
        "counted", "once", containers=[ContainerRequest("a"), ContainerRequest("b")]
    )
    yield handle
    testbed.remove_pod(handle)


def _options(testbed: TestBed, clients: CountingClients) -> RuntimeOptions:
    return RuntimeOptions(
        cri_endpoints=(testbed.cri_endpoint,),
        docker_hosts=(testbed.docker_endpoint,),
        timeout=10.0,
        clients=clients,
    )


def test_node_asks_each_socket_each_question_once(testbed: TestBed, pod: PodHandle) -> None:
    clients = CountingClients()
    gather_node(HostFS("/"), _options(testbed, clients)).close()
    assert clients.twice() == []
    assert clients.calls_to(str(testbed.containerd_socket)) == {
        "version", "list_pod_sandboxes", "list_containers",
    }  # fmt: skip
    assert clients.calls_to(str(testbed.docker_socket)) == {"version", "containers"}


def test_a_trace_asks_each_status_once(testbed: TestBed, pod: PodHandle) -> None:
    clients = CountingClients()
    collection = gather_node(HostFS("/"), _options(testbed, clients))
    try:
        members = trace.find_pod(collection.report, "counted", "once", uid=pod.uid)
        chain = trace.trace_pod(HostFS("/"), collection, members)
    finally:
        collection.close()
    assert chain.errors == ()
    assert len(chain.containers) == 2
    assert clients.twice() == []
    socket = str(testbed.containerd_socket)
    # the sandbox's verbose status serves both containers' handler links: asked once
    assert clients.counts[(socket, "pod_sandbox_status", f"{pod.sandbox_id}/True")] == 1
    for cid in pod.container_ids.values():
        assert clients.counts[(socket, "container_status", f"{cid}/True")] == 1


def test_a_whole_audit_with_every_pod_traced_asks_once(testbed: TestBed, pod: PodHandle) -> None:
    clients = CountingClients()
    snapshot = collect_node_audit(
        HostFS("/"),
        clients=clients,
        cri_endpoints=[testbed.cri_endpoint],
        docker_hosts=[testbed.docker_endpoint],
        timeout=10.0,
        trace_pods=True,
    )
    assert snapshot.traces
    assert clients.twice() == []
    assert {"version", "status", "runtime_config", "list_pod_sandboxes", "list_containers",
            "pod_sandbox_status", "container_status"} <= clients.calls_to(
        str(testbed.containerd_socket)
    )  # fmt: skip
