"""Runtime endpoints as daemons, the kubelet and users write them; the one parser.

Accepted spellings (CRI: the kubelet's and crictl's; Docker: ``DOCKER_HOST`` and dockerd's
``-H``): ``unix:///run/x.sock``, ``unix:/run/x.sock``, a bare ``/run/x.sock``. TCP endpoints
(``tcp://host:port``, ``host:port``, ``http(s)://``), Windows named pipes (``npipe://``) and
systemd socket activation (``fd://``) name no socket on this node's filesystem: inspect8s
reads runtimes through their local unix sockets only, and says so.
"""

from __future__ import annotations

import re

from inspect8s.errors import UsageError
from inspect8s.model.frozen import frozen

_HOST_PORT = re.compile(r"^\[?[A-Za-z0-9.:-]+\]?:\d+$")


@frozen
class ParsedEndpoint:
    """One endpoint string, understood."""

    text: str  # as written
    scheme: str  # "unix" | "tcp" | "npipe" | "fd" | "unknown"
    path: str | None  # the unix socket's absolute path; None for other schemes

    @property
    def is_unix(self) -> bool:
        return self.path is not None


def parse_endpoint(text: str) -> ParsedEndpoint:
    """Classify an endpoint string; pure, never raises."""
    value = text.strip()
    for prefix in ("unix://", "unix:"):
        if value.startswith(prefix):
            rest = value[len(prefix) :]
            if rest.startswith("/"):
                return ParsedEndpoint(text, "unix", rest)
            return ParsedEndpoint(text, "unknown", None)
    if value.startswith("/"):
        return ParsedEndpoint(text, "unix", value)
    lowered = value.lower()
    if lowered.startswith(("tcp://", "http://", "https://", "grpc://")) or _HOST_PORT.match(value):
        return ParsedEndpoint(text, "tcp", None)
    if lowered.startswith("npipe://"):
        return ParsedEndpoint(text, "npipe", None)
    if lowered.startswith("fd://"):
        return ParsedEndpoint(text, "fd", None)
    return ParsedEndpoint(text, "unknown", None)


def unix_path(text: str) -> str | None:
    """The socket path of a unix endpoint; None for any other kind."""
    return parse_endpoint(text).path


def strip_unix(endpoint: str) -> str:
    """``unix:///run/x.sock`` -> ``/run/x.sock``; strings that are no unix endpoint unchanged."""
    return unix_path(endpoint) or endpoint


def why_not_unix(parsed: ParsedEndpoint) -> str:
    """One line saying why a non-unix endpoint cannot be inspected."""
    if parsed.scheme == "tcp":
        return (
            f"{parsed.text!r} is a TCP endpoint; inspect8s reads runtimes on this node "
            "through their unix sockets only (give the socket path, e.g. unix:///run/x.sock)"
        )
    if parsed.scheme == "fd":
        return f"{parsed.text!r} is systemd socket activation; give the socket's path instead"
    if parsed.scheme == "npipe":
        return f"{parsed.text!r} is a Windows named pipe; inspect8s reads Linux nodes only"
    return f"{parsed.text!r} is not a socket path (expected unix:///path or /path)"


def require_unix(text: str, what: str, param: str | None = None) -> str:
    """The socket path of a user-given endpoint; UsageError (exit 2) for anything else.
    ``what`` names the endpoint in the message ("CRI endpoint", "Docker host"); ``param``
    the library parameter that gave it."""
    parsed = parse_endpoint(text)
    if parsed.path is None:
        raise UsageError(f"{what} {why_not_unix(parsed)}", param=param)
    return parsed.path
