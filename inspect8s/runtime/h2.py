"""Unary gRPC calls over HTTP/2 on a unix socket: the transport of the CRI client.

A small synchronous client of the subset of HTTP/2 (RFC 9113) that gRPC unary calls use,
without TLS and with prior knowledge (h2c: the connection preface, no upgrade), as the
kubelet talks to a CRI runtime. One :class:`Channel` holds one connection, opened at the
first call and reused for the next ones (streams 1, 3, 5, ...); a connection the peer
closed or refused to go on with (GOAWAY) is replaced at the next call.

What the client sends: the preface; SETTINGS (no server push, a stream window large enough
for the largest answer allowed); a WINDOW_UPDATE that opens the connection window as wide;
per call one HEADERS frame (literal fields, ``inspect8s/runtime/hpack.py``) and the request
message in DATA frames (within the peer's flow-control windows); SETTINGS and PING
acknowledgements; WINDOW_UPDATEs as answers consume the windows; GOAWAY before it drops a
connection on a protocol error. A call it gives up on (deadline, answer too large) closes
the connection: the next call opens a new one.

What it reads: SETTINGS, PING, WINDOW_UPDATE, GOAWAY, RST_STREAM, HEADERS (with
CONTINUATION, padding and priority), DATA (with padding); unknown frame types are ignored as
RFC 9113 section 4.1 requires. Frames over the default 16,384-byte SETTINGS_MAX_FRAME_SIZE
are a connection error.

gRPC (the "gRPC over HTTP2" protocol document of grpc/grpc): the request is
``POST /<service>/<method>`` with ``content-type: application/grpc``, ``te: trailers`` and
``grpc-timeout``; each message is prefixed by a compressed flag (0) and a 4-byte big-endian
length. The status is ``grpc-status`` (and the percent-encoded ``grpc-message``) in the
trailers, or in the only HEADERS of a "trailers-only" answer; an HTTP ``:status`` other than
200 means the peer is not a gRPC server.

Every call has one deadline (``timeout`` seconds from its start, ``time.monotonic``): the
connect, each send and each receive get the time that is left as their socket timeout, so a
peer that accepts and stays silent, or trickles bytes, fails at the deadline. Failures raise
:class:`CallError` with a gRPC status code name (``DEADLINE_EXCEEDED``, ``UNAVAILABLE``,
``RESOURCE_EXHAUSTED`` for an answer over the size limit, ``INTERNAL`` for a protocol
error, or the code the server sent).
"""

from __future__ import annotations

import socket
import struct
import threading
import time

from inspect8s.runtime.hpack import Decoder, HPACKError, encode_headers

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types (RFC 9113 section 6).
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE = 0, 1, 2, 3, 4, 5
PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 6, 7, 8, 9
# Flags.
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
# Settings (section 6.5.2).
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS = 1, 2, 3
INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE = 4, 5, 6

DEFAULT_WINDOW = 65_535
DEFAULT_MAX_FRAME = 16_384
MAX_WINDOW = (1 << 31) - 1
# The largest header block (HEADERS and its CONTINUATIONs) the client reads.
MAX_HEADER_BLOCK = 1 << 20

# Error codes (section 7), by number.
ERROR_NAMES = (
    "NO_ERROR",
    "PROTOCOL_ERROR",
    "INTERNAL_ERROR",
    "FLOW_CONTROL_ERROR",
    "SETTINGS_TIMEOUT",
    "STREAM_CLOSED",
    "FRAME_SIZE_ERROR",
    "REFUSED_STREAM",
    "CANCEL",
    "COMPRESSION_ERROR",
    "CONNECT_ERROR",
    "ENHANCE_YOUR_CALM",
    "INADEQUATE_SECURITY",
    "HTTP_1_1_REQUIRED",
)
NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR = 0, 1, 3, 6
REFUSED_STREAM, CANCEL, COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 7, 8, 9, 11

# gRPC status codes, by number.
STATUS_NAMES = (
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
)

# A stream reset by the peer, as gRPC reports it (gRPC over HTTP2: "Errors").
_RESET_STATUS = {REFUSED_STREAM: "UNAVAILABLE", CANCEL: "CANCELLED"}
_RESET_STATUS[ENHANCE_YOUR_CALM] = "RESOURCE_EXHAUSTED"

_FRAME_HEADER = struct.Struct(">LBL")  # length (24 bits) and type, flags, stream id


class CallError(Exception):
    """A call that did not return a message: ``code`` is a gRPC status code name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class _ProtocolError(Exception):
    """A connection error (RFC 9113 section 5.4.1): the connection cannot go on."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Refused(Exception):
    """The peer did not process the stream (GOAWAY below its id, or a reused connection
    closed before any answer): a read-only call is safe to make again on a new one."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def error_name(code: int) -> str:
    return ERROR_NAMES[code] if 0 <= code < len(ERROR_NAMES) else f"error code {code}"


def status_name(code: int) -> str:
    return STATUS_NAMES[code] if 0 <= code < len(STATUS_NAMES) else "UNKNOWN"


def percent_decode(text: str) -> str:
    """A ``grpc-message`` value: UTF-8, percent-encoded (gRPC over HTTP2)."""
    if "%" not in text:
        return text
    raw = text.encode("latin-1")
    out = bytearray()
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte == 0x25 and i + 2 < len(raw) and _is_hex(raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(byte)
            i += 1
    return out.decode("utf-8", errors="replace")


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(c in b"0123456789abcdefABCDEF" for c in pair)


def grpc_timeout(seconds: float) -> str:
    """The ``grpc-timeout`` header value: at most 8 digits and a unit."""
    millis = max(1, int(seconds * 1000 + 0.999))
    if millis < 100_000_000:
        return f"{millis}m"
    return f"{min(99_999_999, int(seconds + 0.999))}S"


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    """One HTTP/2 frame."""
    return _FRAME_HEADER.pack((len(payload) << 8) | kind, flags, stream) + payload


class _Stream:
    """What one call has received so far."""

    def __init__(self, ident: int, send_window: int) -> None:
        self.ident = ident
        self.send_window = send_window
        self.recv_window = 0
        self.unacked = 0
        self.headers: list[tuple[str, str]] | None = None
        self.trailers: list[tuple[str, str]] | None = None
        self.body: list[bytes] = []
        self.body_len = 0
        self.ended = False
        self.reset: int | None = None
        self.seen = False


class _Connection:
    """One HTTP/2 connection on a unix socket."""

    def __init__(self, path: str, deadline: float, window: int, max_message: int) -> None:
        self.path = path
        self.window = window
        self.max_message = max_message
        self.active: _Stream | None = None
        self.buf = bytearray()
        self.decoder = Decoder()
        self.next_stream = 1
        self.send_window = DEFAULT_WINDOW  # connection-level, the peer's
        self.peer_initial_window = DEFAULT_WINDOW
        self.peer_max_frame = DEFAULT_MAX_FRAME
        self.recv_window = window  # connection-level, ours
        self.unacked = 0
        self.got_settings = False
        self.going_away: int | None = None  # last stream id of a GOAWAY
        self.closed = False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock = sock
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(path)
        except TimeoutError:
            sock.close()
            raise CallError("DEADLINE_EXCEEDED", f"connect to unix:{path} timed out") from None
        except OSError as exc:
            sock.close()
            raise CallError(
                "UNAVAILABLE", f"failed to connect to unix:{path}: {_why(exc)}"
            ) from None
        settings = struct.pack(">HLHL", ENABLE_PUSH, 0, INITIAL_WINDOW_SIZE, window)
        opening = PREFACE + frame(SETTINGS, 0, 0, settings)
        if window > DEFAULT_WINDOW:  # an increment of 0 is a protocol error
            opening += frame(WINDOW_UPDATE, 0, 0, struct.pack(">L", window - DEFAULT_WINDOW))
        self._pending = opening  # sent with the first request, in one write

    # -- bytes ----------------------------------------------------------------------------

    def _send(self, data: bytes, deadline: float) -> None:
        data = self._pending + data
        self._pending = b""
        try:
            self.sock.settimeout(_remaining(deadline))
            self.sock.sendall(data)
        except TimeoutError:
            raise CallError("DEADLINE_EXCEEDED", f"sending to unix:{self.path} timed out") from None
        except OSError as exc:
            raise self._lost(exc) from None

    def _lost(self, exc: OSError) -> CallError:
        """The connection broke: it is not used again."""
        self.closed = True
        return CallError("UNAVAILABLE", f"connection to unix:{self.path} failed: {_why(exc)}")

    def _control(self, data: bytes, deadline: float) -> None:
        """Send an acknowledgement or a WINDOW_UPDATE: a peer that has already closed its
        end may still have left a whole answer in the buffer, so a failed send only marks
        the connection closed."""
        try:
            self._send(data, deadline)
        except CallError as exc:
            if exc.code == "DEADLINE_EXCEEDED":
                raise

    def _fill(self, size: int, deadline: float) -> None:
        while len(self.buf) < size:
            try:
                self.sock.settimeout(_remaining(deadline))
                chunk = self.sock.recv(max(65_536, size - len(self.buf)))
            except TimeoutError:
                raise CallError("DEADLINE_EXCEEDED", f"no answer from unix:{self.path}") from None
            except OSError as exc:
                raise self._lost(exc) from None
            if not chunk:
                self.closed = True
                raise CallError(
                    "UNAVAILABLE",
                    f"connection closed by unix:{self.path} before the answer was complete",
                )
            self.buf += chunk

    def _frame(self, deadline: float) -> tuple[int, int, int, bytes]:
        self._fill(9, deadline)
        head, flags, stream = _FRAME_HEADER.unpack_from(self.buf)
        length, kind = head >> 8, head & 0xFF
        stream &= MAX_WINDOW
        if not self.got_settings:
            if self.buf.startswith(b"HTTP/"):
                raise _ProtocolError(PROTOCOL_ERROR, "the socket answers HTTP/1.x, not HTTP/2")
            if kind != SETTINGS or flags & ACK:
                raise _ProtocolError(
                    PROTOCOL_ERROR, "the peer did not start with HTTP/2 SETTINGS (not gRPC?)"
                )
        if length > DEFAULT_MAX_FRAME:
            raise _ProtocolError(
                FRAME_SIZE_ERROR,
                f"frame of {length} bytes over the {DEFAULT_MAX_FRAME}-byte limit",
            )
        self._fill(9 + length, deadline)
        payload = bytes(self.buf[9 : 9 + length])
        del self.buf[: 9 + length]
        return kind, flags, stream, payload

    # -- frames ---------------------------------------------------------------------------

    def _header_block(
        self, flags: int, stream: int, payload: bytes, deadline: float
    ) -> tuple[bytes, bool]:
        """The whole header block of a HEADERS frame (and its CONTINUATIONs), END_STREAM."""
        if stream == 0 or stream % 2 == 0:
            raise _ProtocolError(PROTOCOL_ERROR, f"HEADERS on stream {stream}")
        pos, end = 0, len(payload)
        if flags & PADDED:
            if not payload:
                raise _ProtocolError(FRAME_SIZE_ERROR, "padded HEADERS without a pad length")
            end -= payload[0]
            pos = 1
        if flags & PRIORITY_FLAG:
            pos += 5
        if pos > end:
            raise _ProtocolError(PROTOCOL_ERROR, "HEADERS padding longer than the frame")
        block = bytearray(payload[pos:end])
        more = not flags & END_HEADERS
        while more:
            kind, cflags, cstream, cpayload = self._frame(deadline)
            if kind != CONTINUATION or cstream != stream:
                raise _ProtocolError(PROTOCOL_ERROR, "header block interrupted by another frame")
            block += cpayload
            if len(block) > MAX_HEADER_BLOCK:
                raise _ProtocolError(PROTOCOL_ERROR, "header block over 1 MiB")
            more = not cflags & END_HEADERS
        return bytes(block), bool(flags & END_STREAM)

    def _handle(self, deadline: float, current: _Stream | None) -> None:
        """Read one frame and act on it; what belongs to ``current`` goes there."""
        kind, flags, stream, payload = self._frame(deadline)
        mine = current is not None and stream == current.ident
        if mine and current is not None:
            current.seen = True
        if kind == DATA:
            self._data(flags, stream, payload, current if mine else None, deadline)
        elif kind == HEADERS:
            block, end = self._header_block(flags, stream, payload, deadline)
            try:
                fields = self.decoder.decode(block)
            except HPACKError as exc:
                raise _ProtocolError(COMPRESSION_ERROR, f"header block: {exc}") from None
            if mine and current is not None:
                if current.headers is None:
                    current.headers = fields
                elif not end:
                    raise _ProtocolError(PROTOCOL_ERROR, "trailers without END_STREAM")
                else:
                    current.trailers = fields
                current.ended = end
        elif kind == SETTINGS:
            self._settings(flags, stream, payload, current, deadline)
        elif kind == PING:
            if stream != 0 or len(payload) != 8:
                raise _ProtocolError(FRAME_SIZE_ERROR, "malformed PING")
            if not flags & ACK:
                self._control(frame(PING, ACK, 0, payload), deadline)
        elif kind == WINDOW_UPDATE:
            self._window_update(stream, payload, current)
        elif kind == RST_STREAM:
            if len(payload) != 4 or stream == 0:
                raise _ProtocolError(FRAME_SIZE_ERROR, "malformed RST_STREAM")
            if mine and current is not None:
                current.reset = int.from_bytes(payload, "big")
                current.ended = True
        elif kind == GOAWAY:
            if len(payload) < 8 or stream != 0:
                raise _ProtocolError(FRAME_SIZE_ERROR, "malformed GOAWAY")
            last = int.from_bytes(payload[:4], "big") & MAX_WINDOW
            self.going_away = last
            if current is not None and current.ident > last:
                code = int.from_bytes(payload[4:8], "big")
                raise _Refused(
                    f"unix:{self.path} closed the connection (GOAWAY {error_name(code)})"
                )
        elif kind == PUSH_PROMISE:
            raise _ProtocolError(PROTOCOL_ERROR, "PUSH_PROMISE although push is disabled")
        elif kind == CONTINUATION:
            raise _ProtocolError(PROTOCOL_ERROR, "CONTINUATION outside a header block")
        elif kind == PRIORITY and len(payload) != 5:
            raise _ProtocolError(FRAME_SIZE_ERROR, "malformed PRIORITY")
        # other types (and PRIORITY) are ignored (RFC 9113 sections 4.1 and 5.3.2)

    def _data(
        self, flags: int, stream: int, payload: bytes, current: _Stream | None, deadline: float
    ) -> None:
        if stream == 0:
            raise _ProtocolError(PROTOCOL_ERROR, "DATA on stream 0")
        size = len(payload)
        self.recv_window -= size
        if self.recv_window < 0:
            raise _ProtocolError(FLOW_CONTROL_ERROR, "DATA beyond the connection window")
        updates = b""
        self.unacked += size
        if self.unacked >= self.window // 2:
            updates += frame(WINDOW_UPDATE, 0, 0, struct.pack(">L", self.unacked))
            self.recv_window += self.unacked
            self.unacked = 0
        if current is not None:
            if current.headers is None:
                raise _ProtocolError(PROTOCOL_ERROR, "DATA before HEADERS")
            current.recv_window -= size
            if current.recv_window < 0:
                raise _ProtocolError(FLOW_CONTROL_ERROR, "DATA beyond the stream window")
            pos, end = 0, size
            if flags & PADDED:
                if not payload or payload[0] >= size:
                    raise _ProtocolError(PROTOCOL_ERROR, "DATA padding longer than the frame")
                pos, end = 1, size - payload[0]
            if end > pos:
                current.body.append(payload[pos:end] if (pos, end) != (0, size) else payload)
                current.body_len += end - pos
            current.ended = bool(flags & END_STREAM)
            current.unacked += size
            if not current.ended and current.unacked >= self.window // 2:
                updates += frame(
                    WINDOW_UPDATE, 0, current.ident, struct.pack(">L", current.unacked)
                )
                current.recv_window += current.unacked
                current.unacked = 0
        if updates:
            self._control(updates, deadline)

    def _settings(
        self, flags: int, stream: int, payload: bytes, current: _Stream | None, deadline: float
    ) -> None:
        if stream != 0:
            raise _ProtocolError(PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & ACK:
            if payload:
                raise _ProtocolError(FRAME_SIZE_ERROR, "SETTINGS acknowledgement with a payload")
            return
        if len(payload) % 6:
            raise _ProtocolError(FRAME_SIZE_ERROR, "SETTINGS length not a multiple of 6")
        self.got_settings = True
        for pos in range(0, len(payload), 6):
            ident, value = struct.unpack_from(">HL", payload, pos)
            if ident == INITIAL_WINDOW_SIZE:
                if value > MAX_WINDOW:
                    raise _ProtocolError(FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE over 2^31-1")
                if current is not None:
                    current.send_window += value - self.peer_initial_window
                self.peer_initial_window = value
            elif ident == MAX_FRAME_SIZE:
                if not DEFAULT_MAX_FRAME <= value < 1 << 24:
                    raise _ProtocolError(PROTOCOL_ERROR, f"MAX_FRAME_SIZE {value}")
                self.peer_max_frame = value
            # HEADER_TABLE_SIZE limits the peer's decoder table, which this client's
            # literal-only encoder never uses; the others do not change what it sends.
        self._control(frame(SETTINGS, ACK, 0), deadline)

    def _window_update(self, stream: int, payload: bytes, current: _Stream | None) -> None:
        if len(payload) != 4:
            raise _ProtocolError(FRAME_SIZE_ERROR, "malformed WINDOW_UPDATE")
        increment = int.from_bytes(payload, "big") & MAX_WINDOW
        if increment == 0:
            raise _ProtocolError(PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
        if stream == 0:
            self.send_window += increment
            if self.send_window > MAX_WINDOW:
                raise _ProtocolError(FLOW_CONTROL_ERROR, "connection window over 2^31-1")
        elif current is not None and stream == current.ident:
            current.send_window += increment
            if current.send_window > MAX_WINDOW:
                raise _ProtocolError(FLOW_CONTROL_ERROR, "stream window over 2^31-1")

    # -- calls ----------------------------------------------------------------------------

    def drain(self, deadline: float) -> None:
        """Handle what the peer sent while the connection was idle (PING, SETTINGS,
        GOAWAY) and notice a connection it closed."""
        while not self.closed and self.going_away is None:
            if len(self.buf) < 9:
                try:
                    self.sock.settimeout(0.0)
                    chunk = self.sock.recv(65_536)
                except BlockingIOError:
                    return
                except OSError:
                    self.closed = True
                    return
                if not chunk:
                    self.closed = True
                    return
                self.buf += chunk
                continue
            self._handle(deadline, None)

    def call(self, path: str, authority: str, message: bytes, deadline: float) -> _Stream:
        ident = self.next_stream
        self.next_stream += 2
        stream = self.active = _Stream(ident, self.peer_initial_window)
        stream.recv_window = self.window
        block = encode_headers(
            [
                (":method", "POST"),
                (":scheme", "http"),
                (":path", path),
                (":authority", authority),
                ("content-type", "application/grpc"),
                ("te", "trailers"),
                ("grpc-timeout", grpc_timeout(_remaining(deadline))),
                ("user-agent", "inspect8s"),
            ]
        )
        if len(block) > self.peer_max_frame:
            raise CallError("INTERNAL", "request headers larger than a frame")
        body = b"\x00" + struct.pack(">L", len(message)) + message
        out = frame(HEADERS, END_HEADERS, ident, block)
        sent = 0
        while True:
            allowed = min(self.send_window, stream.send_window, self.peer_max_frame)
            chunk = body[sent : sent + max(0, allowed)]
            last = sent + len(chunk) == len(body)
            if chunk or last:
                out += frame(DATA, END_STREAM if last else 0, ident, chunk)
                self.send_window -= len(chunk)
                stream.send_window -= len(chunk)
                sent += len(chunk)
            self._send(out, deadline)
            out = b""
            if last:
                break
            while not stream.ended and (self.send_window <= 0 or stream.send_window <= 0):
                self._handle(deadline, stream)  # wait for WINDOW_UPDATE
            if stream.ended:
                return stream
        while not stream.ended:
            self._handle(deadline, stream)
            if stream.body_len >= 5 and stream.headers is not None:
                _check_size(stream, self.max_message)
        return stream

    def goaway(self, code: int, deadline: float) -> None:
        """Tell the peer why the connection ends (best effort) and close it."""
        if not self.closed:
            last = max(0, self.next_stream - 2)
            try:
                self._send(frame(GOAWAY, 0, 0, struct.pack(">LL", last, code)), deadline)
            except CallError:
                pass
        self.close()

    def close(self) -> None:
        self.closed = True
        self.sock.close()


def _check_size(stream: _Stream, limit: int) -> None:
    first = stream.body[0] if len(stream.body[0]) >= 5 else b"".join(stream.body)[:5]
    length = int.from_bytes(first[1:5], "big")
    if length > limit or stream.body_len > 5 + limit:
        raise CallError(
            "RESOURCE_EXHAUSTED",
            f"answer of {max(length, stream.body_len - 5)} bytes over the limit of {limit}",
        )


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _why(exc: OSError) -> str:
    if exc.errno is not None and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


class Channel:
    """Unary gRPC calls to the server on one unix socket.

    ``max_message`` caps the size of an answer's message (bytes); ``window`` is the
    flow-control window the client grants each stream and the connection, at least
    ``max_message`` plus its 5-byte prefix so that an answer of the largest size needs no
    WINDOW_UPDATE."""

    def __init__(self, path: str, *, max_message: int, authority: str = "localhost") -> None:
        self.path = path
        self.max_message = max_message
        self.authority = authority
        self.window = min(MAX_WINDOW, max(DEFAULT_WINDOW, 2 * (max_message + 5)))
        self._conn: _Connection | None = None
        self._lock = threading.Lock()  # one call at a time on the connection

    def unary(self, method: str, message: bytes, timeout: float) -> bytes:
        """Call ``method`` (``/package.Service/Method``) with a serialized request; the
        serialized answer, or :class:`CallError`. Calls from several threads take turns
        (the deadline counts from the call, so waiting for a turn uses it too)."""
        deadline = time.monotonic() + timeout
        if not self._lock.acquire(timeout=timeout):
            raise CallError("DEADLINE_EXCEEDED", f"no answer from unix:{self.path}")
        try:
            return self._unary(method, message, deadline)
        finally:
            self._lock.release()

    def _unary(self, method: str, message: bytes, deadline: float) -> bytes:
        try:
            try:
                return self._attempt(method, message, deadline)
            except _Refused:
                pass
            try:
                return self._attempt(method, message, deadline)
            except _Refused as exc:
                raise CallError("UNAVAILABLE", exc.message) from None
        except TimeoutError:  # the deadline passed between two steps
            self._drop()
            raise CallError("DEADLINE_EXCEEDED", f"no answer from unix:{self.path}") from None

    def _attempt(self, method: str, message: bytes, deadline: float) -> bytes:
        conn = self._conn
        if conn is not None:
            try:
                conn.drain(deadline)
            except (CallError, _ProtocolError):
                conn.close()
            if conn.closed or conn.going_away is not None or conn.next_stream > MAX_WINDOW:
                conn.close()
                conn = self._conn = None
        reused = conn is not None
        if conn is None:
            conn = self._conn = _Connection(self.path, deadline, self.window, self.max_message)
        try:
            stream = conn.call(method, self.authority, message, deadline)
        except _ProtocolError as exc:
            conn.goaway(exc.code, deadline if deadline > time.monotonic() else 0.0)
            self._conn = None
            raise CallError(
                "INTERNAL", f"HTTP/2 protocol error from unix:{self.path}: {exc}"
            ) from None
        except CallError as exc:
            unanswered = conn.active is None or not conn.active.seen
            self._drop()
            if reused and exc.code == "UNAVAILABLE" and unanswered:
                raise _Refused(exc.message) from None
            raise
        except _Refused:
            self._drop()
            raise
        return _answer(stream, self.path)

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()


def _answer(stream: _Stream, path: str) -> bytes:
    if stream.reset is not None:
        code = _RESET_STATUS.get(stream.reset, "INTERNAL")
        raise CallError(code, f"stream reset by unix:{path} ({error_name(stream.reset)})")
    headers = dict(stream.headers or ())
    status = headers.get(":status")
    if status != "200":
        raise CallError("UNAVAILABLE", f"unix:{path} answered HTTP status {status}, not gRPC")
    fields = dict(stream.trailers) if stream.trailers is not None else headers
    grpc_status = fields.get("grpc-status")
    if grpc_status is None:
        raise CallError("UNKNOWN", f"the answer from unix:{path} has no grpc-status")
    if not grpc_status.isdigit():
        raise CallError("UNKNOWN", f"grpc-status {grpc_status!r} from unix:{path}")
    if grpc_status != "0":
        name = status_name(int(grpc_status))
        raise CallError(name, percent_decode(fields.get("grpc-message", "")))
    body = b"".join(stream.body)
    if len(body) < 5:
        raise CallError("INTERNAL", f"the answer from unix:{path} holds no message")
    if body[0] != 0:
        raise CallError("INTERNAL", f"the answer from unix:{path} is compressed")
    length = int.from_bytes(body[1:5], "big")
    if len(body) != 5 + length:
        raise CallError("INTERNAL", f"the answer from unix:{path} is not one whole message")
    return body[5:]
