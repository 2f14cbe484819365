"""Pure parsers for ``/proc/<pid>/{stat,status,cmdline,ns/*}`` and a one-process reader.

Formats are the kernel's (proc(5); Documentation/filesystems/proc.rst). Every parser takes
the raw text and the ``host:<path>`` it came from, and raises
``ProbeFailed(ErrorKind.MALFORMED, source, ...)`` on input it cannot read; nothing else.
The whole-host scan lives in :mod:`inspect8s.host.scan`.
"""

from __future__ import annotations

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model import NAMESPACE_TYPES
from inspect8s.model.frozen import frozen

# include/linux/sched.h: PF_KTHREAD, bit of the "flags" field (9th) of /proc/<pid>/stat.
PF_KTHREAD = 0x00200000


@frozen
class StatFields:
    """The fields of ``/proc/<pid>/stat`` the scan uses."""

    pid: int
    comm: str
    state: str
    ppid: int
    flags: int
    num_threads: int
    start_time_ticks: int  # clock ticks after boot (field 22)

    @property
    def is_kernel_thread(self) -> bool:
        return bool(self.flags & PF_KTHREAD)


@frozen
class StatusFields:
    """The fields of ``/proc/<pid>/status`` the checks use; None: the line was absent."""

    name: str | None
    uid: int | None  # effective uid (second value of "Uid:")
    cap_eff: int | None
    seccomp_mode: int | None  # 0 disabled, 1 strict, 2 filter; None: kernel without seccomp
    no_new_privs: bool | None  # None: kernel older than 4.10
    threads: int | None
    nspid: tuple[int, ...]  # "NSpid:" outermost first; () when absent (kernel < 4.1)


def _malformed(source: str, detail: str) -> ProbeFailed:
    return ProbeFailed(ErrorKind.MALFORMED, source, detail)


def stat_tuple(text: str, source: str) -> tuple[int, str, str, int, int, int, int]:
    """``/proc/<pid>/stat`` -> ``(pid, comm, state, ppid, flags, num_threads, starttime)``;
    the allocation-light form the host scan uses. See :func:`parse_stat`."""
    open_at = text.find("(")
    close_at = text.rfind(")")
    if open_at < 0 or close_at < open_at:
        raise _malformed(source, "no '(comm)' in stat")
    rest = text[close_at + 2 :].split(" ", 20)
    if len(rest) < 20:
        raise _malformed(source, f"stat has {len(rest) + 2} fields, expected at least 22")
    try:
        return (
            int(text[:open_at]),
            text[open_at + 1 : close_at],
            rest[0],
            int(rest[1]),
            int(rest[6]),
            int(rest[17]),
            int(rest[19]),
        )
    except ValueError as exc:
        raise _malformed(source, f"non-numeric stat field: {exc}") from None


def parse_stat(text: str, source: str) -> StatFields:
    """``/proc/<pid>/stat``. ``comm`` is in parentheses and may itself hold spaces and
    parentheses ("(sd-pam)", "(a) b)"), so split at the *last* ')'."""
    return StatFields(*stat_tuple(text, source))


def _int_field(key: str, value: str, source: str, base: int = 10) -> int:
    try:
        return int(value, base)
    except ValueError:
        raise _malformed(source, f"{key}: {value!r} is not a number") from None


def parse_status(text: str, source: str) -> StatusFields:
    """``/proc/<pid>/status``: ``Key:<TAB>value`` lines. Unknown keys are ignored; a key
    this parser needs with a value it cannot read raises MALFORMED."""
    name = uid = cap_eff = seccomp = threads = None
    nnp: bool | None = None
    nspid: tuple[int, ...] = ()
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            if line.strip():
                raise _malformed(source, f"status line without ':': {line!r}")
            continue
        value = value.strip()
        if key == "Name":
            name = value
        elif key == "Uid":
            ids = value.split()
            if len(ids) != 4:
                raise _malformed(source, f"Uid: expected 4 values, got {value!r}")
            uid = _int_field(key, ids[1], source)
        elif key == "CapEff":
            cap_eff = _int_field(key, value, source, 16)
        elif key == "Seccomp":
            seccomp = _int_field(key, value, source)
        elif key == "NoNewPrivs":
            nnp = _int_field(key, value, source) != 0
        elif key == "Threads":
            threads = _int_field(key, value, source)
        elif key == "NSpid":
            nspid = tuple(_int_field(key, v, source) for v in value.split())
    return StatusFields(name, uid, cap_eff, seccomp, nnp, threads, nspid)


def parse_cmdline(raw: bytes) -> tuple[str, ...]:
    """``/proc/<pid>/cmdline``: NUL-separated argv, usually with a trailing NUL.

    Empty for kernel threads and zombies. A process that rewrote its argv (setproctitle)
    may leave one space-separated string; it is returned as is. Never malformed.
    """
    if not raw:
        return ()
    if raw.endswith(b"\0"):
        raw = raw[:-1]
    return tuple(raw.decode("utf-8", "replace").split("\0"))


def parse_ns_link(text: str, source: str) -> tuple[str, int]:
    """A namespace link target ``net:[4026531840]`` -> ``("net", 4026531840)``.

    The inode is taken from the link text (no stat), which is what the kernel prints
    (fs/nsfs.c ``ns_get_name``).
    """
    kind, sep, rest = text.partition(":[")
    if not sep or not rest.endswith("]") or not kind:
        raise _malformed(source, f"not a namespace link: {text!r}")
    try:
        return kind, int(rest[:-1])
    except ValueError:
        raise _malformed(source, f"namespace inode is not a number: {text!r}") from None


def read_status(fs: HostFS, pid: int) -> StatusFields:
    """Read and parse ``/proc/<pid>/status`` (ProbeFailed on any failure)."""
    path = f"/proc/{pid}/status"
    return parse_status(fs.read_text(path), f"host:{path}")


def read_namespaces(fs: HostFS, pid: int | str) -> tuple[dict[str, int], dict[str, ProbeFailed]]:
    """The namespace inodes of one process: ``({type: inode}, {type: failure})``.

    A link that does not exist (``time`` before Linux 5.6) is left out of both.
    Raises ProbeFailed if ``/proc/<pid>/ns`` cannot be opened.
    """
    ns_dir = f"/proc/{pid}/ns"
    targets, failed = fs.readlinks(ns_dir, NAMESPACE_TYPES)
    inodes: dict[str, int] = {}
    failures = {k: v for k, v in failed.items() if v.kind is not ErrorKind.MISSING}
    for kind, target in targets.items():
        try:
            inodes[kind] = parse_ns_link(target, f"host:{ns_dir}/{kind}")[1]
        except ProbeFailed as exc:
            failures[kind] = exc
    return inodes, failures
