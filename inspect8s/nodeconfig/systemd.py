"""systemd unit files and how they become a service's command line.

Syntax (systemd.syntax(7), systemd.unit(5), systemd.service(5), systemd.exec(5)):

* ``[Section]`` headers, ``Key=value`` lines, comments starting with ``#`` or ``;``, a
  trailing backslash joins the next line (the backslash becomes a space).
* A unit is read from the first of the unit directories that holds it; drop-ins
  ``<unit>.d/*.conf`` from every unit directory are applied after it, sorted by file name,
  a drop-in in a higher-priority directory masking one of the same name below.
* ``ExecStart=`` with an empty value resets the list (kubeadm's 10-kubeadm.conf does this).
* ``Environment=`` holds space-separated, optionally quoted ``NAME=value`` words;
  ``EnvironmentFile=`` (``-`` prefix: may be absent) is read after them and wins.
* In the command line, a word that is exactly ``$NAME`` expands to the variable's value
  split at whitespace (no word when empty); ``${NAME}`` inside a word expands in place.
"""

from __future__ import annotations

import re
import shlex

from inspect8s.errors import ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model.frozen import frozen
from inspect8s.nodeconfig._parse import malformed, read_config
from inspect8s.nodeconfig.envfile import parse_env_file

# Highest priority first (systemd.unit(5) "Unit File Load Path", system manager).
UNIT_DIRS: tuple[str, ...] = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)

_EXEC_PREFIX = "-@+!:"
_VAR_WORD = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_VAR_BRACED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@frozen
class UnitDirective:
    section: str
    key: str
    value: str
    path: str
    line: int


@frozen
class Word:
    """One argument of a command line and where it came from."""

    text: str
    source: str  # host path, or "cmdline" for a running process's argument
    line: int | None
    origin: str = ""  # "unit" | "unit-drop-in" | "env-file" | "cmdline"; "": from ``source``
    variable: str | None = None  # the $VARIABLE that carried it; None: written in ExecStart=


def unit_origin(path: str) -> str:
    """ "unit-drop-in" for ``<unit>.d/*.conf`` files, else "unit"."""
    return "unit-drop-in" if ".d/" in path else "unit"


@frozen
class ServiceCommand:
    """A service's ``ExecStart`` after expansion, with the files that shaped it."""

    argv: tuple[Word, ...]
    unit_files: tuple[str, ...]
    env_files: tuple[str, ...]


def parse_unit(text: str, path: str) -> list[UnitDirective]:
    """Parse a unit file or drop-in into its directives, in order."""
    out: list[UnitDirective] = []
    section = ""
    pending = ""
    pending_line = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if pending:
            stripped = raw.strip()
            if stripped.startswith(("#", ";")):
                continue  # comments inside a continuation are skipped (systemd.syntax)
            joined = pending + " " + stripped
            start = pending_line
        else:
            stripped = raw.strip()
            if not stripped or stripped.startswith(("#", ";")):
                continue
            joined = stripped
            start = number
        if joined.endswith("\\"):
            pending, pending_line = joined[:-1].rstrip(), start
            continue
        pending = ""
        if joined.startswith("["):
            if not joined.endswith("]"):
                raise malformed(path, f"bad section header {joined[:40]!r}", start)
            section = joined[1:-1]
            continue
        key, sep, value = joined.partition("=")
        if not sep:
            raise malformed(path, f"expected Key=value, found {joined[:40]!r}", start)
        out.append(UnitDirective(section, key.strip(), value.strip(), path, start))
    if pending:
        out.append(_finish(pending, section, path, pending_line))
    return out


def _finish(joined: str, section: str, path: str, line: int) -> UnitDirective:
    key, sep, value = joined.partition("=")
    if not sep:
        raise malformed(path, "file ends inside a continued line", line)
    return UnitDirective(section, key.strip(), value.strip(), path, line)


def unit_files(fs: HostFS, unit: str) -> list[str]:
    """The host paths of ``unit`` and its drop-ins, in the order systemd applies them."""
    files: list[str] = []
    for directory in UNIT_DIRS:
        candidate = f"{directory}/{unit}"
        if fs.exists(candidate):
            files.append(candidate)
            break
    by_name: dict[str, str] = {}
    for directory in UNIT_DIRS:
        for drop_in in fs.glob_dir(f"{directory}/{unit}.d", ".conf"):
            by_name.setdefault(drop_in.rsplit("/", 1)[1], drop_in)
    files.extend(by_name[name] for name in sorted(by_name))
    return files


def _split_words(value: str, path: str, line: int) -> list[str]:
    try:
        return shlex.split(value, comments=False, posix=True)
    except ValueError as exc:
        raise malformed(path, f"cannot split {value[:40]!r}: {exc}", line) from None


def resolve_service(fs: HostFS, unit: str, errors: list[ProbeFailed]) -> ServiceCommand | None:
    """Read ``unit`` and its drop-ins and expand its last ``ExecStart``.

    None when the unit has no file or no ExecStart. A malformed unit, drop-in or
    environment file is appended to ``errors`` and skipped, as the rest still says
    something true about the service.
    """
    paths = unit_files(fs, unit)
    if not paths:
        return None
    directives: list[UnitDirective] = []
    read: list[str] = []
    for path in paths:
        try:
            text = read_config(fs, path)
        except ProbeFailed as exc:
            errors.append(exc)
            continue
        if text is None:
            continue
        try:
            directives.extend(parse_unit(text, path))
        except ProbeFailed as exc:
            errors.append(exc)
            continue
        read.append(path)

    exec_start: UnitDirective | None = None
    env: dict[str, Word] = {}
    env_file_specs: list[UnitDirective] = []
    for d in directives:
        if d.section != "Service":
            continue
        if d.key == "ExecStart":
            exec_start = d if d.value else None
        elif d.key == "Environment":
            if not d.value:
                env.clear()
                continue
            try:
                words = _split_words(d.value, d.path, d.line)
            except ProbeFailed as exc:
                errors.append(exc)
                continue
            for word in words:
                name, sep, val = word.partition("=")
                if sep:
                    env[name] = Word(val, d.path, d.line, unit_origin(d.path), name)
        elif d.key == "EnvironmentFile":
            if d.value:
                env_file_specs.append(d)
            else:
                env_file_specs.clear()

    env_files: list[str] = []
    for spec in env_file_specs:
        optional = spec.value.startswith("-")
        file_path = spec.value[1:] if optional else spec.value
        if not file_path.startswith("/"):
            errors.append(
                malformed(spec.path, f"EnvironmentFile= not absolute: {file_path}", spec.line)
            )
            continue
        try:
            text = read_config(fs, file_path)
        except ProbeFailed as exc:
            errors.append(exc)
            continue
        if text is None:
            if not optional:
                errors.append(
                    malformed(spec.path, f"EnvironmentFile={file_path} is missing", spec.line)
                )
            continue
        try:
            parsed = parse_env_file(text, file_path)
        except ProbeFailed as exc:
            errors.append(exc)
            continue
        env_files.append(file_path)
        for name, assignment in parsed.items():
            env[name] = Word(assignment.value, file_path, assignment.line, "env-file", name)

    if exec_start is None:
        return ServiceCommand((), tuple(read), tuple(env_files))
    return ServiceCommand(
        tuple(expand_exec(exec_start, env, errors)), tuple(read), tuple(env_files)
    )


def expand_exec(
    directive: UnitDirective, env: dict[str, Word], errors: list[ProbeFailed]
) -> list[Word]:
    """Split an ``ExecStart=`` value and expand ``$NAME`` / ``${NAME}`` from ``env``."""
    value = directive.value
    while value and value[0] in _EXEC_PREFIX:
        value = value[1:]
    try:
        words = _split_words(value, directive.path, directive.line)
    except ProbeFailed as exc:
        errors.append(exc)
        return []
    out: list[Word] = []
    here = unit_origin(directive.path)
    for word in words:
        whole = _VAR_WORD.match(word)
        if whole:
            var = env.get(whole.group(1))
            if var is not None:
                out.extend(
                    Word(part, var.source, var.line, var.origin, var.variable)
                    for part in var.text.split()
                )
            continue
        if "${" in word:
            sources = [env[m.group(1)] for m in _VAR_BRACED.finditer(word) if m.group(1) in env]
            text = _VAR_BRACED.sub(
                lambda m: env[m.group(1)].text if m.group(1) in env else "", word
            )
            src = sources[0] if len(sources) == 1 else None
            out.append(
                Word(text, src.source, src.line, src.origin, src.variable)
                if src is not None
                else Word(text, directive.path, directive.line, here)
            )
            continue
        out.append(Word(word, directive.path, directive.line, here))
    return out
