"""Error kinds, the exceptions inspect8s raises, the record the snapshot keeps, exit statuses.

Sources raise :class:`ProbeFailed`; only ``inspect8s.collect`` turns it into a
:class:`ProbeError` that every renderer shows. An :class:`Inspect8sError` ends a whole
command (or library call); :func:`describe_failure` is the one place that says which
:class:`ExitStatus` and which one-line message any exception ends a command with.
"""

from __future__ import annotations

import errno
import socket
from enum import IntEnum, StrEnum

from inspect8s.model.frozen import frozen


class ExitStatus(IntEnum):
    """How a command ends (docs/exit-codes.md); only the CLI exits, the library raises."""

    OK = 0  # success; no finding at or above --fail-on
    FINDINGS = 1  # findings at or above --fail-on
    USAGE = 2  # bad option or value, unknown pod, PID or file
    INCOMPLETE = 3  # with --require-complete: a probe failed or a check was skipped
    TOOL_ERROR = 4  # nothing could be collected, a plugin failed to load, the API refused
    INTERRUPTED = 130  # Ctrl-C
    BROKEN_PIPE = 141  # the reader of standard output went away (`inspect8s ... | head`)


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


@frozen
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
    """An error that ends a whole command or library call.

    ``exit_code`` is the :class:`ExitStatus` the CLI ends with: 2 usage (bad or unknown
    argument), 4 tool error (nothing could be collected, a plugin failed to load).
    ``param`` names the library parameter the error is about (``"bundle"``,
    ``"kubeconfig"``, ``"timeout"``...; None: none in particular): messages never name a
    command-line flag, the CLI adds the flag that sets ``param``.
    """

    exit_code: ExitStatus = ExitStatus.TOOL_ERROR

    def __init__(
        self, message: str, *, param: str | None = None, exit_code: ExitStatus | None = None
    ) -> None:
        super().__init__(message)
        self.param = param
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(Inspect8sError):
    """The caller asked for something that cannot be: bad value, unknown pod or PID."""

    exit_code = ExitStatus.USAGE


class NotFoundError(UsageError):
    """The pod, PID, container or file asked for does not exist."""


def describe_failure(exc: BaseException) -> tuple[ExitStatus, str]:
    """The exit status and the one-line message of a command that raised ``exc``.

    The message names no command-line flag (the CLI adds one for ``Inspect8sError.param``)
    and, for an unexpected exception, says that it is one.
    """
    if isinstance(exc, Inspect8sError):
        return exc.exit_code, f"error: {exc}"
    if isinstance(exc, ProbeFailed):
        return (
            ExitStatus.TOOL_ERROR,
            f"error: could not read {exc.source}: {exc.kind.value}: {exc.detail}",
        )
    if isinstance(exc, KeyboardInterrupt):
        return ExitStatus.INTERRUPTED, "interrupted"
    if isinstance(exc, BrokenPipeError):
        return ExitStatus.BROKEN_PIPE, ""
    return ExitStatus.TOOL_ERROR, f"internal error: {type(exc).__name__}: {exc}"
