"""The Docker Engine API over its unix socket: two read-only GETs, answered as raw dicts.

inspect8s asks a Docker Engine two things, ``GET /version`` and ``GET
/containers/json?all=1`` (Engine API reference, "System" and "Containers"); both are plain
HTTP/1.1 on the daemon's unix socket. They are made with the standard library's
``http.client`` on an ``AF_UNIX`` socket rather than the ``docker`` SDK: the SDK brings
requests and urllib3, about 150 ms of imports on this project's machines, which was half of
an idle ``inspect8s node`` (benchmarks/README.md, "Idle node"). Paths carry no API version
prefix, so the daemon answers in its own current version.

Every call has a deadline: ``timeout`` seconds for the whole call (connect, request,
headers and body). Bodies larger than :data:`MAX_BODY_BYTES` are refused. Failures are
``ProbeFailed`` with source ``docker:<call>``: no socket or connection refused
(unavailable), permission denied (permission: inspect8s must run as root or in the docker
group to read it), a deadline passed (timeout), an HTTP error status (by
``kind_from_http_status``, with the daemon's ``message``), a body that is not the JSON
expected (malformed).
"""

from __future__ import annotations

import errno
import json
import socket
import time
from typing import Any

from inspect8s.errors import ErrorKind, ProbeFailed, kind_from_http_status

MAX_BODY_BYTES = 64 << 20  # a /containers/json of thousands of containers is a few MB


class DockerEngine:
    """A read-only Docker Engine API client for one unix socket."""

    def __init__(self, socket_path: str, *, timeout: float = 5.0) -> None:
        self.socket_path = (
            socket_path[len("unix://") :] if socket_path.startswith("unix://") else socket_path
        )
        self.timeout = timeout

    def _get(self, path: str, call: str) -> Any:
        source = f"docker:{call}"
        deadline = time.monotonic() + self.timeout

        def left() -> float:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProbeFailed(ErrorKind.TIMEOUT, source, f"no answer within {self.timeout:g} s")
            return remaining

        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                sock.settimeout(left())
                sock.connect(self.socket_path)
                request = (
                    f"GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: inspect8s\r\n"
                    "Accept: application/json\r\nConnection: close\r\n\r\n"
                )
                sock.sendall(request.encode("ascii"))
                chunks: list[bytes] = []
                size = 0
                while True:
                    sock.settimeout(left())
                    data = sock.recv(1 << 16)
                    if not data:
                        break
                    size += len(data)
                    if size > MAX_BODY_BYTES:
                        raise ProbeFailed(
                            ErrorKind.MALFORMED,
                            source,
                            f"answer larger than {MAX_BODY_BYTES >> 20} MiB; not read",
                        )
                    chunks.append(data)
            except TimeoutError:
                raise ProbeFailed(
                    ErrorKind.TIMEOUT, source, f"no answer within {self.timeout:g} s"
                ) from None
            except OSError as exc:
                raise _connect_failure(source, self.socket_path, exc) from None
        finally:
            sock.close()
        status, body = _parse_response(b"".join(chunks), source)
        try:
            answer = json.loads(body) if body else None
        except (ValueError, RecursionError):
            raise ProbeFailed(ErrorKind.MALFORMED, source, "the answer is not JSON") from None
        if status != 200:
            message = answer.get("message") if isinstance(answer, dict) else None
            detail = str(message or f"HTTP {status}")
            raise ProbeFailed(kind_from_http_status(status), source, detail.splitlines()[0][:300])
        return answer

    def version(self) -> dict[str, Any]:
        answer = self._get("/version", "/version")
        if not isinstance(answer, dict):
            raise ProbeFailed(ErrorKind.MALFORMED, "docker:/version", "not a JSON object")
        return answer

    def containers(self) -> list[dict[str, Any]]:
        answer = self._get("/containers/json?all=1", "/containers/json")
        if not isinstance(answer, list) or not all(isinstance(c, dict) for c in answer):
            raise ProbeFailed(
                ErrorKind.MALFORMED, "docker:/containers/json", "not a JSON list of objects"
            )
        return answer

    def close(self) -> None:
        """Nothing is kept open between calls (each asks ``Connection: close``)."""

    def __enter__(self) -> DockerEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect_failure(source: str, path: str, exc: OSError) -> ProbeFailed:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ProbeFailed(
            ErrorKind.PERMISSION,
            source,
            f"permission denied on {path}: run as root (or in the socket's group)",
        )
    if exc.errno in (errno.ENOENT, errno.ECONNREFUSED, errno.ENOTSOCK):
        return ProbeFailed(ErrorKind.UNAVAILABLE, source, f"nothing answers on {path}")
    return ProbeFailed(ErrorKind.UNAVAILABLE, source, f"{path}: {exc.strerror or exc}")


def _parse_response(raw: bytes, source: str) -> tuple[int, bytes]:
    """(status, body) of an HTTP/1.1 response, with chunked transfer decoded. Pure."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ProbeFailed(ErrorKind.MALFORMED, source, "not an HTTP answer")
    lines = head.split(b"\r\n")
    parts = lines[0].split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ProbeFailed(ErrorKind.MALFORMED, source, "not an HTTP answer")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    if headers.get(b"transfer-encoding") == b"chunked":
        body = _unchunk(body, source)
    return int(parts[1]), body


def _unchunk(data: bytes, source: str) -> bytes:
    out: list[bytes] = []
    pos = 0
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:
            raise ProbeFailed(ErrorKind.MALFORMED, source, "truncated chunked answer")
        size_text = data[pos:end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProbeFailed(ErrorKind.MALFORMED, source, "bad chunk size") from None
        if size == 0:
            return b"".join(out)
        start = end + 2
        if start + size > len(data):
            raise ProbeFailed(ErrorKind.MALFORMED, source, "truncated chunked answer")
        out.append(data[start : start + size])
        pos = start + size + 2
