"""The runtime inventory: each runtime endpoint asked each question at most once per command.

Every collector (the node report, the node audit, a trace, ``record``) asks runtimes
through one :class:`Inventory`, which opens one client per socket (live, recording or
replay: ``runtime/clients.py``) and keeps every answer and every failure, keyed by call
and argument. Asking again returns what the first call got; a failure is raised again as
the same ``ProbeFailed`` (the error sink drops repeats), so a timeout is one error, not
one per caller. Verbose statuses are asked only when a trace needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from types import TracebackType
from typing import Any, TypeVar

from inspect8s.collect.errors import Errors
from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model import SocketInfo
from inspect8s.runtime.clients import LIVE, CRIAnswers, DockerAnswers, RuntimeClients
from inspect8s.runtime.convert import (
    ContainerMeta,
    cri_index,
    docker_index,
    runtime_name_from_cri_version,
)

JSONDict = dict[str, Any]
T = TypeVar("T")
K = TypeVar("K", bound="_Kept")


class _Memo:
    def __init__(self) -> None:
        self._done: dict[tuple[str, str], tuple[bool, Any]] = {}

    def ask(self, call: str, arg: str, fn: Callable[[], T]) -> T:
        key = (call, arg)
        if key not in self._done:
            try:
                self._done[key] = (True, fn())
            except ProbeFailed as exc:
                self._done[key] = (False, exc)
        ok, value = self._done[key]
        if not ok:
            raise value
        result: T = value
        return result

    @property
    def calls(self) -> list[tuple[str, str]]:
        return list(self._done)


class _Kept:
    """A runtime's answers used as a client (``with``): leaving the block closes nothing;
    closing is the inventory's job (:meth:`Inventory.close`)."""

    def __enter__(self: K) -> K:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None:
        return None


class CRIRuntime(_Kept):
    """One CRI endpoint's answers, each asked once (see the module docstring)."""

    def __init__(self, socket: SocketInfo, client: CRIAnswers) -> None:
        self.socket = socket
        self._client = client
        self._memo = _Memo()

    def versioned(self) -> tuple[str, JSONDict]:
        """``(api, Version answer)``: ``runtime.v1`` first, then ``runtime.v1alpha2`` when
        the endpoint does not implement v1 (runtimes before Kubernetes 1.23's move to v1)."""

        def ask() -> tuple[str, JSONDict]:
            try:
                return "v1", self._client.version()
            except ProbeFailed as exc:
                if "unimplemented" not in exc.detail.lower() and "unknown service" not in (
                    exc.detail.lower()
                ):
                    raise
                v1_error = exc
            alpha = getattr(self._client, "version_v1alpha2", None)
            if alpha is None:
                raise v1_error
            try:
                answer: JSONDict = alpha()
            except ProbeFailed:
                raise v1_error from None
            return "v1alpha2", answer

        return self._memo.ask("Version", "", ask)

    def version(self) -> JSONDict:
        return self.versioned()[1]

    def api_version(self) -> str:
        return self.versioned()[0]

    def status(self, verbose: bool = True) -> JSONDict:
        return self._memo.ask("Status", str(verbose), lambda: self._client.status(verbose))

    def runtime_config(self) -> JSONDict:
        return self._memo.ask("RuntimeConfig", "", self._client.runtime_config)

    def list_pod_sandboxes(self) -> JSONDict:
        return self._memo.ask("ListPodSandbox", "", self._client.list_pod_sandboxes)

    def list_containers(self) -> JSONDict:
        return self._memo.ask("ListContainers", "", self._client.list_containers)

    def pod_sandbox_status(self, sandbox_id: str, verbose: bool = True) -> JSONDict:
        return self._memo.ask(
            "PodSandboxStatus",
            f"{sandbox_id}/{verbose}",
            lambda: self._client.pod_sandbox_status(sandbox_id, verbose),
        )

    def container_status(self, container_id: str, verbose: bool = True) -> JSONDict:
        return self._memo.ask(
            "ContainerStatus",
            f"{container_id}/{verbose}",
            lambda: self._client.container_status(container_id, verbose),
        )

    def close(self) -> None:
        self._client.close()


class DockerRuntime(_Kept):
    """One Docker Engine socket's answers, each asked once."""

    def __init__(self, socket: SocketInfo, client: DockerAnswers) -> None:
        self.socket = socket
        self._client = client
        self._memo = _Memo()

    def version(self) -> JSONDict:
        return self._memo.ask("/version", "", self._client.version)

    def containers(self) -> list[JSONDict]:
        return self._memo.ask("/containers/json", "", self._client.containers)

    def close(self) -> None:
        self._client.close()


class Inventory:
    """The runtime clients of one command, one per socket, opened on first use."""

    def __init__(
        self,
        fs: HostFS,
        clients: RuntimeClients | None = None,
        *,
        timeout: float = 5.0,
        errors: Errors | None = None,
    ) -> None:
        self.fs = fs
        self.clients: RuntimeClients = clients or LIVE
        self.timeout = timeout
        self.errors = errors if errors is not None else Errors()
        self._cri: dict[str, CRIRuntime] = {}
        self._docker: dict[str, DockerRuntime] = {}

    def cri(self, socket: SocketInfo) -> CRIRuntime:
        if socket.ident not in self._cri:
            client = self.clients.cri(self.fs, socket, self.timeout)
            self._cri[socket.ident] = CRIRuntime(socket, client)
        return self._cri[socket.ident]

    def docker(self, socket: SocketInfo) -> DockerRuntime:
        if socket.ident not in self._docker:
            client = self.clients.docker(self.fs, socket, self.timeout)
            self._docker[socket.ident] = DockerRuntime(socket, client)
        return self._docker[socket.ident]

    def close_docker(self) -> None:
        """Drop the Docker Engine connections (the docker.sock holder scan must not find
        inspect8s's own)."""
        for runtime in self._docker.values():
            try:
                runtime.close()  # its answers stay; only a new question would reconnect
            except ProbeFailed as exc:
                self.errors.add(exc)

    def attempt(self, fn: Callable[[], T]) -> T | None:
        return self.errors.attempt(fn)

    def close(self) -> None:
        runtimes: list[CRIRuntime | DockerRuntime] = [*self._cri.values(), *self._docker.values()]
        for runtime in runtimes:
            try:
                runtime.close()
            except ProbeFailed as exc:  # closing a replay or a dead channel
                self.errors.add(exc)
        self._cri.clear()
        self._docker.clear()

    def __enter__(self) -> Inventory:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None:
        self.close()


def not_a_socket(socket: SocketInfo) -> ProbeFailed:
    """The probe error for a path where a runtime socket should be but is not one."""
    return ProbeFailed(
        ErrorKind.UNAVAILABLE, f"host:{socket.path}", f"is a {socket.kind}, not a socket"
    )


# --------------------------------------------------------------------------- the survey


@dataclass
class Survey:
    """What every runtime socket said to the questions the node report asks."""

    metadata: dict[str, ContainerMeta] = field(default_factory=dict)  # container id -> meta
    answered: dict[str, str] = field(default_factory=dict)  # socket ident -> runtime name
    versions: dict[str, tuple[str, str]] = field(default_factory=dict)  # ident -> (ver, source)
    relayed: dict[str, str] = field(default_factory=dict)  # cri-dockerd ident -> Docker version


def asked(socket: SocketInfo) -> str | None:
    """``"cri"`` or ``"docker"``: how a socket is asked; None: never asked (ttrpc, the
    kubelet's own dockershim, podman's API, a plain file where a socket should be)."""
    if socket.kind != "socket":
        return None
    if socket.runtime in ("containerd", "crio", "cri-dockerd", "cri"):
        return "cri"
    if socket.runtime in ("dockerd", "docker"):
        return "docker"
    return None


def survey(inventory: Inventory, sockets: Sequence[SocketInfo]) -> Survey:
    """Ask each runtime socket its version and what it runs (a few calls per socket, none
    per container); failures go to the inventory's error sink."""
    found = Survey()
    for s in sockets:
        how = asked(s)
        if how == "cri":
            cri = inventory.cri(s)
            version = inventory.attempt(cri.version)
            if version is None:
                continue
            runtime = runtime_name_from_cri_version(version)
            found.answered[s.ident] = runtime
            said = str(version.get("runtimeVersion", ""))
            if runtime == "cri-dockerd":
                # cri-dockerd answers Version with the Docker Engine's name and version
                # (runtimeName "docker"): that is dockerd's version, not cri-dockerd's.
                found.relayed[s.ident] = said
            else:
                found.versions[s.ident] = (said, "cri:Version")
            sandboxes = (inventory.attempt(cri.list_pod_sandboxes) or {}).get("items", [])
            ctrs = (inventory.attempt(cri.list_containers) or {}).get("containers", [])
            index = inventory.attempt(partial(cri_index, runtime, sandboxes, ctrs)) or {}
            for cid, meta in index.items():
                found.metadata.setdefault(cid, replace(meta, endpoint=s.ident))
        elif how == "docker":
            engine = inventory.docker(s)
            info = inventory.attempt(engine.version)
            if info is None:
                continue
            found.answered[s.ident] = "dockerd"
            found.versions[s.ident] = (str(info.get("Version", "")), "docker:/version")
            listed = inventory.attempt(engine.containers) or []
            for cid, meta in (inventory.attempt(partial(docker_index, listed)) or {}).items():
                found.metadata.setdefault(cid, replace(meta, endpoint=s.ident))
    return found
