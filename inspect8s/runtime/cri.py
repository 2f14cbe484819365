"""A read-only CRI client (RuntimeService and ImageService) over a unix socket.

inspect8s never changes a node, so this client only reads: version, status, configuration,
sandboxes, containers and images. Every call carries a deadline (``timeout`` seconds) and
does not wait for a connection that is not ready (gRPC ``wait_for_ready=False``): a socket
that nobody serves fails at once, a socket that accepts but never answers fails at the
deadline.

Answers are plain dicts in protobuf's ``MessageToDict`` shape (camelCase keys, 64-bit
integers as strings, enums by name, default values left out): the shape of the recorded
answers under ``tests/fixtures``, so one set of converters reads live and recorded data.
The values of a verbose ``info`` map are JSON documents (containerd puts one under
``"info"``); each is parsed, and a value that is not JSON (containerd's
``lastCNILoadStatus``) stays a string.

grpc and the generated stubs are imported when a client is made, never at module import:
the CLI must start without them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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


def preload() -> None:
    """Import gRPC and the CRI stubs (about 75 ms of imports) ahead of the first client.

    The node pipeline calls it on a background thread while it scans ``/proc``: the scan
    spends most of its time in system calls, which release the interpreter, so the two
    overlap and a node command does not wait for the imports after the scan. Any failure
    is left for the client to report."""
    try:
        import grpc  # noqa: F401
        from google.protobuf import json_format  # noqa: F401

        from inspect8s.runtime._cri import api_pb2, api_pb2_grpc  # noqa: F401
    except Exception:  # CRIClient raises it again, with its message
        return


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
        import grpc

        from inspect8s.runtime._cri import api_pb2, api_pb2_grpc

        self.endpoint = endpoint
        self.socket_path = socket_path(endpoint)
        self.timeout = timeout
        self._grpc: Any = grpc
        self._pb: Any = api_pb2
        self._channel: Any = grpc.insecure_channel(
            f"unix:{self.socket_path}",
            options=[
                ("grpc.enable_http_proxy", 0),
                ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ],
        )
        stubs: Any = api_pb2_grpc  # generated without annotations
        self._runtime: Any = stubs.RuntimeServiceStub(self._channel)
        self._images: Any = stubs.ImageServiceStub(self._channel)

    # -- plumbing -------------------------------------------------------------------------

    def _failure(self, method: str, err: Any) -> ProbeFailed:
        code = err.code()
        name = code.name if code is not None else "UNKNOWN"
        details = err.details() or name
        if name == "UNAVAILABLE" and "permission denied" in details.lower():
            # gRPC reports a socket connect() refused with EACCES as UNAVAILABLE with the
            # errno text in the details ("... unix:/run/x.sock: Permission denied").
            return ProbeFailed(
                ErrorKind.PERMISSION, f"cri:{method}", permission_detail(self.socket_path)
            )
        if name == "UNIMPLEMENTED":
            detail = f"not implemented by the runtime at {self.socket_path}: {details}"
        elif name == "DEADLINE_EXCEEDED":
            detail = f"no answer from {self.socket_path} within {self.timeout:g} s"
        else:
            detail = f"{name}: {details}"
        return ProbeFailed(kind_from_grpc_code(name), f"cri:{method}", detail)

    def _call(self, method: str, rpc: Callable[..., Any], request: Any) -> Any:
        try:
            return rpc(request, timeout=self.timeout, wait_for_ready=False)
        except self._grpc.RpcError as err:
            raise self._failure(method, err) from None

    def _to_dict(self, message: Any) -> JSONDict:
        from google.protobuf.json_format import MessageToDict

        result: JSONDict = MessageToDict(message)
        if "info" in result:
            result["info"] = parse_info(result["info"])
        return result

    # -- RuntimeService ---------------------------------------------------------------------

    def version(self) -> JSONDict:
        """``Version``: runtimeName, runtimeVersion, runtimeApiVersion."""
        return self._to_dict(
            self._call("Version", self._runtime.Version, self._pb.VersionRequest())
        )

    def api_version(self) -> str:
        """The CRI API the endpoint serves: ``"v1"``, or ``"v1alpha2"`` if only that.

        Runtimes from before Kubernetes 1.23's move to v1 (containerd < 1.5.x, CRI-O < 1.20)
        only answer ``runtime.v1alpha2``; its ``Version`` messages have the same fields.
        """
        request = self._pb.VersionRequest()
        try:
            self._runtime.Version(request, timeout=self.timeout, wait_for_ready=False)
            return "v1"
        except self._grpc.RpcError as err:
            if err.code() != self._grpc.StatusCode.UNIMPLEMENTED:
                raise self._failure("Version", err) from None
            v1_error = err
        alpha = self._channel.unary_unary(
            _V1ALPHA2_VERSION,
            request_serializer=self._pb.VersionRequest.SerializeToString,
            response_deserializer=self._pb.VersionResponse.FromString,
        )
        try:
            alpha(request, timeout=self.timeout, wait_for_ready=False)
        except self._grpc.RpcError:
            raise self._failure("Version", v1_error) from None
        return "v1alpha2"

    def status(self, verbose: bool = True) -> JSONDict:
        """``Status``: runtime conditions and, verbose, the runtime's configuration."""
        request = self._pb.StatusRequest(verbose=verbose)
        return self._to_dict(self._call("Status", self._runtime.Status, request))

    def runtime_config(self) -> JSONDict:
        """``RuntimeConfig``: the cgroup driver (containerd >= 2.0, CRI-O, cri-dockerd 0.3.x;
        containerd 1.6 and 1.7 answer UNIMPLEMENTED: runtime-facts.md C3)."""
        request = self._pb.RuntimeConfigRequest()
        return self._to_dict(self._call("RuntimeConfig", self._runtime.RuntimeConfig, request))

    def list_pod_sandboxes(self) -> JSONDict:
        """``ListPodSandbox`` without filter: ``{"items": [...]}``."""
        request = self._pb.ListPodSandboxRequest()
        return self._to_dict(self._call("ListPodSandbox", self._runtime.ListPodSandbox, request))

    def pod_sandbox_status(self, sandbox_id: str, verbose: bool = True) -> JSONDict:
        """``PodSandboxStatus``: ``{"status": {...}, "info": {...}}``."""
        request = self._pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id, verbose=verbose)
        return self._to_dict(
            self._call("PodSandboxStatus", self._runtime.PodSandboxStatus, request)
        )

    def list_containers(self) -> JSONDict:
        """``ListContainers`` without filter: ``{"containers": [...]}``."""
        request = self._pb.ListContainersRequest()
        return self._to_dict(self._call("ListContainers", self._runtime.ListContainers, request))

    def container_status(self, container_id: str, verbose: bool = True) -> JSONDict:
        """``ContainerStatus``: ``{"status": {...}, "info": {...}}``."""
        request = self._pb.ContainerStatusRequest(container_id=container_id, verbose=verbose)
        return self._to_dict(self._call("ContainerStatus", self._runtime.ContainerStatus, request))

    # -- ImageService -----------------------------------------------------------------------

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the channel; the client cannot be used afterwards."""
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
