"""Run the inspect8s CLI in this process, as a test would run it in a shell.

``cli("node", "--root", str(root), "-o", "json")`` goes through the same runner as the
console script (``inspect8s.cli.run``), with its own streams and environment variables,
so the result carries what a user would see: the exit code, stdout and stderr. The tests
about what only a process shows (signals, hangs and kills, real terminals in tests/ptyrun.py,
a full disk as stdout) run one forked from a warm interpreter (tests/zygote.py); those of
start-up, a closed pipe, dropped capabilities and strace spawn ``python -m inspect8s``, and
the kubectl plugin's tests spawn kubectl.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inspect8s.cli import run


@dataclass(frozen=True, slots=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    cwd: str | None = None,
    isatty: bool = False,
) -> CliResult:
    """``inspect8s ARGS`` in-process; ``env`` is all the variables it sees (default none)."""
    out, err = io.StringIO(), io.StringIO()
    code = run(
        list(args),
        out,
        err,
        dict(env or {}),
        stdin=io.StringIO(stdin or ""),
        cwd=cwd,
        isatty=isatty,
    )
    return CliResult(code, out.getvalue(), err.getvalue())
