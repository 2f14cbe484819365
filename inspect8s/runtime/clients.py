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


class LiveClients:
    """Clients of the real sockets (the host path is mapped under ``fs.root``)."""

    def cri(self, fs: HostFS, socket: SocketInfo, timeout: float) -> CRIAnswers:
        from inspect8s.runtime.cri import CRIClient

        class LiveCRI(CRIClient):
            def version_v1alpha2(self) -> JSONDict:
                """Version over runtime.v1alpha2 (same message fields as v1)."""
                alpha = self._channel.unary_unary(
                    "/runtime.v1alpha2.RuntimeService/Version",
                    request_serializer=self._pb.VersionRequest.SerializeToString,
                    response_deserializer=self._pb.VersionResponse.FromString,
                )
                return self._to_dict(self._call("Version", alpha, self._pb.VersionRequest()))

        client: CRIAnswers = LiveCRI(fs.real(socket.address or socket.path), timeout=timeout)
        return client

    def docker(self, fs: HostFS, socket: SocketInfo, timeout: float) -> DockerAnswers:
        from inspect8s.runtime.docker import DockerEngine

        address = fs.real(socket.address or socket.path)
        engine: DockerAnswers = DockerEngine(address, timeout=timeout)
        return engine


LIVE = LiveClients()
