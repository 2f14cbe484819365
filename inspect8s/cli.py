"""The command line: parse options, call library functions, render, return an exit code.

This is the only module that exits. Exit codes (docs/exit-codes.md):

    0   success; no finding at or above --fail-on
    1   findings at or above --fail-on
    2   usage error: bad option, unknown pod, PID or file
    3   incomplete (with --require-complete): a probe failed or a check was skipped
    4   tool error: nothing could be collected, a plugin failed to load, the API refused
    130 interrupted (Ctrl-C)
    141 output pipe closed by the reader (`inspect8s ... | head`), quietly

Heavy libraries (kubernetes, grpc, docker) are imported inside the commands that need them,
never at module level: `inspect8s --help` must stay fast.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from inspect8s._version import __version__

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
EXIT_TOOL_ERROR = 4
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

app = typer.Typer(
    name="inspect8s",
    help=(
        "Explain where every pod really sits on a Linux node (runtime, shim, processes, "
        "namespaces, cgroups, limits) and audit what is wrong with it."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help: fast to start, readable in any terminal or CI log
    pretty_exceptions_enable=False,  # main() owns error reporting
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"inspect8s {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks and debug logs on stderr.")
    ] = False,
) -> None:
    """Explain where every pod really sits on a Linux node and audit what is wrong with it."""
    if debug:
        os.environ["INSPECT8S_DEBUG"] = "1"


def _register_commands() -> None:
    # Each command lives in inspect8s/commands/; importing them is cheap (no heavy imports).
    from inspect8s.commands import register

    register(app)


def _debug_enabled(args: Sequence[str]) -> bool:
    return "--debug" in args or os.environ.get("INSPECT8S_DEBUG") == "1"


def _err(message: str) -> None:
    from inspect8s.render.escape import escape

    try:
        sys.stderr.write(f"inspect8s: {escape(message)}\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass


def _quiet_broken_pipe() -> int:
    # The reader went away: point stdout at /dev/null so the interpreter's final flush
    # does not raise again, and leave without a word.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


class OutputClosed(Exception):
    """Standard output's reader went away (EPIPE): exit 141, quietly."""


class OutputFailed(Exception):
    """Standard output cannot be written (ENOSPC on a full disk, EIO, ...): exit 4."""

    def __init__(self, exc: OSError) -> None:
        super().__init__(exc.strerror or str(exc))
        self.errno = exc.errno


class _GuardedOutput:
    """``sys.stdout`` while a command runs: a failed write raises OutputClosed or
    OutputFailed instead of OSError, which the CLI framework would turn into exit 1 (EPIPE)
    or let through as an internal error (ENOSPC)."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def _guard(self, exc: OSError) -> BaseException:
        if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
            return OutputClosed()
        return OutputFailed(exc)

    def write(self, text: str) -> int:
        try:
            return int(self._inner.write(text))  # type: ignore[attr-defined]
        except OSError as exc:
            raise self._guard(exc) from None

    def writelines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._inner.flush()  # type: ignore[attr-defined]
        except OSError as exc:
            raise self._guard(exc) from None

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def _click_exceptions() -> tuple[tuple[type[BaseException], ...], ...]:
    """(Exit, ClickException, Abort) classes of the click that Typer runs on.

    Recent Typer releases carry their own copy of click (``typer._click``); older ones use
    the ``click`` package. Both are caught, whichever is present.
    """
    exits: list[type[BaseException]] = [typer.Exit]
    usage: list[type[BaseException]] = []
    aborts: list[type[BaseException]] = [typer.Abort]
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for found, attr in ((exits, "Exit"), (usage, "ClickException"), (aborts, "Abort")):
            cls = getattr(module, attr, None)
            if isinstance(cls, type) and issubclass(cls, BaseException) and cls not in found:
                found.append(cls)
    return tuple(exits), tuple(usage), tuple(aborts)


def run(args: Sequence[str], prog_name: str = "inspect8s") -> int:
    """Run the CLI on ``args`` and return the exit code (never raises, never exits)."""
    from inspect8s.errors import Inspect8sError, ProbeFailed

    click_exit, click_usage, click_abort = _click_exceptions()
    interrupts: tuple[type[BaseException], ...] = (KeyboardInterrupt, *click_abort)
    debug = _debug_enabled(args)
    real_stdout = sys.stdout
    sys.stdout = _GuardedOutput(real_stdout)
    try:
        _register_commands()
        rv = app(args=list(args), prog_name=prog_name, standalone_mode=False)
        code = rv if isinstance(rv, int) else EXIT_OK
        if code == EXIT_INTERRUPTED:  # Typer turns KeyboardInterrupt into Exit(130)
            _err("interrupted")
        sys.stdout.flush()
        return code
    except OutputClosed:
        sys.stdout = real_stdout
        return _quiet_broken_pipe()
    except OutputFailed as exc:
        sys.stdout = real_stdout
        _drop_pending_output()
        _err(f"error: cannot write the output: {exc}")
        return EXIT_TOOL_ERROR
    except click_exit as exc:
        code = int(getattr(exc, "exit_code", EXIT_OK))
        if code == EXIT_INTERRUPTED:  # Typer turns KeyboardInterrupt into Exit(130)
            _err("interrupted")
        return code
    except click_usage as exc:
        # Usage errors: bad option, missing argument, bad value.
        exc.show()  # type: ignore[attr-defined]
        return EXIT_USAGE
    except interrupts:
        _err("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except Inspect8sError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        _err(f"error: {exc}")
        return exc.exit_code
    except ProbeFailed as exc:
        if debug:
            import traceback

            traceback.print_exc()
        _err(f"error: could not read {exc.source}: {exc.kind.value}: {exc.detail}")
        return EXIT_TOOL_ERROR
    except OSError as exc:  # a file the command writes (--output-file on a full disk)
        if debug:
            import traceback

            traceback.print_exc()
        where = f" {exc.filename}" if exc.filename else ""
        _err(f"error: cannot write{where}: {exc.strerror or exc}")
        return EXIT_TOOL_ERROR
    except Exception as exc:  # the last line of defence: no traceback reaches a user
        if debug:
            import traceback

            traceback.print_exc()
        _err(
            f"internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for the traceback, and please report it)"
        )
        return EXIT_TOOL_ERROR
    finally:
        if isinstance(sys.stdout, _GuardedOutput):
            sys.stdout = real_stdout


def _drop_pending_output() -> None:
    """Standard output failed: send what is still buffered nowhere, so the interpreter's
    last flush does not fail again (and print a second message)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main() -> None:
    """Console-script entry point for `inspect8s` and `kubectl-inspect8s`."""
    args = sys.argv[1:]
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "inspect8s"
    if prog.startswith("kubectl-"):
        prog = "kubectl " + prog[len("kubectl-") :].replace("_", "-")
    elif prog in ("__main__.py", "-m"):
        prog = "inspect8s"
    try:
        code = run(args, prog_name=prog)
    except KeyboardInterrupt:  # Ctrl-C between our handlers
        code = EXIT_INTERRUPTED
    except Exception as exc:  # run() handles errors itself; this only guards its set-up
        _err(f"internal error: {type(exc).__name__}: {exc}")
        code = EXIT_TOOL_ERROR
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _quiet_broken_pipe()
    except OSError as exc:  # ENOSPC of the last buffered bytes
        _drop_pending_output()
        _err(f"error: cannot write the output: {exc.strerror or exc}")
        code = EXIT_TOOL_ERROR
    sys.exit(code)
