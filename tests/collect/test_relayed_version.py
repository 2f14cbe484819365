"""cri-dockerd answers CRI ``Version`` with its Docker Engine's version: that version goes to
the dockerd cri-dockerd talks to (its ``--docker-endpoint``, else the default
``/var/run/docker.sock``), never to another dockerd on the node."""

from __future__ import annotations

from inspect8s.collect.inventory import Survey
from inspect8s.collect.node import relayed_version
from inspect8s.model import RuntimeDaemon, SocketInfo

A = RuntimeDaemon(name="dockerd", pid=10, version=None, sockets=("/run/docker.sock",))
B = RuntimeDaemon(name="dockerd", pid=20, version=None, sockets=("/run/docker-b.sock",))
FLAGGED = RuntimeDaemon(
    name="cri-dockerd", pid=30, version=None, sockets=("/run/cri-dockerd.sock",),
    cmdline=("cri-dockerd", "--docker-endpoint", "unix:///run/docker-b.sock"),
)  # fmt: skip
PLAIN = RuntimeDaemon(
    name="cri-dockerd", pid=30, version=None, sockets=("/run/cri-dockerd.sock",),
    cmdline=("cri-dockerd", "--container-runtime-endpoint", "unix:///run/cri-dockerd.sock"),
)  # fmt: skip


def sockets(crid_pid: int | None, b_named_by: tuple[str, ...] = ()) -> list[SocketInfo]:
    return [
        SocketInfo(path="/run/docker.sock", runtime="dockerd", kind="socket",
                   aliases=("/var/run/docker.sock",), daemon_pid=10),
        SocketInfo(path="/run/docker-b.sock", runtime="dockerd", kind="socket", daemon_pid=20,
                   named_by=b_named_by),
        SocketInfo(path="/run/cri-dockerd.sock", runtime="cri-dockerd", kind="socket",
                   daemon_pid=crid_pid),
    ]  # fmt: skip


RELAYED = Survey(relayed={"/run/cri-dockerd.sock": "24.0.7"})


def test_the_version_goes_to_the_dockerd_its_docker_endpoint_names() -> None:
    found = sockets(30, ("cri-dockerd (PID 30) --docker-endpoint",))
    daemons = [A, B, FLAGGED]
    assert relayed_version(B, daemons, found, RELAYED) == "24.0.7"
    assert relayed_version(A, daemons, found, RELAYED) is None


def test_without_the_flag_it_goes_to_the_dockerd_on_the_default_socket() -> None:
    daemons = [A, B, PLAIN]
    assert relayed_version(A, daemons, sockets(30), RELAYED) == "24.0.7"
    assert relayed_version(B, daemons, sockets(30), RELAYED) is None


def test_a_cri_dockerd_naming_an_unseen_dockerd_relays_to_none() -> None:
    # the only dockerd seen is not the one cri-dockerd talks to
    daemons = [A, FLAGGED]
    only_a = sockets(30)[::2]
    assert relayed_version(A, daemons, only_a, RELAYED) is None


def test_an_unseen_cri_dockerd_relays_only_to_the_only_dockerd() -> None:
    assert relayed_version(A, [A], sockets(None)[::2], RELAYED) == "24.0.7"
    assert relayed_version(A, [A, B], sockets(None), RELAYED) is None
    assert relayed_version(B, [A, B], sockets(None), RELAYED) is None


def test_no_relay_no_version() -> None:
    assert relayed_version(A, [A, PLAIN], sockets(30), Survey()) is None
