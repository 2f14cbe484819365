"""Run the real CLI with its standard output (and error) on a pseudo-terminal of a given size.

The child sees a terminal exactly as in an xterm: ``isatty()`` is true and the kernel reports
the window size set here with TIOCSWINSZ. ``COLUMNS`` and ``LINES`` are removed from its
environment unless the caller passes them.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.zygote import CliProcess

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PtyResult:
    returncode: int
    output: str  # what the terminal received, "\r\n" turned back into "\n"

    @property
    def lines(self) -> list[str]:
        """The lines as the terminal shows them: a carriage return starts the line again
        (the progress line is drawn and erased that way), escape sequences take no room."""
        shown = []
        for line in self.output.split("\n"):
            line = line.rsplit("\r", 1)[-1]
            shown.append(re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line))
        return shown


def run_in_pty(
    args: list[str],
    *,
    columns: int = 100,
    rows: int = 50,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    command: list[str] | None = None,
) -> PtyResult:
    """``python -m inspect8s ARGS`` (a child of tests/zygote.py; or ``command``, a program
    of its own) on a new pseudo-terminal."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    child_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    child_env.update(env or {})
    settings: dict[str, Any] = dict(
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        cwd=REPO,
        env=child_env,
        start_new_session=True,
    )
    proc = (
        CliProcess(args, **settings) if command is None else subprocess.Popen(command, **settings)
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                raise TimeoutError(f"{args} did not finish in {timeout} s")
            ready, _, _ = select.select([leader], [], [], min(left, 1.0))
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
    finally:
        os.close(leader)
    code = proc.wait(timeout=10)
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return PtyResult(code, text)
