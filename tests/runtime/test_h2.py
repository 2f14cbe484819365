"""The HTTP/2 gRPC transport against small scripted HTTP/2 servers on real unix sockets.

Each server is a thread that accepts connections on a socket made here and writes the
frames a test names (well-formed or not), reading what the client sends as a real peer
would. Interoperability with a real gRPC server is in tests/test_cri.py.
"""

from __future__ import annotations

import random
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from testbed import api_pb2

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.runtime.cri import CRIClient
from inspect8s.runtime.h2 import (
    CONTINUATION,
    DATA,
    END_HEADERS,
    END_STREAM,
    GOAWAY,
    HEADERS,
    PADDED,
    PING,
    PREFACE,
    PRIORITY_FLAG,
    RST_STREAM,
    SETTINGS,
    WINDOW_UPDATE,
    CallError,
    Channel,
    frame,
    grpc_timeout,
    percent_decode,
)
from inspect8s.runtime.hpack import Decoder, encode_headers

ACK = 0x1
RESPONSE = [(":status", "200"), ("content-type", "application/grpc")]
OK = [("grpc-status", "0")]
METHOD = "/runtime.v1.RuntimeService/Version"


class Peer:
    """The server side of one accepted connection."""

    def __init__(self, conn: socket.socket, closing: threading.Event | None = None) -> None:
        self.conn = conn
        self.closing = closing if closing is not None else threading.Event()
        self.buf = b""
        self.decoder = Decoder()
        self.seen: list[tuple[int, int, int, bytes]] = []
        conn.settimeout(10)

    def read(self, size: int) -> bytes:
        while len(self.buf) < size:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:size], self.buf[size:]
        return out

    def frame(self) -> tuple[int, int, int, bytes]:
        head = self.read(9)
        length = int.from_bytes(head[:3], "big")
        got = (head[3], head[4], int.from_bytes(head[5:9], "big") & 0x7FFFFFFF, self.read(length))
        self.seen.append(got)
        return got

    def request(self, preface: bool = True) -> tuple[int, list[tuple[str, str]], bytes]:
        """Read the client's next request: its stream id, headers and message."""
        if preface:
            assert self.read(len(PREFACE)) == PREFACE
        headers: list[tuple[str, str]] = []
        body = b""
        while True:
            kind, flags, stream, payload = self.frame()
            if kind == HEADERS:
                headers = self.decoder.decode(payload)
            elif kind == DATA:
                body += payload
                if flags & END_STREAM:
                    return stream, headers, body[5:]

    def send(self, *frames: bytes) -> None:
        self.conn.sendall(b"".join(frames))

    def end(self) -> None:
        """Close the connection cleanly: the client reads the end of the stream (not a
        reset by frames of its own the server left unread), then closes its side."""
        self.conn.shutdown(socket.SHUT_WR)
        while self.conn.recv(65536):
            pass

    def hold(self, seconds: float) -> None:
        """Keep the connection open, saying nothing, for ``seconds`` or until the server
        is closed at the end of the test."""
        self.closing.wait(seconds)


Script = Callable[[Peer, int], None]


class Server:
    """Accepts connections on PATH and runs SCRIPT(peer, connection number) on each."""

    def __init__(self, path: str, script: Script) -> None:
        self.path = path
        self.script = script
        self.connections = 0
        self.ended = threading.Condition()
        self.finished = 0  # connections whose script has returned and that are closed
        self.failures: list[BaseException] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.stop.is_set():  # close()'s own connection, made to end the wait
                conn.close()
                return
            number = self.connections
            self.connections += 1
            with conn:
                try:
                    self.script(Peer(conn, self.stop), number)
                except (EOFError, ConnectionError, TimeoutError):
                    pass  # the client went away: that is the client's business
                except BaseException as exc:  # an assertion of the script
                    self.failures.append(exc)
            with self.ended:
                self.finished += 1
                self.ended.notify_all()

    def served(self, count: int, timeout: float = 10.0) -> bool:
        """Whether ``count`` connections have been served to their end within ``timeout``."""
        with self.ended:
            return self.ended.wait_for(lambda: self.finished >= count, timeout=timeout)

    def close(self) -> None:
        self.stop.set()  # a script holding its connection lets go
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as wake:
            try:
                wake.connect(self.path)  # ends a wait in accept() at once
            except OSError:
                pass
            self.thread.join()
        self.sock.close()
        if self.failures:
            raise self.failures[0]


@pytest.fixture
def short_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="i8s-h2-") as d:
        yield Path(d)


@pytest.fixture
def serve(short_dir: Path) -> Iterator[Callable[[Script], Server]]:
    servers: list[Server] = []

    def start(script: Script) -> Server:
        server = Server(str(short_dir / f"h2-{len(servers)}.sock"), script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def headers(stream: int, fields: list[tuple[str, str]], flags: int = END_HEADERS) -> bytes:
    return frame(HEADERS, flags, stream, encode_headers(fields))


def message(data: bytes) -> bytes:
    return b"\x00" + struct.pack(">L", len(data)) + data


def answer(stream: int, data: bytes) -> bytes:
    return (
        headers(stream, RESPONSE)
        + frame(DATA, 0, stream, message(data))
        + headers(stream, OK, END_HEADERS | END_STREAM)
    )


def settings(*pairs: tuple[int, int]) -> bytes:
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HL", k, v) for k, v in pairs))


VERSION = api_pb2.VersionResponse(
    runtime_name="scripted", runtime_version="1.0"
).SerializeToString()


def test_answers_reuse_one_connection_and_the_dynamic_table(
    serve: Callable[[Script], Server],
) -> None:
    streams: list[int] = []
    requests: list[list[tuple[str, str]]] = []

    def script(peer: Peer, _: int) -> None:
        peer.send(settings())
        for call in range(3):
            stream, fields, _body = peer.request(preface=call == 0)
            streams.append(stream)
            requests.append(fields)
            if call == 0:  # content-type and grpc-status enter the client's dynamic table
                head = b"\x88\x5f\x10application/grpc"
                trail = b"\x40\x0bgrpc-status\x010"
            else:  # ... and are named by index 63 and 62 afterwards
                head, trail = b"\x88\xbf", b"\xbe"
            peer.send(
                frame(HEADERS, END_HEADERS, stream, head),
                frame(DATA, 0, stream, message(VERSION)),
                frame(HEADERS, END_HEADERS | END_STREAM, stream, trail),
            )

    server = serve(script)
    with CRIClient(server.path, timeout=5) as client:
        for _ in range(3):
            assert client.version() == {"runtimeName": "scripted", "runtimeVersion": "1.0"}
    assert streams == [1, 3, 5]
    assert server.connections == 1
    sent = dict(requests[0])
    assert sent[":method"] == "POST" and sent[":path"] == METHOD and sent["te"] == "trailers"
    assert sent["content-type"] == "application/grpc" and sent["grpc-timeout"].endswith("m")
    assert 4000 <= int(sent["grpc-timeout"][:-1]) <= 5000


def test_continuation_padding_and_priority(serve: Callable[[Script], Server]) -> None:
    def script(peer: Peer, _: int) -> None:
        stream, _fields, _body = peer.request()
        block = encode_headers(RESPONSE)
        pad = 7
        first = bytes([pad]) + b"\x00\x00\x00\x00\x10" + block[:3] + b"\x00" * pad
        body = message(VERSION)
        trail = encode_headers([("grpc-status", "0"), ("grpc-message", "")])
        peer.send(
            settings(),
            frame(HEADERS, PADDED | PRIORITY_FLAG, stream, first),
            frame(CONTINUATION, 0, stream, block[3:5]),
            frame(CONTINUATION, END_HEADERS, stream, block[5:]),
            frame(DATA, PADDED, stream, bytes([3]) + body[:4] + b"\x00" * 3),
            frame(DATA, PADDED, stream, bytes([0]) + body[4:]),
            frame(DATA, 0, stream, b""),
            frame(HEADERS, END_STREAM, stream, trail[:2]),
            frame(CONTINUATION, END_HEADERS, stream, trail[2:]),
        )

    server = serve(script)
    with CRIClient(server.path, timeout=5) as client:
        assert client.version()["runtimeName"] == "scripted"


def failure(server: Server, timeout: float = 5.0, method: str = "version") -> ProbeFailed:
    with CRIClient(server.path, timeout=timeout) as client, pytest.raises(ProbeFailed) as failed:
        getattr(client, method)()
    return failed.value


def test_frame_over_max_frame_size_is_a_protocol_error(serve: Callable[[Script], Server]) -> None:
    goaway: list[int] = []

    def script(peer: Peer, _: int) -> None:
        stream, _f, _b = peer.request()
        peer.send(settings(), headers(stream, RESPONSE), frame(DATA, 0, stream, b"\x00" * 16385))
        while True:
            kind, _flags, _stream, payload = peer.frame()
            if kind == GOAWAY:
                goaway.append(int.from_bytes(payload[4:8], "big"))

    server = serve(script)
    err = failure(server)
    assert (err.kind, err.source) == (ErrorKind.UNAVAILABLE, "cri:Version")
    assert "16385 bytes over the 16384-byte limit" in err.detail
    assert server.served(1)  # the client closed the connection: every frame it sent is in
    assert goaway == [6]  # FRAME_SIZE_ERROR, told to the peer


def test_goaway_below_the_stream_fails_after_one_retry(serve: Callable[[Script], Server]) -> None:
    def script(peer: Peer, _: int) -> None:
        peer.request()
        peer.send(settings(), frame(GOAWAY, 0, 0, struct.pack(">LL", 0, 0)))

    server = serve(script)
    err = failure(server)
    assert err.kind is ErrorKind.UNAVAILABLE
    assert "closed the connection (GOAWAY NO_ERROR)" in err.detail
    assert server.connections == 2  # the stream was not processed: asked once more


def test_graceful_goaway_after_an_answer_moves_to_a_new_connection(
    serve: Callable[[Script], Server],
) -> None:
    def script(peer: Peer, _: int) -> None:
        stream, _f, _b = peer.request()
        peer.send(settings(), answer(stream, VERSION))
        peer.send(frame(GOAWAY, 0, 0, struct.pack(">LL", stream, 0) + b"shutting down"))
        peer.hold(0.3)

    server = serve(script)
    with CRIClient(server.path, timeout=5) as client:
        client.version()
        time.sleep(0.05)
        client.version()
    assert server.connections == 2


def test_a_connection_closed_while_idle_is_replaced(serve: Callable[[Script], Server]) -> None:
    def script(peer: Peer, _: int) -> None:
        stream, _f, _b = peer.request()
        peer.send(settings(), answer(stream, VERSION))
        # returning closes the connection

    server = serve(script)
    with CRIClient(server.path, timeout=5) as client:
        client.version()
        time.sleep(0.1)
        assert client.version()["runtimeName"] == "scripted"
    assert server.connections == 2


@pytest.mark.parametrize(
    ("code", "grpc_code", "kind"),
    [(7, "UNAVAILABLE", ErrorKind.UNAVAILABLE), (8, "CANCELLED", ErrorKind.UNAVAILABLE)],
)
def test_rst_stream(
    serve: Callable[[Script], Server], code: int, grpc_code: str, kind: ErrorKind
) -> None:
    def script(peer: Peer, _: int) -> None:
        stream, _f, _b = peer.request()
        peer.send(settings(), frame(RST_STREAM, 0, stream, struct.pack(">L", code)))
        peer.hold(0.5)

    err = failure(serve(script))
    assert err.kind is kind
    assert err.detail.startswith(f"{grpc_code}: stream reset by unix:")


def test_trickling_server_fails_at_one_deadline(serve: Callable[[Script], Server]) -> None:
    def script(peer: Peer, _: int) -> None:
        stream, _f, _b = peer.request()
        peer.send(settings(), headers(stream, RESPONSE))
        data = frame(DATA, 0, stream, message(b"x" * 1000))
        for byte in data:  # one byte every 50 ms: each receive succeeds, the call may not
            peer.send(bytes([byte]))
            time.sleep(0.05)

    started = time.monotonic()
    err = failure(serve(script), timeout=0.6)
    elapsed = time.monotonic() - started
    assert err.kind is ErrorKind.TIMEOUT
    assert err.detail.endswith("within 0.6 s")
    assert 0.5 <= elapsed < 10


def test_hung_server_after_settings_times_out(serve: Callable[[Script], Server]) -> None:
    def script(peer: Peer, _: int) -> None:
        peer.request()
        peer.send(settings())
        peer.hold(3)

    started = time.monotonic()
    err = failure(serve(script), timeout=0.5)
    assert err.kind is ErrorKind.TIMEOUT
    assert 0.4 <= time.monotonic() - started < 10


def test_server_closing_mid_answer(serve: Callable[[Script], Server]) -> None:
    def script(peer: Peer, _: int) -> None:
        stream, _f, _b = peer.request()
        whole = frame(DATA, 0, stream, message(b"y" * 100))
        peer.send(settings(), headers(stream, RESPONSE), whole[:40])
        peer.end()

    err = failure(serve(script))
    assert err.kind is ErrorKind.UNAVAILABLE
    assert "closed by unix:" in err.detail and "before the answer was complete" in err.detail


def test_answer_over_16_mib_is_refused_from_its_prefix(serve: Callable[[Script], Server]) -> None:
    def script(peer: Peer, _: int) -> None:
        stream, _f, _b = peer.request()
        prefix = b"\x00" + struct.pack(">L", 16 * 1024 * 1024 + 1)
        peer.send(settings(), headers(stream, RESPONSE), frame(DATA, 0, stream, prefix + b"z"))
        peer.hold(1)

    started = time.monotonic()
    err = failure(serve(script), method="list_containers")
    assert time.monotonic() - started < 0.9  # refused at the prefix, not after 16 MiB
    assert err.kind is ErrorKind.UNAVAILABLE
    assert err.detail == "RESOURCE_EXHAUSTED: answer of 16777217 bytes over the limit of 16777216"


@pytest.mark.parametrize(
    "garbage",
    [
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        b"\x00\x00\x05\x01\x04\x00\x00\x00\x01hello",  # HEADERS before SETTINGS
        b"SSH-2.0-OpenSSH_9.6\r\n",
    ],
)
def test_garbage_is_a_probe_failure(serve: Callable[[Script], Server], garbage: bytes) -> None:
    def script(peer: Peer, _: int) -> None:
        peer.request()
        peer.send(garbage)
        peer.hold(0.3)

    err = failure(serve(script))
    assert err.kind is ErrorKind.UNAVAILABLE
    assert err.detail.startswith("INTERNAL: HTTP/2 protocol error from unix:")


def test_random_frames_after_settings_never_crash(serve: Callable[[Script], Server]) -> None:
    rng = random.Random(7)
    blobs = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))) for _ in range(40)]
    for blob in blobs[:20]:  # frame-shaped: a valid header of a random type, random payload
        blobs.append(frame(rng.randrange(12), rng.randrange(256), 1, blob))

    def script(peer: Peer, number: int) -> None:
        peer.request()
        peer.send(settings(), blobs[number // 2 % len(blobs)])

    server = serve(script)
    for _ in blobs:
        with CRIClient(server.path, timeout=0.3) as client:
            try:
                client.version()
            except ProbeFailed as exc:
                assert exc.kind in (ErrorKind.UNAVAILABLE, ErrorKind.TIMEOUT)


def test_ping_and_settings_are_acknowledged(serve: Callable[[Script], Server]) -> None:
    acks: list[tuple[int, bytes]] = []

    def script(peer: Peer, _: int) -> None:
        stream, _f, _b = peer.request()
        peer.send(settings((1, 8192)), frame(PING, 0, 0, b"12345678"))
        while len(acks) < 2:
            kind, flags, _s, payload = peer.frame()
            if kind in (PING, SETTINGS) and flags & ACK:
                acks.append((kind, payload))
        peer.send(answer(stream, VERSION))

    server = serve(script)
    with CRIClient(server.path, timeout=5) as client:
        client.version()
    assert sorted(acks) == [(SETTINGS, b""), (PING, b"12345678")]


def test_request_waits_for_the_peer_stream_window(serve: Callable[[Script], Server]) -> None:
    pieces: list[int] = []

    def script(peer: Peer, _: int) -> None:
        peer.send(settings((4, 4)))  # INITIAL_WINDOW_SIZE 4
        stream, _f, _b = peer.request()
        peer.send(answer(stream, b""))
        body = b""
        while True:
            kind, flags, stream, payload = peer.frame()
            if kind != DATA:
                continue
            pieces.append(len(payload))
            body += payload
            if flags & END_STREAM:
                break
            peer.send(frame(WINDOW_UPDATE, 0, stream, struct.pack(">L", len(payload))))
        peer.send(answer(stream, body[5:]))

    server = serve(script)
    channel = Channel(server.path, max_message=1000)
    try:
        channel.unary(METHOD, b"", 5)  # learns the window of 4
        assert channel.unary(METHOD, b"0123456789", 5) == b"0123456789"
    finally:
        channel.close()
    assert pieces == [4, 4, 4, 3]


def test_answers_beyond_the_receive_window_get_window_updates(
    serve: Callable[[Script], Server],
) -> None:
    updates: dict[int, int] = {0: 0, 1: 0}

    def script(peer: Peer, _: int) -> None:
        stream, _f, _b = peer.request()
        window = {0: 65535, 1: 65535}  # the client grants the default windows here
        peer.send(settings(), headers(stream, RESPONSE))
        body = message(bytes(range(200)) * 5)
        frames = []
        for pos in range(0, len(body), 3):  # 3 bytes of message, 250 of padding each
            frames.append(bytes([250]) + body[pos : pos + 3] + b"\x00" * 250)
        for payload in frames:
            while min(window.values()) < len(payload):
                kind, _flags, ident, data = peer.frame()
                if kind == WINDOW_UPDATE:
                    increment = int.from_bytes(data, "big")
                    window[ident] += increment
                    updates[ident] += increment
            peer.send(frame(DATA, PADDED, stream, payload))
            window[0] -= len(payload)
            window[1] -= len(payload)
        peer.send(headers(stream, OK, END_HEADERS | END_STREAM))

    server = serve(script)
    channel = Channel(server.path, max_message=1000)
    try:
        assert channel.unary(METHOD, b"", 10) == bytes(range(200)) * 5
    finally:
        channel.close()
    assert updates[0] > 0 and updates[1] > 0  # both windows were reopened by the client


def test_http_status_other_than_200(serve: Callable[[Script], Server]) -> None:
    def script(peer: Peer, _: int) -> None:
        stream, _f, _b = peer.request()
        peer.send(settings(), headers(stream, [(":status", "404")], END_HEADERS | END_STREAM))

    err = failure(serve(script))
    assert err.kind is ErrorKind.UNAVAILABLE
    assert "answered HTTP status 404, not gRPC" in err.detail


def test_trailers_only_answer_with_a_percent_encoded_message(
    serve: Callable[[Script], Server],
) -> None:
    def script(peer: Peer, _: int) -> None:
        stream, _f, _b = peer.request()
        fields = [*RESPONSE, ("grpc-status", "5"), ("grpc-message", "no%20%C2%ABx%C2%BB 100%")]
        peer.send(settings(), headers(stream, fields, END_HEADERS | END_STREAM))

    server = serve(script)
    with CRIClient(server.path, timeout=5) as client, pytest.raises(ProbeFailed) as failed:
        client.container_status("x")
    assert failed.value.kind is ErrorKind.MISSING
    assert failed.value.detail == "NOT_FOUND: no «x» 100%"


def test_answer_without_status_or_message(serve: Callable[[Script], Server]) -> None:
    def script(peer: Peer, number: int) -> None:
        stream, _f, _b = peer.request()
        if number == 0:
            peer.send(settings(), headers(stream, RESPONSE, END_HEADERS | END_STREAM))
        else:
            peer.send(settings(), headers(stream, RESPONSE), headers(stream, OK, 5))

    server = serve(script)
    assert "has no grpc-status" in failure(server).detail
    assert "holds no message" in failure(server).detail


def test_timeout_header_and_percent_decoding() -> None:
    assert grpc_timeout(5.0) == "5000m"
    assert grpc_timeout(0.0001) == "1m"
    assert grpc_timeout(200_000.0) == "200000S"
    assert percent_decode("a%2") == "a%2" and percent_decode("%zz") == "%zz"
    assert percent_decode("caf%C3%A9") == "café"


def test_channel_errors_carry_grpc_codes(short_dir: Path) -> None:
    channel = Channel(str(short_dir / "none.sock"), max_message=10)
    with pytest.raises(CallError) as failed:
        channel.unary(METHOD, b"", 1)
    assert failed.value.code == "UNAVAILABLE"
    assert "No such file or directory" in failed.value.message
