"""Error kinds, the exception sources raise, and the record the snapshot keeps.

Sources raise :class:`ProbeFailed`; only ``inspect8s.collect`` (and the command layer for
whole-command failures) turns it into a :class:`ProbeError` that every renderer shows.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    """Why a probe could not answer."""

    PERMISSION = "permission"  # EACCES/EPERM, HTTP 401/403, gRPC PERMISSION_DENIED
    MISSING = "missing"  # ENOENT/ESRCH, HTTP 404, gRPC NOT_FOUND
    TIMEOUT = "timeout"  # a deadline passed
    UNAVAILABLE = "unavailable"  # nobody listening, connection refused, 5xx, UNIMPLEMENTED
    MALFORMED = "malformed"  # the data was there but could not be parsed


_ERRNO_KINDS: dict[int, ErrorKind] = {
    errno.EACCES: ErrorKind.PERMISSION,
    errno.EPERM: ErrorKind.PERMISSION,
    errno.ENOENT: ErrorKind.MISSING,
    errno.ESRCH: ErrorKind.MISSING,
    errno.ENOTDIR: ErrorKind.MISSING,
    errno.ETIMEDOUT: ErrorKind.TIMEOUT,
    errno.ECONNREFUSED: ErrorKind.UNAVAILABLE,
    errno.ECONNRESET: ErrorKind.UNAVAILABLE,
    errno.ENOTSOCK: ErrorKind.UNAVAILABLE,
    errno.EISDIR: ErrorKind.MALFORMED,
    errno.EINVAL: ErrorKind.MALFORMED,
    # A link loop, or (inside a --root) a link that leads back to itself once kept inside
    # the root: /etc/os-release -> /etc/os-release of another machine.
    errno.ELOOP: ErrorKind.MALFORMED,
}


def kind_from_oserror(exc: OSError) -> ErrorKind:
    """Map an OSError to an ErrorKind (anything unknown counts as unavailable)."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return ErrorKind.TIMEOUT
    if exc.errno is None:
        return ErrorKind.UNAVAILABLE
    return _ERRNO_KINDS.get(exc.errno, ErrorKind.UNAVAILABLE)


def kind_from_http_status(status: int) -> ErrorKind:
    """Map an HTTP status of a failed request to an ErrorKind."""
    if status in (401, 403):
        return ErrorKind.PERMISSION
    if status in (404, 410):
        return ErrorKind.MISSING
    if status in (408, 504):
        return ErrorKind.TIMEOUT
    if 400 <= status < 500:
        return ErrorKind.MALFORMED
    return ErrorKind.UNAVAILABLE


class ProbeFailed(Exception):
    """A source could not read what it was asked for.

    ``source`` names what was read ("host:/proc/42/cgroup", "cri:ContainerStatus",
    "api:GET /api/v1/pods"); ``detail`` is one human line.
    """

    def __init__(self, kind: ErrorKind, source: str, detail: str) -> None:
        super().__init__(f"{source}: {kind.value}: {detail}")
        self.kind = kind
        self.source = source
        self.detail = detail

    def record(self) -> ProbeError:
        """The record the snapshot keeps for this failure."""
        return ProbeError(kind=self.kind, source=self.source, detail=self.detail)


@dataclass(frozen=True, slots=True)
class ProbeError:
    """A probe that failed, as shown to the user: "could not check SOURCE: DETAIL"."""

    kind: ErrorKind
    source: str
    detail: str

    def line(self) -> str:
        return f"{self.source}: {self.kind.value}: {self.detail}"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind.value, "source": self.source, "detail": self.detail}


class Inspect8sError(Exception):
    """An error that ends a whole command; ``cli.py`` maps it to an exit code.

    ``exit_code`` follows docs/exit-codes.md: 2 usage (bad or unknown argument),
    4 tool error (nothing could be collected, a plugin failed to load).
    """

    exit_code = 4

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(Inspect8sError):
    """The user asked for something that cannot be: bad option value, unknown pod or PID."""

    exit_code = 2


class NotFoundError(UsageError):
    """The pod, PID or container named on the command line does not exist."""
