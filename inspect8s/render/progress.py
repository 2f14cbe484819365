"""Progress on a terminal's standard error, for work that can take more than a second.

One status line, rewritten in place (``\\r`` and erase-to-end-of-line), at most ten times a
second, and erased when the work is done, so that what stays on the screen is the report.
It is shown only when standard error is a terminal and standard output does not carry a
structured document (``-o json``, ``yaml``, ``sarif``, ``junit``, ``jsonpath``): in a pipe,
a CI log or a file nothing is written at all.

Library code never prints: collectors take an ``on_progress(what, done, total)`` callback
(:data:`ProgressFn`) and :meth:`Progress.step` is one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from inspect8s.render.escape import escape
from inspect8s.render.layout import elide, terminal_width

#: ``on_progress(what, done, total)``: ``done`` items of ``what`` so far, of ``total``
#: (None: not known yet).
ProgressFn = Callable[[str, int, int | None], None]

_INTERVAL = 0.1  # seconds between two redraws of the status line
_ERASE = "\r\x1b[K"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """A status line on ``stream``; every method does nothing when ``stream`` is None."""

    def __init__(self, stream: TextIO | None, *, clock: Callable[[], float] = time.monotonic):
        self._stream = stream
        self._clock = clock
        self._shown = ""
        self._last = float("-inf")

    @classmethod
    def for_output(
        cls, *, structured: bool, stderr: TextIO | None = None, isatty: bool | None = None
    ) -> Progress:
        """Progress for a command: on ``stderr`` when it is a terminal (``isatty``, else
        asked), unless a ``structured`` document goes to standard output."""
        err = sys.stderr if stderr is None else stderr
        if structured or not (_is_terminal(err) if isatty is None else isatty):
            return cls(None)
        return cls(err)

    @property
    def enabled(self) -> bool:
        return self._stream is not None

    def update(self, text: str, *, force: bool = False) -> None:
        """Show ``text`` as the status line (skipped when the last redraw was too recent)."""
        if self._stream is None:
            return
        now = self._clock()
        if not force and now - self._last < _INTERVAL:
            return
        self._last = now
        width = (terminal_width(self._stream, {}, isatty=True) or 80) - 1
        line = elide(f"inspect8s: {escape(text)}", max(width, 20))
        try:
            self._stream.write(_ERASE + line)
            self._stream.flush()
        except (OSError, ValueError):  # the terminal went away: stop showing progress
            self._stream = None
            return
        self._shown = line

    def step(self, what: str, done: int, total: int | None = None) -> None:
        """A :data:`ProgressFn`: ``what done/total``; the last step is always drawn."""
        count = f"{done}/{total}" if total is not None else str(done)
        self.update(f"{what} {count}", force=total is not None and done >= total)

    def log(self, text: str) -> None:
        """A line that stays (a node finished, a pod that failed), above the status line."""
        if self._stream is None:
            return
        shown = self._shown
        self.clear()
        try:
            self._stream.write(f"inspect8s: {escape(text)}\n")
        except (OSError, ValueError):
            self._stream = None
            return
        if shown:
            self._stream.write(shown)
            self._shown = shown
        self._stream.flush()

    def clear(self) -> None:
        """Erase the status line."""
        if self._stream is None or not self._shown:
            return
        try:
            self._stream.write(_ERASE)
            self._stream.flush()
        except (OSError, ValueError):
            self._stream = None
        self._shown = ""

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.clear()
