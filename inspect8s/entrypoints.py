"""The entry points of the installed distributions (check plugins, renderers), read once.

Listing them reads every distribution's metadata on ``sys.path`` (about 13 ms with a
hundred packages installed), and a command or a library user asks for them more than
once: for the checks, for the output format, for the list of formats. The answer is kept
for as long as ``sys.path`` names the same directories, each as it was: its inode, its
modification time and its link count (installing or removing a distribution adds or
removes a ``*.dist-info`` directory there, which changes the count even within one tick
of the clock).
"""

from __future__ import annotations

import os
import sys
import threading
from importlib import metadata
from typing import Any

_lock = threading.Lock()
# (the path state, what importlib.metadata.entry_points() answered: a selectable table)
_cached: tuple[tuple[object, ...], Any] | None = None


def _path_state() -> tuple[object, ...]:
    state: list[object] = []
    for entry in sys.path:
        try:
            st = os.stat(entry or ".")
        except (OSError, ValueError, TypeError):  # gone, unreadable, not a path at all
            state.append((entry, None))
        else:
            state.append((entry, st.st_ino, st.st_mtime_ns, st.st_nlink))
    return tuple(state)


def entry_points(group: str) -> tuple[metadata.EntryPoint, ...]:
    """The entry points of ``group``, as ``importlib.metadata.entry_points(group=...)``."""
    global _cached
    state = _path_state()
    with _lock:
        cached = _cached
        if cached is None or cached[0] != state:
            cached = _cached = (state, metadata.entry_points())
    every = cached[1]
    return tuple(every.select(group=group))
