"""The command line: parse options, call the library, render, return an exit status.

Exit statuses are :class:`inspect8s.errors.ExitStatus` (docs/exit-codes.md). The whole CLI
runs in-process through :func:`run` (or :func:`execute` with an
:class:`~inspect8s.commands._env.Environment`): it never exits, never reads ``os.environ``
or ``sys.stdout`` itself and never changes them. Only :func:`main`, the console-script entry
point, touches the real process (its exit status, and stdout after a broken pipe).

Heavy libraries (kubernetes, grpc, docker) are imported inside the commands that need them,
never at module level: `inspect8s --help` must stay fast.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import io
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from inspect8s._version import __version__
from inspect8s.commands._env import Environment, env_of
from inspect8s.errors import ExitStatus

if TYPE_CHECKING:
    from typer import _click as click

# what every Typer app here shares: the root and each command's own (commands.build)
_SETTINGS: dict[str, Any] = {
    "add_completion": False,
    "rich_markup_mode": None,  # plain help: fast to start, readable in any terminal or CI log
    "pretty_exceptions_enable": False,  # execute() owns error reporting
}


class _Commands(typer.core.TyperGroup):
    """The root command, whose subcommands are built when first asked for: running one
    command imports and builds only that one (``--help`` lists them all)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from inspect8s.commands import COMMANDS

        return [name for _, _, name in COMMANDS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None:
            from inspect8s.commands import build

            command = build(cmd_name, _SETTINGS)
            if command is not None:
                self.add_command(command, cmd_name)
        return command


app = typer.Typer(
    name="inspect8s",
    help=(
        "Explain where every pod really sits on a Linux node (runtime, shim, processes, "
        "namespaces, cgroups, limits) and audit what is wrong with it."
    ),
    cls=_Commands,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    **_SETTINGS,
)


def _version_callback(ctx: typer.Context, value: bool) -> None:
    if value:
        env_of(ctx).stdout.write(f"inspect8s {__version__}\n")
        raise typer.Exit(ExitStatus.OK)


@app.callback()
def _root(
    ctx: typer.Context,
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
        env_of(ctx).debug = True


@functools.cache
def _command() -> typer.core.TyperGroup:
    """The click command tree of :data:`app`, built once per process.

    Typer builds it anew on every ``app(...)`` call (and sets ``sys.excepthook``); a process
    that runs the CLI many times (:func:`run` from a library or the tests) reuses this one.
    """
    # Each command lives in inspect8s/commands/ and is built when it is first asked for.
    command = typer.main.get_command(app)
    assert isinstance(command, typer.core.TyperGroup)
    return command


@functools.cache
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


@contextlib.contextmanager
def _click_streams(env: Environment) -> Iterator[None]:
    """Point click's own output (help, usage) at the environment's streams.

    Commands write to ``env.stdout``/``env.stderr``; click writes help and ``--help`` text to
    ``sys.stdout``, so for an in-process run with other streams those are swapped for the
    duration of the call and put back afterwards.
    """
    with contextlib.ExitStack() as stack:
        if env.stdout is not sys.stdout:
            stack.enter_context(contextlib.redirect_stdout(env.stdout))
        if env.stderr is not sys.stderr:
            stack.enter_context(contextlib.redirect_stderr(env.stderr))
        yield


class OutputClosed(Exception):
    """Standard output's reader went away (EPIPE): exit 141, quietly."""


class OutputFailed(Exception):
    """Standard output cannot be written (ENOSPC on a full disk, EIO, ...): exit 4."""


class _GuardedOutput:
    """Standard output while a command runs: a failed write raises OutputClosed or
    OutputFailed instead of OSError, which the CLI framework would turn into exit 1 (EPIPE)
    or let through as an internal error (ENOSPC)."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def _guard(self, exc: OSError) -> Exception:
        if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
            return OutputClosed()
        return OutputFailed(exc.strerror or str(exc))

    def write(self, text: str) -> int:
        try:
            return self._inner.write(text)
        except OSError as exc:
            raise self._guard(exc) from None

    def writelines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._inner.flush()
        except OSError as exc:
            raise self._guard(exc) from None

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def _fail(env: Environment, exc: BaseException) -> ExitStatus:
    """Report an exception that ended the command; the exit status it deserves."""
    from inspect8s.commands._options import flag_hint
    from inspect8s.errors import Inspect8sError, ProbeFailed, describe_failure

    status, message = describe_failure(exc)
    expected = isinstance(exc, Inspect8sError | ProbeFailed)
    if env.debug:
        import traceback

        traceback.print_exception(exc, file=env.stderr)
    if isinstance(exc, Inspect8sError):
        message += flag_hint(exc.param)
    elif not expected:
        message += " (run with --debug for the traceback, and please report it)"
    env.say(message)
    return status


def _status(value: object) -> ExitStatus:
    """A command's or click's exit code as an ExitStatus (an unknown one is a tool error)."""
    try:
        return ExitStatus(int(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return ExitStatus.TOOL_ERROR


def execute(args: Sequence[str], env: Environment) -> ExitStatus:
    """Run the CLI on ``args`` in ``env``; the exit status (never raises, never exits)."""
    click_exit, click_usage, click_abort = _click_exceptions()
    interrupts: tuple[type[BaseException], ...] = (KeyboardInterrupt, *click_abort)
    if "--debug" in args:  # before parsing: a usage error shows its traceback too
        env.debug = True
    stdout = env.stdout
    env.stdout = _GuardedOutput(stdout)  # type: ignore[assignment]
    try:
        command = _command()
        with _click_streams(env):
            rv = command.main(
                args=list(args), prog_name=env.prog_name, standalone_mode=False, obj=env
            )
        code = _status(rv) if isinstance(rv, int) else ExitStatus.OK
        if code is ExitStatus.INTERRUPTED:  # Typer turns KeyboardInterrupt into Exit(130)
            env.say("interrupted")
        env.stdout.flush()
        return code
    except click_exit as exc:
        code = _status(getattr(exc, "exit_code", 0))
        if code is ExitStatus.INTERRUPTED:
            env.say("interrupted")
        return code
    except click_usage as exc:
        # Usage errors: bad option, missing argument, bad value.
        exc.show(file=env.stderr)  # type: ignore[attr-defined]
        return ExitStatus.USAGE
    except interrupts:
        env.say("interrupted")
        return ExitStatus.INTERRUPTED
    except (BrokenPipeError, OutputClosed):
        return ExitStatus.BROKEN_PIPE
    except OutputFailed as exc:
        env.say(f"error: cannot write the output: {exc}")
        return ExitStatus.TOOL_ERROR
    except Exception as exc:  # every other failure is one line (the last line of defence)
        return _fail(env, exc)
    finally:
        env.stdout = stdout


def run(
    argv: Sequence[str],
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    env: Mapping[str, str] | None = None,
    *,
    stdin: TextIO | None = None,
    cwd: str | None = None,
    isatty: bool = False,
    prog_name: str = "inspect8s",
) -> int:
    """Run ``inspect8s ARGV`` in this process and return its exit code.

    ``stdout``/``stderr`` receive the output (default: new buffers, discarded), ``env`` is
    the environment variables the command sees (default: none at all), ``stdin`` is
    standard input (default: empty), ``cwd`` the directory relative paths are taken from
    (default: this process's), ``isatty`` whether stdout and stderr count as terminals.
    """
    environment = Environment(
        stdout=stdout if stdout is not None else io.StringIO(),
        stderr=stderr if stderr is not None else io.StringIO(),
        stdin=stdin if stdin is not None else io.StringIO(),
        environ=dict(env or {}),
        cwd=cwd,
        stdout_isatty=isatty,
        stderr_isatty=isatty,
        debug=(env or {}).get("INSPECT8S_DEBUG") == "1",
        prog_name=prog_name,
    )
    return int(execute(argv, environment))


def _quiet_broken_pipe() -> ExitStatus:
    # The reader went away: point stdout at /dev/null so the interpreter's final flush
    # does not raise again, and leave without a word.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return ExitStatus.BROKEN_PIPE


def _prog_name(argv0: str) -> str:
    prog = os.path.basename(argv0) if argv0 else "inspect8s"
    if prog.startswith("kubectl-"):
        return "kubectl " + prog[len("kubectl-") :].replace("_", "-")
    if prog in ("__main__.py", "-m"):
        return "inspect8s"
    return prog


def main() -> None:
    """Console-script entry point for `inspect8s` and `kubectl-inspect8s`."""
    env = Environment.from_process(_prog_name(sys.argv[0] if sys.argv else ""))
    try:
        code = execute(sys.argv[1:], env)
    except KeyboardInterrupt:  # Ctrl-C between our handlers
        code = ExitStatus.INTERRUPTED
    except Exception as exc:  # execute() handles errors itself; this only guards its set-up
        env.say(f"internal error: {type(exc).__name__}: {exc}")
        code = ExitStatus.TOOL_ERROR
    if code is ExitStatus.BROKEN_PIPE:
        code = _quiet_broken_pipe()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _quiet_broken_pipe()
    except OSError as exc:  # ENOSPC of the last buffered bytes
        _drop_pending_output()
        if code is not ExitStatus.TOOL_ERROR:  # else execute() has said it already
            env.say(f"error: cannot write the output: {exc.strerror or exc}")
            code = ExitStatus.TOOL_ERROR
    sys.exit(int(code))


def _drop_pending_output() -> None:
    """Standard output failed: send what is still buffered nowhere, so the interpreter's
    last flush does not fail again (and print a second message)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
