"""Text from outside, made safe to show a person: no control character reaches a terminal.

Container names, namespaces, labels, process ``comm``, file contents and API error messages
come from a node or a cluster, not from inspect8s. Printed raw, ``\\x1b[2J`` clears the
screen, ``\\x1b]0;...\\x07`` retitles the window, ``\\x1b]8;;...`` plants a link, a CR
overwrites the line, and U+202E reverses the text after it. Every human output (tables,
stderr messages) passes what it shows through :func:`escape` (one value: every control
character escaped, line breaks included) or :class:`EscapingWriter` (a whole text: line
breaks kept). JSON and YAML stay exact: their own escaping keeps every character.

Escaped forms are Python's: ``\\x1b``, ``\\n``, ``\\u202e``; a backslash itself is left
as it is, so ordinary Windows paths and regexes read normally.
"""

from __future__ import annotations

import re
from typing import TextIO

# C0 controls, DEL, C1 controls (0x9b is a one-byte CSI), the bidirectional overrides and
# isolates (Unicode TR9; "Trojan Source", CVE-2021-42574), line/paragraph separators,
# and lone surrogates (undecodable bytes kept by surrogateescape).
_OTHERS = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(f"[\x00-\x1f{_OTHERS}]")
_UNSAFE_BUT_NL = re.compile(f"[\x00-\x09\x0b-\x1f{_OTHERS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _one(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the byte that could not be decoded
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape(value: object) -> str:
    """``value`` as text with every control character shown escaped (``\\x1b``, ``\\n``).

    For one value in a line or a table cell: a line break in it cannot start a new line.
    """
    text = value if isinstance(value, str) else str(value)
    if _UNSAFE.search(text) is None:  # the common case costs one scan
        return text
    return _UNSAFE.sub(_one, text)


def escape_text(text: str) -> str:
    """A composed text (several lines) with its line breaks kept and every other control
    character escaped, tabs included."""
    if _UNSAFE_BUT_NL.search(text) is None:
        return text
    return "\n".join(escape(line) for line in text.split("\n"))


class EscapingWriter:
    """A text stream that writes everything through :func:`escape_text`: what a human
    renderer writes can hold line breaks, never a control sequence."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def write(self, text: str) -> int:
        self._out.write(escape_text(text))
        return len(text)

    def flush(self) -> None:
        self._out.flush()

    def isatty(self) -> bool:
        return self._out.isatty()

    def fileno(self) -> int:
        return self._out.fileno()

    @property
    def encoding(self) -> str:
        return str(getattr(self._out, "encoding", None) or "utf-8")


def escaping(out: TextIO) -> TextIO:
    """``out`` wrapped once in an :class:`EscapingWriter` (a wrapped stream stays as is)."""
    if isinstance(out, EscapingWriter):
        return out
    wrapped: TextIO = EscapingWriter(out)  # type: ignore[assignment]
    return wrapped
