"""Tables and lines laid out for a terminal, or written in full for pipes and files.

A :class:`Screen` says how wide the output may be. ``width=None`` (a pipe, a file, ``-o wide``)
writes full rows exactly as ``tabulate`` always has, so that scripts see the same bytes. With a
width (standard output is a terminal: its width, or ``COLUMNS`` when set) a table is fitted:

1. columns that fit as they are stay as they are;
2. long container IDs inside cells (runs of 32 or more hex digits) are cut to the prefix that
   tells them apart in the table, never shorter than crictl's 13 characters, and marked with
   an ellipsis;
3. ``ELIDE`` cells lose their middle (the distinguishing start and end stay), ``WRAP`` cells
   wrap onto more lines (at spaces, then after ``/``, ``,`` or ``;``, then inside names);
4. a droppable column with nothing in it is left out; when the table is still too wide,
   low-value columns are dropped: one that says the same on every row first, then the
   highest ``drop``; a dropped column with ``fold`` set moves under the column it names.

``KEEP`` cells (names, short IDs, PIDs, severities) are never cut.
"""

from __future__ import annotations

import functools
import io
import itertools
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TextIO

from inspect8s.model.frozen import frozen
from inspect8s.render.escape import escape

#: crictl's short container ID (cri-tools ``truncatedIDLen``); the node tables print this much.
SHORT_ID = 13
_HEX_RUN = re.compile(r"(?<![0-9a-f])[0-9a-f]{32,}(?![0-9a-f])")
_GAP = "  "


class Fit(Enum):
    """How a column gives up width on a terminal."""

    KEEP = "keep"  # never cut
    ELIDE = "elide"  # one line; the middle goes
    WRAP = "wrap"  # more lines


@frozen
class Column:
    header: str
    fit: Fit = Fit.KEEP
    drop: int = 0  # 0: never dropped; on a narrow terminal the highest number goes first
    fold: str | None = None  # header of the column this one moves under when dropped
    fold_prefix: str = ""  # written before the moved text ("at ")
    min_width: int | None = None  # ELIDE/WRAP: narrowest it may get (default 16/20)


@frozen
class Screen:
    """Where output goes: ``width`` None writes full rows (pipes, files, ``-o wide``)."""

    width: int | None = None
    headers: bool = True
    ellipsis: str = "…"

    @classmethod
    def for_stream(
        cls,
        out: TextIO,
        *,
        wide: bool = False,
        headers: bool = True,
        environ: Mapping[str, str] | None = None,
        isatty: bool | None = None,
    ) -> Screen:
        """How to write to ``out``: fitted when it is a terminal (``isatty``, else asked),
        full rows when ``wide`` or not a terminal."""
        env = os.environ if environ is None else environ
        width = None if wide else terminal_width(out, env, isatty=isatty)
        return cls(width=width, headers=headers, ellipsis=_ellipsis_for(out))


def terminal_width(
    out: TextIO, environ: Mapping[str, str], *, isatty: bool | None = None
) -> int | None:
    """The width to fit output to: None when ``out`` is not a terminal.

    ``COLUMNS`` wins when it holds a positive number (as for ``ls``); otherwise the
    terminal's own size, and 80 when the terminal does not say.
    """
    if isatty is None:
        try:
            isatty = out.isatty()
        except (AttributeError, ValueError):  # closed or not a real stream
            isatty = False
    if not isatty:
        return None
    text = environ.get("COLUMNS", "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    try:
        columns = os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return 80
    return columns if columns > 0 else 80


def _ellipsis_for(out: TextIO) -> str:
    encoding = getattr(out, "encoding", None) or "utf-8"
    try:
        "…".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "..."
    return "…"


# --------------------------------------------------------------------------- measuring


_BEYOND_LATIN = re.compile("[^\x00-\u02ff]")  # below U+0300 every character takes one column


@functools.lru_cache(maxsize=4096)
def _char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: East Asian wide characters take two,
    combining marks none."""
    if text.isascii():
        return len(text)
    others = _BEYOND_LATIN.findall(text)
    return len(text) - len(others) + sum(map(_char_width, others))


def _take(text: str, width: int) -> str:
    """The longest start of ``text`` that fits in ``width`` columns."""
    if text.isascii():
        return text[: max(width, 0)]
    if text_width(text) <= width:
        return text
    used = 0
    for i, ch in enumerate(text):
        used += _char_width(ch)
        if used > width:
            return text[:i]
    return text


def _take_end(text: str, width: int) -> str:
    """The longest end of ``text`` that fits in ``width`` columns."""
    return _take(text[::-1], width)[::-1]


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - text_width(text))


# --------------------------------------------------------------------------- shrinking


def id_prefix_length(texts: Sequence[str]) -> int:
    """The shortest prefix (at least :data:`SHORT_ID`) that tells apart every long hex ID
    found in ``texts``."""
    ids = sorted({m.group(0) for text in texts for m in _HEX_RUN.finditer(text)})
    length = SHORT_ID
    for a, b in itertools.pairwise(ids):
        common = 0
        while common < min(len(a), len(b)) and a[common] == b[common]:
            common += 1
        length = max(length, common + 1)
    return length


def shorten_ids(text: str, prefix: int, ellipsis: str) -> str:
    """``text`` with every long hex ID cut to its first ``prefix`` digits."""

    def cut(match: re.Match[str]) -> str:
        run = match.group(0)
        return run if len(run) <= prefix + len(ellipsis) else run[:prefix] + ellipsis

    return _HEX_RUN.sub(cut, text)


def elide(text: str, width: int, ellipsis: str = "…") -> str:
    """``text`` in ``width`` columns, its middle replaced by ``ellipsis``.

    A path keeps its last component whole when that leaves room for a few characters of its
    start (``/run/…/containerd.sock``); anything else keeps half its start and half its end.
    """
    if text_width(text) <= width:
        return text
    room = width - text_width(ellipsis)
    if room <= 0:
        return _take(text, width)
    slash = text.rfind("/")
    if 0 < slash < len(text) - 1:
        last = text[slash:]
        head_room = room - text_width(last)
        if head_room >= 4:
            return _take(text, head_room) + ellipsis + last
    head = max(1, (room + 1) // 2)
    return _take(text, head) + ellipsis + _take_end(text, room - text_width(_take(text, head)))


# Where a word too long for its line may be cut: after a path or list separator, else after
# a joiner inside a name (kubepods-pod<uid>.slice), else anywhere.
_BREAKS = (re.compile(r"(?<=[/,;=|])"), re.compile(r"(?<=[-_.:])"))


def _split_word(word: str, width: int, first: int, level: int = 0) -> list[str]:
    """A word cut into pieces, the first at most ``first`` columns wide (what is left of
    the current line), the others at most ``width``."""
    pieces: list[str] = []
    current = ""
    limit = first
    parts = _BREAKS[level].split(word) if level < len(_BREAKS) else list(word)
    for part in parts:
        if text_width(current + part) <= limit:
            current += part
            continue
        if text_width(part) > width:  # this piece alone is too long: cut it finer
            sub = _split_word(part, width, limit - text_width(current), level + 1)
            if current and text_width(sub[0]) > limit - text_width(current):
                pieces.append(current)
                sub = _split_word(part, width, width, level + 1)
                current = ""
            head, *rest = sub
            pieces.append(current + head)
            current, limit = "", width
            if rest:
                *full, current = rest
                pieces.extend(full)
            continue
        pieces.append(current)
        current, limit = part, width
    pieces.append(current)
    return pieces


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` columns; each newline in it starts a line.

    Spaces inside a line are kept as they are; a word longer than a line fills what is left
    of the current one and goes on below, cut where :data:`_BREAKS` allows.
    """
    width = max(1, width)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for gap, word in re.findall(r"( *)([^ ]+)", paragraph):
            joined = line + gap + word if line else word
            if text_width(joined) <= width:
                line = joined
                continue
            if text_width(word) <= width:
                lines.append(line)
                line = word
                continue
            lead = line + gap if line else ""
            room = width - text_width(lead)
            pieces = _split_word(word, width, room)
            if not pieces[0]:  # nothing fitted after the current line's end
                lines.append(line)
                pieces = pieces[1:] or [""]
                lead = ""
            head, *rest = pieces
            if rest:
                lines.append(lead + head)
                *full, line = rest
                lines.extend(full)
            else:
                line = lead + head
        lines.append(line)
    return lines


# --------------------------------------------------------------------------- tables


@dataclass(slots=True)
class _Col:
    spec: Column
    cells: list[str]
    natural: int = 0
    minimum: int = 0
    width: int = 0
    lines: list[list[str]] = field(default_factory=list)


def _measure(col: _Col, headers: bool) -> None:
    head = text_width(col.spec.header) if headers else 0
    widest = max((text_width(line) for c in col.cells for line in c.split("\n")), default=0)
    col.natural = max(head, widest, 1)
    if col.spec.fit is Fit.KEEP:
        col.minimum = col.natural
    else:
        floor = col.spec.min_width or (16 if col.spec.fit is Fit.ELIDE else 20)
        col.minimum = min(col.natural, max(head, floor))


def _allot(cols: list[_Col], room: int) -> None:
    """Widths between each column's minimum and natural width that add up to ``room``:
    the spare room is shared out evenly, and a column that needs less than its share
    leaves the rest to the others (so short columns stay whole)."""
    for c in cols:
        c.width = c.minimum
    spare = room - sum(c.minimum for c in cols)
    while spare > 0:
        wanting = sorted((c for c in cols if c.natural > c.width), key=lambda c: c.natural)
        if not wanting:
            return
        share = max(1, spare // len(wanting))
        for c in wanting:
            grant = min(share, c.natural - c.width, spare)
            c.width += grant
            spare -= grant
            if spare == 0:
                return


def _fold(cols: list[_Col], dropped: _Col) -> None:
    target = next((c for c in cols if c.spec.header == dropped.spec.fold), None)
    if target is None:
        return
    for i, cell in enumerate(dropped.cells):
        if cell and cell != "-":
            extra = dropped.spec.fold_prefix + cell
            target.cells[i] = f"{target.cells[i]}\n{extra}" if target.cells[i] else extra


def _cell_lines(col: _Col, text: str, screen: Screen, prefix: int) -> list[str]:
    fit = col.spec.fit
    out: list[str] = []
    for part in text.split("\n"):
        if fit is Fit.KEEP or text_width(part) <= col.width:
            out.append(part)
            continue
        short = shorten_ids(part, prefix, screen.ellipsis)
        if fit is Fit.ELIDE:
            out.append(elide(short, col.width, screen.ellipsis))
        else:
            out.extend(wrap(short, col.width))
    return out


def fit_table(
    rows: Sequence[Sequence[object]],
    columns: Sequence[Column],
    width: int,
    *,
    screen: Screen,
    rule: bool = False,
) -> list[str]:
    """The lines of a table fitted to ``width`` columns (see the module docstring)."""
    texts = [["" if v is None else str(v) for v in row] for row in rows]
    cols = [_Col(spec, [row[i] for row in texts]) for i, spec in enumerate(columns)]
    prefix = id_prefix_length([cell for row in texts for cell in row])
    # A droppable column with nothing in it goes at once.
    cols = [c for c in cols if not c.spec.drop or any(c.cells)]
    for c in cols:
        _measure(c, screen.headers)
    # A droppable column that says the same on every row goes first, then by ``drop``.
    order = sorted(
        (c for c in cols if c.spec.drop),
        key=lambda c: (len(set(c.cells)) > 1, -c.spec.drop),
    )
    while True:
        room = width - len(_GAP) * (len(cols) - 1)
        if sum(c.natural for c in cols) <= room:
            for c in cols:
                c.width = c.natural
            break
        if sum(c.minimum for c in cols) <= room or not order:
            _allot(cols, room)
            break
        dropped = order.pop(0)
        cols.remove(dropped)
        _fold(cols, dropped)
        for c in cols:
            _measure(c, screen.headers)
    lines: list[str] = []
    if screen.headers:
        lines.append(_GAP.join(_pad(c.spec.header, c.width) for c in cols).rstrip())
        if rule:
            lines.append(_GAP.join("-" * c.width for c in cols))
    for r in range(len(rows)):
        cells = [_cell_lines(c, c.cells[r], screen, prefix) for c in cols]
        for i in range(max(len(cell) for cell in cells)):
            parts = [
                _pad(cell[i] if i < len(cell) else "", c.width)
                for c, cell in zip(cols, cells, strict=True)
            ]
            lines.append(_GAP.join(parts).rstrip())
    return lines


def fit_line(text: str, width: int, *, screen: Screen) -> list[str]:
    """A free-form line in ``width`` columns: long IDs cut, then wrapped under its own
    indentation plus two spaces."""
    if text_width(text) <= width:
        return [text]
    short = shorten_ids(text, id_prefix_length([text]), screen.ellipsis)
    if text_width(short) <= width:
        return [short]
    indent = len(short) - len(short.lstrip(" "))
    first, *rest = wrap(short.strip(" "), width - indent)
    hang = " " * (indent + 2)
    lines = [" " * indent + first]
    for line in rest:
        lines.extend(hang + piece for piece in wrap(line, width - len(hang)))
    return lines


class Page:
    """Writes the lines and tables of one view to ``out`` as ``screen`` says.

    It is the one writer of the human views: every line and every cell goes through
    :func:`inspect8s.render.escape.escape`, so no control character from a host, a runtime
    or a manifest reaches the terminal.
    """

    def __init__(self, out: TextIO, screen: Screen | None = None) -> None:
        self.out = out
        self.screen = screen or Screen()

    def line(self, text: str = "") -> None:
        text = escape(text)
        width = self.screen.width
        if width is None:
            self.out.write(text + "\n")
            return
        for part in fit_line(text, width, screen=self.screen):
            self.out.write(part + "\n")

    def table(
        self,
        rows: Sequence[Sequence[object]],
        columns: Sequence[Column],
        *,
        tablefmt: str = "plain",
    ) -> None:
        """A table: full rows through ``tabulate`` (as always) when there is no width,
        fitted to the width otherwise. ``tablefmt="simple"`` draws a rule under the
        headers."""
        rows = [["" if cell is None else escape(cell) for cell in row] for row in rows]
        width = self.screen.width
        if width is None:
            from tabulate import tabulate

            if self.screen.headers:
                headers: Sequence[str] = [c.header for c in columns]
            else:  # without headers, "simple" would draw its rules above and below the rows
                headers, tablefmt = (), "plain"
            text = tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True)
            self.out.write(text + "\n")
            return
        for line in fit_table(rows, columns, width, screen=self.screen, rule=tablefmt == "simple"):
            self.out.write(line + "\n")
