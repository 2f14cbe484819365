"""``/proc/<pid>/mountinfo`` parsing.

Format (proc(5), Documentation/filesystems/proc.rst "3.5 /proc/<pid>/mountinfo")::

    36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    (1)(2)(3)   (4)   (5)      (6)     (7)   (8) (9)   (10)         (11)

(7) is zero or more optional fields ended by a lone ``-``. The kernel escapes space, tab,
newline and backslash in paths as octal ``\\040``, ``\\011``, ``\\012``, ``\\134``
(``show_mountinfo`` -> ``seq_path_root`` / ``mangle``).
"""

from __future__ import annotations

import re

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model import Mount

_OCTAL = re.compile(r"\\([0-7]{3})")


def unescape(field: str) -> str:
    """Undo the kernel's octal escapes (``\\040`` -> space)."""
    if "\\" not in field:
        return field
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo_line(line: str, source: str) -> Mount:
    """One mountinfo line -> Mount; raises ProbeFailed(MALFORMED) on a bad line."""
    fields = line.split(" ")
    try:
        sep = fields.index("-", 6)
    except ValueError:
        raise ProbeFailed(
            ErrorKind.MALFORMED, source, f"no ' - ' separator in mountinfo line {line!r}"
        ) from None
    if sep + 3 > len(fields):
        raise ProbeFailed(ErrorKind.MALFORMED, source, f"short mountinfo line {line!r}")
    try:
        mount_id = int(fields[0])
        parent_id = int(fields[1])
    except ValueError:
        raise ProbeFailed(
            ErrorKind.MALFORMED, source, f"mount ids are not numbers in {line!r}"
        ) from None
    super_opts = fields[sep + 3] if len(fields) > sep + 3 else ""
    return Mount(
        mount_id=mount_id,
        parent_id=parent_id,
        major_minor=fields[2],
        root=unescape(fields[3]),
        mount_point=unescape(fields[4]),
        options=tuple(fields[5].split(",")),
        fs_type=fields[sep + 1],
        source=unescape(fields[sep + 2]),
        super_options=tuple(super_opts.split(",")) if super_opts else (),
    )


def parse_mountinfo(text: str, source: str = "host:/proc/self/mountinfo") -> tuple[Mount, ...]:
    """A whole mountinfo file -> mounts in file order; any bad line raises MALFORMED."""
    return tuple(parse_mountinfo_line(line, source) for line in text.splitlines() if line)


def read_mountinfo(fs: HostFS, pid: int | str = "self") -> tuple[Mount, ...]:
    """Read and parse ``/proc/<pid>/mountinfo`` under the root."""
    path = f"/proc/{pid}/mountinfo"
    return parse_mountinfo(fs.read_text(path), f"host:{path}")
