"""HTTP servers that misbehave on purpose, on 127.0.0.1, each in its own thread.

* ``drip_headers``: answers the status line and headers one byte every ``interval``
  seconds (one a second unless told);
* ``drip_body``: sends the headers at once, then the body one byte every ``interval``;
* ``silent``: accepts connections and never answers;
* ``huge``: answers 200 with a body of ``size`` bytes (chunked, no Content-Length), made
  from one 64 KiB buffer so the server holds no more than that;
* ``huge_declared``: the same with a Content-Length header saying so.

Every server stops when the test ends (``close``), closing every connection it holds.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

Handler = Callable[[socket.socket, threading.Event], None]


class Server:
    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self.connections = 0
        self.bytes_sent = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            buf = b""
            while b"\r\n\r\n" not in buf:  # the request head (bodies of GETs are empty)
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            self._handler(conn, self._stop)
        except OSError:
            pass
        finally:
            conn.close()

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.bytes_sent += len(data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._sock.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


def drip_headers(interval: float = 1.0) -> Server:
    server: Server

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        for byte in _OK_HEAD + b"Content-Length: 2\r\n\r\n{}":
            if stop.wait(interval):
                return
            server.send(conn, bytes([byte]))

    server = Server(handle)
    return server


def drip_body(interval: float = 1.0) -> Server:
    server: Server

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        body = b'{"kind": "Pod", "metadata": {"name": "web"}}' + b" " * 1000
        server.send(conn, _OK_HEAD + f"Content-Length: {len(body)}\r\n\r\n".encode())
        for byte in body:
            if stop.wait(interval):
                return
            server.send(conn, bytes([byte]))

    server = Server(handle)
    return server


def silent() -> Server:
    def handle(conn: socket.socket, stop: threading.Event) -> None:
        stop.wait(600)

    return Server(handle)


def huge(size: int, *, declared: bool = False) -> Server:
    server: Server
    block = b" " * 65536

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        if declared:
            server.send(conn, _OK_HEAD + f"Content-Length: {size}\r\n\r\n".encode())
            frame = block
        else:
            server.send(conn, _OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
            frame = f"{len(block):x}\r\n".encode() + block + b"\r\n"
        sent = 0
        started = time.monotonic()
        while sent < size and not stop.is_set() and time.monotonic() - started < 120:
            server.send(conn, frame)
            sent += len(block)

    server = Server(handle)
    return server
