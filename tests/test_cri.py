"""CRIClient against real unix sockets: silent listeners, dead paths and small gRPC servers.

No mocks: every case is a real socket made here; the servers are real gRPC servers (grpcio,
a test dependency only) that answer (or refuse) the CRI method paths with the generated
messages, which proves the client's own HTTP/2 transport against another implementation.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from testbed import api_pb2

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.runtime.cri import (
    CRIClient,
    kind_from_grpc_code,
    parse_info,
    permission_detail,
    socket_path,
)

Handler = Callable[[Any, grpc.ServicerContext], Any]


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # unix socket paths are limited to 108 bytes; pytest's tmp_path can be longer.
    import tempfile

    with tempfile.TemporaryDirectory(prefix="i8s-cri-") as d:
        yield Path(d)


@pytest.fixture
def silent_socket(short_dir: Path) -> Iterator[str]:
    """A unix socket that accepts every connection and never sends a byte."""
    path = str(short_dir / "silent.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield path
    stop.set()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as wake:  # ends the blocking accept()
        wake.connect(path)
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def serve(path: str, handlers: dict[str, tuple[Handler, Any, Any]]) -> grpc.Server:
    """A gRPC server on unix socket PATH answering full method paths with HANDLERS."""

    class Generic(grpc.GenericRpcHandler):
        def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
            found = handlers.get(details.method)
            if found is None:
                return None
            fn, req_type, resp_type = found
            return grpc.unary_unary_rpc_method_handler(
                fn,
                request_deserializer=req_type.FromString,
                response_serializer=resp_type.SerializeToString,
            )

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((Generic(),))
    server.add_insecure_port(f"unix:{path}")
    server.start()
    return server


def version_handler(name: str) -> Handler:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        return api_pb2.VersionResponse(
            version="0.1.0",
            runtime_name=name,
            runtime_version="9.9.9",
            runtime_api_version=request.version or "v1",
        )

    return handle


def abort_with(code: grpc.StatusCode) -> Handler:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(code, f"refused with {code.name}")

    return handle


def test_silent_socket_times_out_within_the_deadline(silent_socket: str) -> None:
    with CRIClient(silent_socket, timeout=0.25) as client:
        started = time.monotonic()
        with pytest.raises(ProbeFailed) as failed:
            client.version()
        elapsed = time.monotonic() - started
    assert failed.value.kind is ErrorKind.TIMEOUT
    assert failed.value.source == "cri:Version"
    assert silent_socket in failed.value.detail
    assert 0.2 <= elapsed < 10  # the deadline, not a hang (whatever the machine's load)


def test_plain_file_is_unavailable(short_dir: Path) -> None:
    path = short_dir / "not-a-socket"
    path.write_text("hello\n")
    with CRIClient(str(path), timeout=30.0) as client:
        started = time.monotonic()
        with pytest.raises(ProbeFailed) as failed:
            client.list_containers()
        assert time.monotonic() - started < 10  # at once, not at the 30 s deadline
    assert failed.value.kind is ErrorKind.UNAVAILABLE
    assert failed.value.source == "cri:ListContainers"


def test_socket_without_listener_is_unavailable(short_dir: Path) -> None:
    path = str(short_dir / "dead.sock")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)  # the socket file exists, nobody listens on it
    try:
        with CRIClient(f"unix://{path}", timeout=30.0) as client:
            started = time.monotonic()
            with pytest.raises(ProbeFailed) as failed:
                client.status()
            assert time.monotonic() - started < 10  # at once, not at the 30 s deadline
    finally:
        dead.close()
    assert failed.value.kind is ErrorKind.UNAVAILABLE
    assert failed.value.source == "cri:Status"


def test_missing_path_is_unavailable(short_dir: Path) -> None:
    client = CRIClient(str(short_dir / "nothing.sock"), timeout=2.0)
    with client, pytest.raises(ProbeFailed) as failed:
        client.version()
    assert failed.value.kind is ErrorKind.UNAVAILABLE


def test_answers_and_status_codes_from_a_real_server(short_dir: Path) -> None:
    path = str(short_dir / "cri.sock")
    info = {
        "info": json.dumps({"pid": 4242, "runtimeType": "io.containerd.runc.v2"}),
        "golang": json.dumps("go1.19.8"),
        "lastCNILoadStatus": "cni config load failed: no network config found",
    }

    def container_status(request: Any, context: grpc.ServicerContext) -> Any:
        if request.container_id != "abc":
            context.abort(grpc.StatusCode.NOT_FOUND, f"container {request.container_id} not found")
        return api_pb2.ContainerStatusResponse(
            status=api_pb2.ContainerStatus(
                id="abc",
                state=api_pb2.CONTAINER_RUNNING,
                created_at=1795318501598010029,
                labels={"io.kubernetes.container.name": "app"},
            ),
            info=info if request.verbose else {},
        )

    server = serve(
        path,
        {
            "/runtime.v1.RuntimeService/Version": (
                version_handler("fake-runtime"),
                api_pb2.VersionRequest,
                api_pb2.VersionResponse,
            ),
            "/runtime.v1.RuntimeService/ContainerStatus": (
                container_status,
                api_pb2.ContainerStatusRequest,
                api_pb2.ContainerStatusResponse,
            ),
            "/runtime.v1.RuntimeService/Status": (
                abort_with(grpc.StatusCode.PERMISSION_DENIED),
                api_pb2.StatusRequest,
                api_pb2.StatusResponse,
            ),
            "/runtime.v1.RuntimeService/ListPodSandbox": (
                abort_with(grpc.StatusCode.UNAUTHENTICATED),
                api_pb2.ListPodSandboxRequest,
                api_pb2.ListPodSandboxResponse,
            ),
            "/runtime.v1.ImageService/ListImages": (
                abort_with(grpc.StatusCode.INTERNAL),
                api_pb2.ListImagesRequest,
                api_pb2.ListImagesResponse,
            ),
        },
    )
    try:
        with CRIClient(f"unix://{path}", timeout=2.0) as client:
            assert client.version() == {
                "version": "0.1.0",
                "runtimeName": "fake-runtime",
                "runtimeVersion": "9.9.9",
                "runtimeApiVersion": "v1",
            }
            assert client.api_version() == "v1"

            answer = client.container_status("abc")
            assert answer["status"]["state"] == "CONTAINER_RUNNING"
            assert answer["status"]["createdAt"] == "1795318501598010029"
            assert answer["info"] == {
                "info": {"pid": 4242, "runtimeType": "io.containerd.runc.v2"},
                "golang": "go1.19.8",
                "lastCNILoadStatus": "cni config load failed: no network config found",
            }
            assert "info" not in client.container_status("abc", verbose=False)

            expected = {
                "ContainerStatus": (lambda: client.container_status("nope"), ErrorKind.MISSING),
                "Status": (client.status, ErrorKind.PERMISSION),
                "ListPodSandbox": (client.list_pod_sandboxes, ErrorKind.PERMISSION),
                "RuntimeConfig": (client.runtime_config, ErrorKind.UNAVAILABLE),
            }
            for method, (call, kind) in expected.items():
                with pytest.raises(ProbeFailed) as failed:
                    call()
                assert (failed.value.source, failed.value.kind) == (f"cri:{method}", kind)
            with pytest.raises(ProbeFailed) as failed:
                client.runtime_config()
            assert "not implemented" in failed.value.detail
    finally:
        server.stop(grace=None)


def test_api_version_falls_back_to_v1alpha2(short_dir: Path) -> None:
    path = str(short_dir / "old.sock")
    server = serve(
        path,
        {
            "/runtime.v1alpha2.RuntimeService/Version": (
                version_handler("old-runtime"),
                api_pb2.VersionRequest,
                api_pb2.VersionResponse,
            )
        },
    )
    try:
        with CRIClient(path, timeout=2.0) as client:
            assert client.api_version() == "v1alpha2"
            with pytest.raises(ProbeFailed) as failed:
                client.version()
            assert failed.value.kind is ErrorKind.UNAVAILABLE
            assert "not implemented" in failed.value.detail
    finally:
        server.stop(grace=None)


def test_api_version_fails_when_neither_api_answers(short_dir: Path) -> None:
    path = str(short_dir / "none.sock")
    server = serve(path, {})
    try:
        with CRIClient(path, timeout=2.0) as client, pytest.raises(ProbeFailed) as failed:
            client.api_version()
        assert failed.value.source == "cri:Version"
        assert "not implemented" in failed.value.detail
    finally:
        server.stop(grace=None)


@pytest.mark.parametrize(
    ("endpoint", "path"),
    [
        ("unix:///run/containerd/containerd.sock", "/run/containerd/containerd.sock"),
        ("unix:/run/crio/crio.sock", "/run/crio/crio.sock"),
        ("/var/run/cri-dockerd.sock", "/var/run/cri-dockerd.sock"),
    ],
)
def test_socket_path_of_endpoints(endpoint: str, path: str) -> None:
    assert socket_path(endpoint) == path


@pytest.mark.parametrize("endpoint", ["tcp://127.0.0.1:1234", "npipe:////./pipe/x", "unix://"])
def test_endpoints_that_are_not_unix_sockets_are_malformed(endpoint: str) -> None:
    with pytest.raises(ProbeFailed) as failed:
        socket_path(endpoint)
    assert failed.value.kind is ErrorKind.MALFORMED


def test_grpc_code_table() -> None:
    assert kind_from_grpc_code("DEADLINE_EXCEEDED") is ErrorKind.TIMEOUT
    assert kind_from_grpc_code("NOT_FOUND") is ErrorKind.MISSING
    assert kind_from_grpc_code("UNAUTHENTICATED") is ErrorKind.PERMISSION
    assert kind_from_grpc_code("RESOURCE_EXHAUSTED") is ErrorKind.UNAVAILABLE


def test_parse_info_keeps_non_json_values() -> None:
    assert parse_info({"a": '{"x": 1}', "b": "not json", "c": '"quoted"'}) == {
        "a": {"x": 1},
        "b": "not json",
        "c": "quoted",
    }


def many_containers(total_bytes: int) -> Any:
    """A ListContainersResponse of at least TOTAL_BYTES (containers with 1 KiB labels)."""
    label = "v" * 1000
    one = api_pb2.ListContainersResponse(
        containers=[api_pb2.Container(id="0" * 64, labels={"big": label}, created_at=10**6)]
    )
    count = total_bytes // one.ByteSize() + 1
    return api_pb2.ListContainersResponse(
        containers=[
            api_pb2.Container(id=f"{i:064x}", labels={"big": label}, created_at=i)
            for i in range(count)
        ]
    )


def test_long_answers_up_to_16_mib_from_a_real_server(short_dir: Path) -> None:
    path = str(short_dir / "big.sock")
    sizes = {"small": 31 * 512 * 1024, "large": 17 * 1024 * 1024}  # 15.5 MiB and 17 MiB
    answers = {name: many_containers(size) for name, size in sizes.items()}
    asked: list[str] = []

    def list_containers(request: Any, context: grpc.ServicerContext) -> Any:
        name = "small" if not asked else "large"
        asked.append(name)
        return answers[name]

    server = serve(
        path,
        {
            "/runtime.v1.RuntimeService/ListContainers": (
                list_containers,
                api_pb2.ListContainersRequest,
                api_pb2.ListContainersResponse,
            ),
            "/runtime.v1.RuntimeService/Version": (
                version_handler("big-runtime"),
                api_pb2.VersionRequest,
                api_pb2.VersionResponse,
            ),
        },
    )
    try:
        with CRIClient(path, timeout=30.0) as client:
            small = client.list_containers()
            assert 15 * 1024 * 1024 < answers["small"].ByteSize() <= 16 * 1024 * 1024
            assert len(small["containers"]) == len(answers["small"].containers)
            assert small["containers"][-1]["id"] == answers["small"].containers[-1].id
            assert small["containers"][7]["createdAt"] == "7"
            with pytest.raises(ProbeFailed) as failed:
                client.list_containers()
            assert failed.value.kind is ErrorKind.UNAVAILABLE
            assert failed.value.detail.startswith("RESOURCE_EXHAUSTED: answer of ")
            assert "over the limit of 16777216" in failed.value.detail
            # the client goes on after refusing an answer
            assert client.version()["runtimeName"] == "big-runtime"
    finally:
        server.stop(grace=None)


def test_many_calls_on_one_connection_to_a_real_server(short_dir: Path) -> None:
    path = str(short_dir / "many.sock")
    seen_peers: set[str] = set()

    def container_status(request: Any, context: grpc.ServicerContext) -> Any:
        seen_peers.add(context.peer())
        if request.container_id.startswith("gone"):
            context.abort(
                grpc.StatusCode.NOT_FOUND, f"container «{request.container_id}» 100% gone\n"
            )
        return api_pb2.ContainerStatusResponse(
            status=api_pb2.ContainerStatus(id=request.container_id, state=api_pb2.CONTAINER_EXITED)
        )

    server = serve(
        path,
        {
            "/runtime.v1.RuntimeService/ContainerStatus": (
                container_status,
                api_pb2.ContainerStatusRequest,
                api_pb2.ContainerStatusResponse,
            )
        },
    )
    try:
        with CRIClient(path, timeout=5.0) as client:
            for i in range(60):
                if i % 3 == 2:
                    with pytest.raises(ProbeFailed) as failed:
                        client.container_status(f"gone-{i}")
                    assert failed.value.kind is ErrorKind.MISSING
                    assert failed.value.detail == f"NOT_FOUND: container «gone-{i}» 100% gone\n"
                else:
                    answer = client.container_status(f"c{i}")
                    assert answer == {"status": {"id": f"c{i}", "state": "CONTAINER_EXITED"}}
    finally:
        server.stop(grace=None)


def test_slow_handler_of_a_real_server_times_out(short_dir: Path) -> None:
    path = str(short_dir / "slow.sock")
    release = threading.Event()

    def slow(request: Any, context: grpc.ServicerContext) -> Any:
        release.wait(5)
        return api_pb2.StatusResponse()

    server = serve(
        path,
        {
            "/runtime.v1.RuntimeService/Status": (
                slow,
                api_pb2.StatusRequest,
                api_pb2.StatusResponse,
            )
        },
    )
    try:
        with CRIClient(path, timeout=0.5) as client:
            started = time.monotonic()
            with pytest.raises(ProbeFailed) as failed:
                client.status()
            assert 0.4 <= time.monotonic() - started < 10
        assert failed.value.kind is ErrorKind.TIMEOUT
        assert failed.value.detail == f"no answer from {path} within 0.5 s"
    finally:
        release.set()
        server.stop(grace=None)


def test_an_answer_that_is_not_the_message_fails_to_parse(short_dir: Path) -> None:
    path = str(short_dir / "garbled.sock")
    garbled = {
        "Version": (b"\x0a\x05ab", api_pb2.VersionRequest),  # a string past the end
        "ContainerStatus": (b"\x12\x02\x38", api_pb2.ContainerStatusRequest),  # a cut varint
        "ListContainers": (b"\x0e", api_pb2.ListContainersRequest),  # wire type 6
    }
    as_is = SimpleNamespace(SerializeToString=lambda data: data)  # the bytes are the answer
    handlers: dict[str, tuple[Handler, Any, Any]] = {
        f"/runtime.v1.RuntimeService/{method}": (lambda r, c, data=data: data, request, as_is)
        for method, (data, request) in garbled.items()
    }
    ready = api_pb2.StatusResponse(
        status=api_pb2.RuntimeStatus(conditions=[api_pb2.RuntimeCondition(type="RuntimeReady")])
    )
    handlers["/runtime.v1.RuntimeService/Status"] = (
        lambda request, context: ready,
        api_pb2.StatusRequest,
        api_pb2.StatusResponse,
    )
    server = serve(path, handlers)
    try:
        with CRIClient(path, timeout=5.0) as client:
            calls = {
                "Version": client.version,
                "ContainerStatus": lambda: client.container_status("c1"),
                "ListContainers": client.list_containers,
            }
            for method, call in calls.items():
                with pytest.raises(ProbeFailed) as failed:
                    call()
                assert failed.value.source == f"cri:{method}"
                assert failed.value.kind is ErrorKind.UNAVAILABLE
                assert failed.value.detail.startswith(
                    f"INTERNAL: could not parse the answer from {path}: "
                )
            # the connection goes on after an answer it could not parse
            assert client.status() == {"status": {"conditions": [{"type": "RuntimeReady"}]}}
    finally:
        server.stop(grace=None)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
def test_socket_the_user_may_not_open_is_a_permission_failure(short_dir: Path) -> None:
    path = str(short_dir / "root-only.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    os.chmod(path, 0o600)
    os.chmod(short_dir, 0o755)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, connect, report, exit without cleanup
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            try:
                CRIClient(path, timeout=5).version()
                report = ["answered", "", ""]
            except ProbeFailed as exc:
                report = [exc.kind.value, exc.source, exc.detail]
            os.write(write_end, json.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as result:
        output = result.read()
    os.waitpid(pid, 0)
    listener.close()
    kind, source, detail = json.loads(output)
    assert (kind, source) == (ErrorKind.PERMISSION.value, "cri:Version")
    assert detail == permission_detail(path)


def test_the_client_imports_neither_grpc_nor_protobuf(short_dir: Path) -> None:
    path = str(short_dir / "plain.sock")
    server = serve(
        path,
        {
            "/runtime.v1.RuntimeService/Version": (
                version_handler("plain-runtime"),
                api_pb2.VersionRequest,
                api_pb2.VersionResponse,
            )
        },
    )
    code = (
        "import sys\n"
        "from inspect8s.runtime.cri import CRIClient\n"
        f"print(CRIClient({path!r}, timeout=5).version()['runtimeName'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'google')))\n"
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
    finally:
        server.stop(grace=None)
    assert proc.stdout.split("\n")[:2] == ["plain-runtime", "[]"]


def test_calls_from_several_threads_take_turns_on_one_client(short_dir: Path) -> None:
    path = str(short_dir / "threads.sock")
    server = serve(
        path,
        {
            "/runtime.v1.RuntimeService/Version": (
                version_handler("shared-runtime"),
                api_pb2.VersionRequest,
                api_pb2.VersionResponse,
            )
        },
    )
    names: list[str] = []
    try:
        with CRIClient(path, timeout=10.0) as client:

            def ask() -> None:
                for _ in range(10):
                    names.append(client.version()["runtimeName"])

            threads = [threading.Thread(target=ask) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        server.stop(grace=None)
    assert names == ["shared-runtime"] * 40
