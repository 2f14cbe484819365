"""Shared helpers for the configuration parsers: decoding, YAML/TOML/JSON with line numbers.

Every helper is pure (text in, data out) and raises only
:class:`~inspect8s.errors.ProbeFailed` with kind ``MALFORMED`` and source
``host:<path>``; the detail says what was wrong and, where it is known, ``line N``.
"""

from __future__ import annotations

import json
import tomllib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS

# Configuration files are small; anything past this is not a configuration file.
MAX_CONFIG_BYTES = 4 << 20


def malformed(path: str, what: str, line: int | None = None) -> ProbeFailed:
    """The error for a file that is there but cannot be understood."""
    detail = what if line is None else f"{what}, line {line}"
    return ProbeFailed(ErrorKind.MALFORMED, f"host:{path}", detail)


def decode(data: bytes, path: str) -> str:
    """Decode a configuration file as UTF-8 (the kubelet, containerd, CRI-O and dockerd all
    read UTF-8); an undecodable byte or a NUL is an error naming its line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise malformed(path, "not UTF-8 text", line) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    nul = text.find("\0")
    if nul >= 0:
        raise malformed(path, "binary data (NUL byte)", text.count("\n", 0, nul) + 1)
    return text


def read_config(fs: HostFS, path: str) -> str | None:
    """Read a configuration file through ``fs``: ``None`` when it is absent (not a source);
    a directory where the file should be, unreadable or undecodable content raise."""
    if fs.is_dir(path):
        raise malformed(path, "a directory where a file should be")
    try:
        data = fs.read_bytes(path, limit=MAX_CONFIG_BYTES + 1)
    except ProbeFailed as exc:
        if exc.kind is ErrorKind.MISSING:
            return None
        raise
    if len(data) > MAX_CONFIG_BYTES:
        raise malformed(path, f"larger than {MAX_CONFIG_BYTES} bytes; not a configuration file")
    return decode(data, path)


# --------------------------------------------------------------------------- YAML


def load_yaml_mapping(text: str, path: str) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    """Parse one YAML document that must be a mapping (or empty).

    Returns the mapping and the 1-based line of each key, by its path of keys
    (``("authentication", "x509", "clientCAFile")``). PyYAML raises
    ``ValueError`` for impossible timestamps (``2001-13-40``) and ``RecursionError`` for
    absurd nesting; both are reported like syntax errors.
    """
    import yaml

    try:
        # The reader checks for non-printable characters as it is built.
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        what, line = _yaml_error(exc, text)
        raise malformed(path, f"invalid YAML: {what}", line) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        _check_graph(node, path)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        what, line = _yaml_error(exc, text)
        raise malformed(path, f"invalid YAML: {what}", line) from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise malformed(path, f"invalid YAML value: {type(exc).__name__}") from None
    finally:
        loader.dispose()
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise malformed(path, f"expected a mapping, found {type(data).__name__}", 1)
    lines: dict[tuple[str, ...], int] = {}
    _index_yaml(node, (), lines, 0)
    return {str(k): v for k, v in data.items()}, lines


_YAML_MAX_DEPTH = 64
_YAML_MAX_NODES = 100_000


def _check_graph(root: yaml.Node, path: str) -> None:
    """Refuse alias cycles (``&a [*a]``), absurd depth and alias bombs (a few lines that
    expand to millions of nodes) before anything walks the constructed data."""
    import yaml

    visits = 0

    def walk(node: yaml.Node, depth: int) -> None:
        nonlocal visits
        visits += 1
        if visits > _YAML_MAX_NODES:
            raise malformed(path, "YAML expands to too many nodes (alias bomb?)")
        if depth > _YAML_MAX_DEPTH:
            raise malformed(
                path, "YAML nested too deeply or refers to itself", node.start_mark.line + 1
            )
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(key, depth + 1)
                walk(value, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item, depth + 1)

    walk(root, 0)


def _yaml_error(exc: yaml.YAMLError, text: str) -> tuple[str, int | None]:
    """A one-line description of a PyYAML error and its 1-based line, if known."""
    import yaml

    if isinstance(exc, yaml.reader.ReaderError):
        # For str input the reader's position is an index into the text.
        line = text.count("\n", 0, max(int(exc.position), 0)) + 1
        return f"character #x{exc.character:04x}: {exc.reason}", line
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    return str(problem), (int(mark.line) + 1 if mark is not None else None)


def _index_yaml(
    node: yaml.Node, prefix: tuple[str, ...], out: dict[tuple[str, ...], int], depth: int
) -> None:
    """Record the 1-based line of every mapping key, by its path of keys."""
    import yaml

    if depth > 50 or not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            path = (*prefix, str(key_node.value))
            out.setdefault(path, key_node.start_mark.line + 1)
            _index_yaml(value_node, path, out, depth + 1)


# --------------------------------------------------------------------------- TOML


def load_toml(text: str, path: str) -> dict[str, Any]:
    """Parse TOML with the standard library; the error names the line tomllib reports."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        line = None
        marker = "(at line "
        at = msg.rfind(marker)
        if at >= 0:
            digits = msg[at + len(marker) :].split(",", 1)[0]
            if digits.isdigit():
                line = int(digits)
            msg = msg[:at].rstrip()
        elif "(at end of document)" in msg:
            line = text.count("\n") + 1
            msg = msg.replace("(at end of document)", "").rstrip()
        raise malformed(path, f"invalid TOML: {msg}", line) from None
    except RecursionError:
        raise malformed(path, "invalid TOML: nested too deeply") from None


def _split_key(raw: str) -> tuple[str, ...] | None:
    """Split a TOML dotted key (``a."b.c".'d'``) into its parts; None if it is not one."""
    parts: list[str] = []
    i, n = 0, len(raw)
    while True:
        while i < n and raw[i] in " \t":
            i += 1
        if i >= n:
            return None
        ch = raw[i]
        if ch in "\"'":
            end = raw.find(ch, i + 1)
            while ch == '"' and end > 0 and raw[end - 1] == "\\":
                end = raw.find(ch, end + 1)
            if end < 0:
                return None
            parts.append(raw[i + 1 : end])
            i = end + 1
        else:
            start = i
            while i < n and (raw[i].isalnum() or raw[i] in "-_"):
                i += 1
            if i == start:
                return None
            parts.append(raw[start:i])
        while i < n and raw[i] in " \t":
            i += 1
        if i >= n:
            return tuple(parts)
        if raw[i] != ".":
            return None
        i += 1


def _key_end(line: str) -> int:
    """Index of the ``=`` that ends a key, skipping quoted parts; -1 if none."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "=":
            return i
        elif ch == "#":
            return -1
    return -1


def toml_key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map every table header and key of a TOML text to its 1-based line.

    tomllib keeps no positions, so this scans the text: it tracks the current
    ``[table]`` / ``[[array]]`` header, splits its dotted, quoted path, and joins it with
    each ``key = ...`` line (dotted keys too). Lines inside multi-line strings are
    skipped. Keys inside inline tables or after the first line of a multi-line array
    are not indexed; :func:`line_of` falls back to the nearest indexed parent. The
    first occurrence of a path wins (TOML forbids redefinition anyway).
    """
    out: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    in_string = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if in_string:
            if in_string in line:
                in_string = ""
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            inner = line[2:] if line.startswith("[[") else line[1:]
            close = inner.find("]")
            if close < 0:
                continue
            parts = _split_key(inner[:close])
            if parts is not None:
                table = parts
                out.setdefault(table, number)
            continue
        eq = _key_end(line)
        if eq <= 0:
            continue
        parts = _split_key(line[:eq])
        if parts is None:
            continue
        out.setdefault(table + parts, number)
        rest = line[eq + 1 :].lstrip()
        for delim in ('"""', "'''"):
            if rest.startswith(delim) and rest.count(delim) == 1:
                in_string = delim
    return out


def line_of(index: dict[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    """The line of ``path`` or, failing that, of its nearest indexed parent table/key."""
    for end in range(len(path), 0, -1):
        found = index.get(path[:end])
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- JSON


def load_json_object(text: str, path: str) -> dict[str, Any]:
    """Parse a JSON document that must be an object."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise malformed(path, f"invalid JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise malformed(path, "invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise malformed(path, f"expected a JSON object, found {type(data).__name__}", 1)
    return data


def json_key_lines(text: str, keys: list[str]) -> dict[str, int]:
    """The 1-based line of each top-level key of a JSON object, found by scanning for
    ``"key"`` followed by ``:`` (json keeps no positions). Keys not found are left out."""
    out: dict[str, int] = {}
    lines = text.splitlines()
    for key in keys:
        needle = json.dumps(key)
        for number, line in enumerate(lines, start=1):
            at = line.find(needle)
            if at >= 0 and line[at + len(needle) :].lstrip().startswith(":"):
                out[key] = number
                break
    return out
