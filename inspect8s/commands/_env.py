"""The environment a command runs in: its streams, terminal, variables and directory.

The CLI never reads ``sys.stdout``, ``os.environ`` or the working directory itself: it
gets an :class:`Environment` (``Environment.from_process()`` for a real run, any streams
and variables for an in-process run such as the tests'), through the Typer context.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

import typer


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or fd-less stream
        return False


@dataclass(slots=True)
class Environment:
    """What a command may use of the process that runs it.

    ``environ`` holds the variables the command sees (``INSPECT8S_ROOT``, ``KUBECONFIG``,
    ``KUBERNETES_SERVICE_HOST``, ``HOME``, ``INSPECT8S_DEBUG``); ``cwd`` is the directory
    relative paths on the command line are taken from (None: the process's own);
    ``debug`` is set by ``--debug`` (or ``INSPECT8S_DEBUG=1``) and shows tracebacks.
    """

    stdout: TextIO
    stderr: TextIO
    stdin: TextIO
    environ: Mapping[str, str]
    cwd: str | None = None
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    debug: bool = False
    prog_name: str = "inspect8s"

    @classmethod
    def from_process(cls, prog_name: str = "inspect8s") -> Environment:
        """The real process: its standard streams, variables and working directory."""
        return cls(
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdin=sys.stdin,
            environ=os.environ,
            stdout_isatty=_isatty(sys.stdout),
            stderr_isatty=_isatty(sys.stderr),
            debug=os.environ.get("INSPECT8S_DEBUG") == "1",
            prog_name=prog_name,
        )

    def path(self, path: str) -> str:
        """A path given on the command line, relative to ``cwd`` ("-" stays standard input)."""
        if self.cwd is None or path == "-" or os.path.isabs(path):
            return path
        return os.path.join(self.cwd, path)

    def paths(self, paths: list[str] | None) -> list[str]:
        return [self.path(p) for p in paths or ()]

    def say(self, message: str) -> None:
        """One line for the person running the command, on standard error."""
        from inspect8s.render.escape import escape

        try:
            self.stderr.write(f"inspect8s: {escape(message)}\n")
            self.stderr.flush()
        except (BrokenPipeError, ValueError):
            pass


def env_of(ctx: typer.Context) -> Environment:
    """The Environment the runner put in the Typer context (the process's when run bare)."""
    env = ctx.find_root().obj
    if isinstance(env, Environment):
        return env
    env = Environment.from_process()
    ctx.find_root().obj = env
    return env
