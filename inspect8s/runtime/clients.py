"""How collectors reach runtimes: live sockets, a recording of them, or a recorded bundle.

``collect.query_runtimes`` and the node audit ask runtimes through a
:class:`RuntimeClients`; ``RuntimeOptions.clients`` picks the implementation:
:class:`LiveClients` (the default: the real CRI and Docker sockets under the root),
``record.RecordingClients`` (live, and every answer kept for the bundle) or
``bundle.ReplayClients`` (answers read back from a bundle written by ``inspect8s record``).
Answers are the same plain dicts in every case, so one set of converters reads them all.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model import SocketInfo

JSONDict = dict[str, Any]


class CRIAnswers(Protocol):
    """The CRI calls the collectors make (a subset of :class:`~inspect8s.runtime.cri.CRIClient`)."""

    def version(self) -> JSONDict: ...
    def api_version(self) -> str: ...
    def status(self, verbose: bool = True) -> JSONDict: ...
    def runtime_config(self) -> JSONDict: ...
    def list_pod_sandboxes(self) -> JSONDict: ...
    def list_containers(self) -> JSONDict: ...
    def pod_sandbox_status(self, sandbox_id: str, verbose: bool = True) -> JSONDict: ...
    def container_status(self, container_id: str, verbose: bool = True) -> JSONDict: ...
    def close(self) -> None: ...
    def __enter__(self) -> CRIAnswers: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...


class DockerAnswers(Protocol):
    """The Docker Engine calls the collectors make."""

    def version(self) -> JSONDict: ...
    def containers(self) -> list[JSONDict]: ...
    def close(self) -> None: ...
    def __enter__(self) -> DockerAnswers: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...


class RuntimeClients(Protocol):
    """Makes a client for a runtime socket found on the node (``collect/discover.py``).

    Live clients connect to ``socket.address`` (the resolved host path) or ``socket.path``;
    recording and replay file the answers under ``socket.ident``."""

    def cri(self, fs: HostFS, socket: SocketInfo, timeout: float) -> CRIAnswers: ...
    def docker(self, fs: HostFS, socket: SocketInfo, timeout: float) -> DockerAnswers: ...


def version_v1alpha2(client: object) -> JSONDict:
    """``runtime.v1alpha2.RuntimeService/Version`` of a runtime that lacks CRI v1.

    Clients that can make the call (live sockets, recordings of them, bundles) define
    ``version_v1alpha2``; any other client raises ProbeFailed(unavailable).
    """
    call = getattr(client, "version_v1alpha2", None)
    if call is None:
        raise ProbeFailed(ErrorKind.UNAVAILABLE, "cri:Version", "v1alpha2 not supported")
    answer: JSONDict = call()
    return answer


class Unreachable:
    """A runtime client for an endpoint that cannot be asked (a socket that is not under
    the root, an endpoint that is not a unix socket): every call raises the same
    ProbeFailed, so collectors record it as they record a runtime that does not answer."""

    def __init__(self, failure: ProbeFailed) -> None:
        self.failure = failure

    def __enter__(self) -> Unreachable:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None

    def _fail(self, *_args: object, **_kwargs: object) -> Any:
        raise ProbeFailed(self.failure.kind, self.failure.source, self.failure.detail)

    version = api_version = status = runtime_config = _fail
    list_pod_sandboxes = list_containers = pod_sandbox_status = container_status = _fail
    containers = version_v1alpha2 = _fail


def live_socket(fs: HostFS, socket: SocketInfo, what: str) -> str | ProbeFailed:
    """The path on this machine to connect to for a runtime socket (its host ``address``
    or ``path``), or the failure to report instead: only unix sockets, and only sockets
    that are the root's own (:meth:`HostFS.socket_path`)."""
    path = socket.address or socket.path
    if not path.startswith("/"):
        return ProbeFailed(
            ErrorKind.UNAVAILABLE,
            f"{what}:{path}",
            "not a unix socket path; inspect8s only talks to local unix sockets",
        )
    try:
        return fs.socket_path(path)
    except ProbeFailed as exc:
        return exc


class LiveClients:
    """Clients of the real sockets (the host path is resolved inside ``fs.root``)."""

    def cri(self, fs: HostFS, socket: SocketInfo, timeout: float) -> CRIAnswers:
        from inspect8s.runtime.cri import CRIClient

        real = live_socket(fs, socket, "cri")
        if isinstance(real, ProbeFailed):
            unreachable: CRIAnswers = Unreachable(real)
            return unreachable
        try:
            client: CRIAnswers = CRIClient(real, timeout=timeout)
        except ProbeFailed as exc:
            return Unreachable(exc)
        return client

    def docker(self, fs: HostFS, socket: SocketInfo, timeout: float) -> DockerAnswers:
        from inspect8s.runtime.docker import DockerEngine

        real = live_socket(fs, socket, "docker")
        if isinstance(real, ProbeFailed):
            unreachable: DockerAnswers = Unreachable(real)
            return unreachable
        engine: DockerAnswers = DockerEngine(real, timeout=timeout)
        return engine


LIVE = LiveClients()
