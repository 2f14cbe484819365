"""A read-only CRI client (RuntimeService and ImageService) over a unix socket.

inspect8s never changes a node, so this client only reads: version, status, configuration,
sandboxes, containers and images. Every call carries a deadline (``timeout`` seconds) that
covers connecting, sending and receiving: a socket that nobody serves fails at once, a
socket that accepts but never answers fails at the deadline.

The transport is the project's own HTTP/2 client of gRPC unary calls
(``inspect8s/runtime/h2.py``); requests are encoded and answers decoded by the project's
own protobuf wire codec (``_cri/wire.py``, with the table of the CRI messages in
``_cri/schema.py``, generated from ``_cri/api.proto``); the protobuf runtime is not used.

Answers are plain dicts in protobuf's ``MessageToDict`` shape (camelCase keys, 64-bit
integers as strings, enums by name, default values left out): the shape of the recorded
answers under ``tests/fixtures``, so one set of converters reads live and recorded data.
Map entries (labels, annotations, info) are sorted by key, so the same answer prints the
same JSON whatever order the runtime sent them in (containerd's changes from call to call).
The values of a verbose ``info`` map are JSON documents (containerd puts one under
``"info"``); each is parsed, and a value that is not JSON (containerd's
``lastCNILoadStatus``) stays a string.

The transport is imported when a client is made, the codec at its first call: neither at
module import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from inspect8s.errors import ErrorKind, ProbeFailed

JSONDict = dict[str, Any]

# gRPC status code name -> kind. Anything else counts as unavailable.
_GRPC_KINDS: dict[str, ErrorKind] = {
    "DEADLINE_EXCEEDED": ErrorKind.TIMEOUT,
    "UNAVAILABLE": ErrorKind.UNAVAILABLE,
    "UNIMPLEMENTED": ErrorKind.UNAVAILABLE,
    "PERMISSION_DENIED": ErrorKind.PERMISSION,
    "UNAUTHENTICATED": ErrorKind.PERMISSION,
    "NOT_FOUND": ErrorKind.MISSING,
}

# The kubelet allows CRI answers of up to 16 MiB (gRPC's default is 4 MiB); a node with
# many containers answers ListContainers with more than 4 MiB.
_MAX_MESSAGE_BYTES = 16 * 1024 * 1024

_V1ALPHA2_VERSION = "/runtime.v1alpha2.RuntimeService/Version"
_VERSION_REQUEST = b""  # VersionRequest without a version


def kind_from_grpc_code(code_name: str) -> ErrorKind:
    """Map a gRPC status code name ("NOT_FOUND") to an ErrorKind."""
    return _GRPC_KINDS.get(code_name, ErrorKind.UNAVAILABLE)


def socket_path(endpoint: str) -> str:
    """The filesystem path of a CRI endpoint given as ``unix:///path`` or ``/path``.

    Raises ``ProbeFailed(malformed)`` for any other scheme (``tcp://``, ``npipe://``):
    inspect8s only talks to local unix sockets.
    """
    if endpoint.startswith("unix://"):
        path = endpoint[len("unix://") :]
    elif endpoint.startswith("unix:"):
        path = endpoint[len("unix:") :]
    elif "://" in endpoint:
        raise ProbeFailed(
            ErrorKind.MALFORMED, "cri:endpoint", f"not a unix socket endpoint: {endpoint!r}"
        )
    else:
        path = endpoint
    if not path:
        raise ProbeFailed(ErrorKind.MALFORMED, "cri:endpoint", f"empty socket path: {endpoint!r}")
    return path


def permission_detail(socket: str) -> str:
    """What to say when connecting to a runtime socket is not permitted (the Docker client
    says the same)."""
    return f"permission denied on {socket}: run as root (or in the socket's group)"


def parse_info(info: dict[str, str]) -> JSONDict:
    """Parse each value of a verbose ``info`` map as JSON; keep those that are not JSON."""
    parsed: JSONDict = {}
    for key, value in info.items():
        try:
            parsed[key] = json.loads(value)
        except ValueError:
            parsed[key] = value
    return parsed


class CRIClient:
    """A read-only client of one CRI endpoint (``unix:///run/containerd/containerd.sock``).

    Use as a context manager, or call :meth:`close`. Every method returns the answer as a
    dict in ``MessageToDict`` shape and raises ``ProbeFailed`` with source
    ``cri:<Method>`` when the call fails.
    """

    def __init__(self, endpoint: str, *, timeout: float = 5.0) -> None:
        from inspect8s.runtime.h2 import Channel

        self.endpoint = endpoint
        self.socket_path = socket_path(endpoint)
        self.timeout = timeout
        self._channel = Channel(self.socket_path, max_message=_MAX_MESSAGE_BYTES)

    # -- plumbing -------------------------------------------------------------------------

    def _failure(self, method: str, code: str, message: str) -> ProbeFailed:
        details = message or code
        if code == "UNAVAILABLE" and "permission denied" in details.lower():
            # connect() refused with EACCES: the socket's mode or group keeps this user out.
            return ProbeFailed(
                ErrorKind.PERMISSION, f"cri:{method}", permission_detail(self.socket_path)
            )
        if code == "UNIMPLEMENTED":
            detail = f"not implemented by the runtime at {self.socket_path}: {details}"
        elif code == "DEADLINE_EXCEEDED":
            detail = f"no answer from {self.socket_path} within {self.timeout:g} s"
        else:
            detail = f"{code}: {details}"
        return ProbeFailed(kind_from_grpc_code(code), f"cri:{method}", detail)

    def _unary(self, method: str, path: str, request: bytes, answer: str) -> JSONDict:
        """Call ``path`` with the encoded ``request``; the answer, a message ``answer``
        (``"VersionResponse"``), as a dict, its ``info`` values parsed."""
        from inspect8s.runtime._cri.wire import WireError, decode
        from inspect8s.runtime.h2 import CallError

        try:
            data = self._channel.unary(path, request, self.timeout)
        except CallError as err:
            raise self._failure(method, err.code, err.message) from None
        try:
            result = decode(data, answer)
        except WireError as exc:
            raise self._failure(
                method, "INTERNAL", f"could not parse the answer from {self.socket_path}: {exc}"
            ) from None
        if "info" in result:
            result["info"] = parse_info(result["info"])
        return result

    def _call(self, method: str, fields: Mapping[str, str | bool] | None = None) -> JSONDict:
        """Call RuntimeService ``method`` with a ``<method>Request`` of ``fields`` (by JSON
        name); the ``<method>Response`` as a dict."""
        from inspect8s.runtime._cri.wire import encode

        request = encode(f"{method}Request", fields or {})
        path = f"/runtime.v1.RuntimeService/{method}"
        return self._unary(method, path, request, f"{method}Response")

    # -- RuntimeService ---------------------------------------------------------------------

    def version(self) -> JSONDict:
        """``Version``: runtimeName, runtimeVersion, runtimeApiVersion."""
        return self._call("Version")

    def version_v1alpha2(self) -> JSONDict:
        """``Version`` over ``runtime.v1alpha2`` (the same message fields as v1)."""
        return self._unary("Version", _V1ALPHA2_VERSION, _VERSION_REQUEST, "VersionResponse")

    def api_version(self) -> str:
        """The CRI API the endpoint serves: ``"v1"``, or ``"v1alpha2"`` if only that.

        Runtimes from before Kubernetes 1.23's move to v1 (containerd < 1.5.x, CRI-O < 1.20)
        only answer ``runtime.v1alpha2``; its ``Version`` messages have the same fields.
        """
        from inspect8s.runtime.h2 import CallError

        request = _VERSION_REQUEST
        try:
            self._channel.unary("/runtime.v1.RuntimeService/Version", request, self.timeout)
            return "v1"
        except CallError as err:
            if err.code != "UNIMPLEMENTED":
                raise self._failure("Version", err.code, err.message) from None
            v1_error = err
        try:
            self._channel.unary(_V1ALPHA2_VERSION, request, self.timeout)
        except CallError:
            raise self._failure("Version", v1_error.code, v1_error.message) from None
        return "v1alpha2"

    def status(self, verbose: bool = True) -> JSONDict:
        """``Status``: runtime conditions and, verbose, the runtime's configuration."""
        return self._call("Status", {"verbose": verbose})

    def runtime_config(self) -> JSONDict:
        """``RuntimeConfig``: the cgroup driver (containerd >= 2.0, CRI-O, cri-dockerd 0.3.x;
        containerd 1.6 and 1.7 answer UNIMPLEMENTED: runtime-facts.md C3)."""
        return self._call("RuntimeConfig")

    def list_pod_sandboxes(self) -> JSONDict:
        """``ListPodSandbox`` without filter: ``{"items": [...]}``."""
        return self._call("ListPodSandbox")

    def pod_sandbox_status(self, sandbox_id: str, verbose: bool = True) -> JSONDict:
        """``PodSandboxStatus``: ``{"status": {...}, "info": {...}}``."""
        return self._call("PodSandboxStatus", {"podSandboxId": sandbox_id, "verbose": verbose})

    def list_containers(self) -> JSONDict:
        """``ListContainers`` without filter: ``{"containers": [...]}``."""
        return self._call("ListContainers")

    def container_status(self, container_id: str, verbose: bool = True) -> JSONDict:
        """``ContainerStatus``: ``{"status": {...}, "info": {...}}``."""
        return self._call("ContainerStatus", {"containerId": container_id, "verbose": verbose})

    # -- ImageService -----------------------------------------------------------------------

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; a later call opens a new one."""
        self._channel.close()

    def __enter__(self) -> CRIClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
