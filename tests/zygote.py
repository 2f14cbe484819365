"""Real ``inspect8s`` processes without paying interpreter start-up each time.

A test that needs what only a process shows (a real SIGINT, exit codes and the exit path,
descriptors that are pipes, a terminal or ``/dev/full``, a deadline that a hung call must
not outlive, a kill) gets one from :class:`CliProcess`: a ``subprocess.Popen`` whose child is
forked from a warm interpreter (the *zygote*, one per test process, started on first use,
or one for all the workers of tests/forkrun.py, started during the collection and ready
before they are forked) that has imported every module of the package and the kubernetes
client once, its objects frozen out of the garbage collector's reach (so children do not
copy the pages it would touch).
The child then runs exactly what ``python -m inspect8s ARGS`` runs (``runpy`` of the
package's ``__main__``) with its own pipes, environment, directory, ``sys.argv`` and
standard streams built the way the interpreter builds them at start-up, and ends as the
interpreter does (non-daemon threads joined, ``atexit`` handlers run, streams flushed; a
failing flush of stdout is exit 120).

What the fork skips is the interpreter's start-up itself: imports (the package's modules
compiled once, not by each child), and whatever reads the environment while importing.
The tests about start-up (``--version`` without the CLI framework, the console scripts,
imports that must stay lazy), the kubectl plugin's (kubectl runs the installed script) and
those tracing a process with strace keep spawning a fresh interpreter.

Protocol: the zygote reads requests on a SOCK_SEQPACKET socket (a JSON header and the
child's stdin, stdout and stderr plus a status socket, sent with SCM_RIGHTS). For each it
forks a *waiter*, which forks the child, sends ``pid N`` on the status socket, waits for the
child's end (``ended``: it stays a zombie until the test answers ``seen``, so its PID is not
reused before the test knows it ended), reaps it and sends ``exit STATUS MAXRSS_KB``. The
zygote waits for its waiters, and the test process for the zygote when it exits, so the
children's CPU time counts in the test process's like that of any child it ran.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
_MAX_FDS = 4
# What the zygote imports before it forks anything, besides every module of the package:
# the kubernetes client modules inspect8s loads for API commands and the libraries that
# commands import lazily.
_WARM = (
    "kubernetes.client",
    "kubernetes.config.kube_config",
    "kubernetes.config.incluster_config",
    "tabulate",
    "yaml",
)


def _import_package() -> None:
    """Import every module of inspect8s but ``__main__`` (which runs the CLI)."""
    import pkgutil

    import inspect8s

    for info in pkgutil.walk_packages(inspect8s.__path__, "inspect8s."):
        if not info.name.endswith(".__main__"):
            __import__(info.name)


# -- the zygote -----------------------------------------------------------------------------


def _recv_request(sock: socket.socket) -> tuple[dict[str, Any], list[int]] | None:
    fds = array.array("i")
    msg, ancdata, _flags, _addr = sock.recvmsg(1 << 20, socket.CMSG_SPACE(_MAX_FDS * fds.itemsize))
    if not msg:
        return None
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    return json.loads(msg), list(fds)


def _std_streams(stdin_fd: int, stdout_fd: int, stderr_fd: int) -> None:
    """sys.stdin/stdout/stderr as the interpreter makes them at start-up, over fds 0-2."""
    encoding = sys.stdout.encoding if sys.__stdout__ is not None else "utf-8"
    errors = sys.stdout.errors if sys.__stdout__ is not None else "strict"
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))

    def stream(fd: int, mode: str, line_buffering: bool, errors: str) -> io.TextIOWrapper:
        raw = io.FileIO(fd, mode, closefd=False)
        buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
        return io.TextIOWrapper(
            buffered,
            encoding=encoding,
            errors=errors,
            line_buffering=line_buffering,
            write_through=unbuffered and mode == "w",
        )

    sys.stdin = sys.__stdin__ = stream(stdin_fd, "r", False, errors)
    sys.stdout = sys.__stdout__ = stream(stdout_fd, "w", os.isatty(stdout_fd), errors)
    sys.stderr = sys.__stderr__ = stream(stderr_fd, "w", True, "backslashreplace")


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write(f"{code}\n")
    return 1


def _run_child(request: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: become ``python -m inspect8s ARGS`` and never return."""
    code = 1
    try:
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target, inheritable=True)
        os.closerange(3, 65536)
        if request["new_session"]:
            os.setsid()
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        _std_streams(0, 1, 2)
        sys.argv = [str(REPO / "inspect8s" / "__main__.py"), *request["args"]]
        import runpy

        try:
            runpy.run_module("inspect8s", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc)
        except KeyboardInterrupt:
            sys.excepthook(*sys.exc_info())
            code = -signal.SIGINT
        except BaseException:
            sys.excepthook(*sys.exc_info())
            code = 1
        with contextlib.suppress(BaseException):
            threading._shutdown()  # type: ignore[attr-defined]
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            try:
                stream.flush()
            except BaseException:
                if name == "stdout":
                    with contextlib.suppress(BaseException):
                        os.write(2, b"Exception ignored in: <_io.TextIOWrapper name='<stdout>'>\n")
                    code = 120
    finally:
        if code == -signal.SIGINT:  # as the interpreter ends on an uncaught Ctrl-C
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        os._exit(code if code >= 0 else 1)


def _run_waiter(request: dict[str, Any], fds: list[int]) -> None:
    """In the waiter: fork the child, report its PID, wait for it, report its end.

    The child stays a zombie (``WNOWAIT``) until the test has read that it ended and said
    so: as with a child of the test process itself, its PID cannot be reused meanwhile, so
    a signal the test sends late reaches that ended child, never another process."""
    try:
        status_fd = fds[3]
        pid = os.fork()
        if pid == 0:
            _run_child(request, fds)
        for fd in fds[:3]:
            os.close(fd)
        os.write(status_fd, f"pid {pid}".encode())
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        os.write(status_fd, b"ended")
        os.read(status_fd, 16)  # the test's "seen" (or its end: the socket closed)
        _pid, status, usage = os.wait4(pid, 0)
        os.write(status_fd, f"exit {status} {usage.ru_maxrss}".encode())
    finally:
        os._exit(0)


def _reap(block: bool) -> None:
    """Collect ended waiters, so that the CPU time of each child (which its waiter waited
    for) is counted in the zygote's, and so in the test process's once it waits for the
    zygote (``resource.getrusage(RUSAGE_CHILDREN)``, ``time``)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def warm() -> None:
    """Import what a CLI run imports: every package module and the ``_WARM`` libraries (the
    zygote before it forks children; tests/forkrun.py's parent before it forks workers, so
    that each worker does not import them again)."""
    _import_package()
    for name in _WARM:
        __import__(name)


def serve(control_fd: int) -> None:
    """The zygote's loop (``python -c 'import tests.zygote as z; z.serve(FD)'``)."""
    warm()
    # A child interrupted before it has set up is killed by the signal, as a process is
    # before the interpreter installs its handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    import gc

    gc.collect()
    gc.freeze()
    sock = socket.socket(fileno=control_fd)
    sock.send(b"ready")
    while True:
        got = _recv_request(sock)
        _reap(block=False)
        if got is None:
            break
        request, fds = got
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            sock.close()
            _run_waiter(request, fds)
        for fd in fds:
            os.close(fd)
    _reap(block=True)  # the test process is done with us: its children are ending or killed


# -- the test's side ------------------------------------------------------------------------


class _Zygote:
    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", f"import tests.zygote as z; z.serve({theirs.fileno()})"],
            pass_fds=(theirs.fileno(),),
            env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=REPO,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.owner = os.getpid()
        self.ready = False

    def wait_ready(self) -> None:
        """Until the zygote has imported what it imports (once)."""
        if self.ready:
            return
        self.sock.settimeout(120)
        if self.sock.recv(16) != b"ready":
            raise RuntimeError("the test zygote did not start")
        self.sock.settimeout(None)
        self.ready = True

    def alive(self) -> bool:
        if os.getpid() == self.owner:
            return self.proc.poll() is None
        # A process forked from the owner (tests/forkrun.py's workers) shares the zygote
        # but cannot wait for it: alive while its /proc entry is not a zombie's.
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return False
        return stat.rpartition(")")[2].split()[0] not in ("Z", "X")

    def send(self, request: dict[str, Any], fds: Sequence[int]) -> None:
        data = json.dumps(request).encode()
        with self.lock:
            self.sock.sendmsg(
                [data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
            )

    def stop(self) -> None:
        if os.getpid() != self.owner:
            return
        with contextlib.suppress(OSError):
            self.sock.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


_ZYGOTE: _Zygote | None = None
_ZYGOTE_LOCK = threading.Lock()


def start(*, wait: bool = True) -> None:
    """Start the zygote now (tests/forkrun.py's workers, forked after this, share it). With
    ``wait=False`` it imports meanwhile, beside what this process does (pytest's
    collection); a later ``start()`` or first use waits for it to be ready."""
    _zygote(wait=wait)


def _zygote(*, wait: bool = True) -> _Zygote:
    global _ZYGOTE
    with _ZYGOTE_LOCK:
        if _ZYGOTE is None or not _ZYGOTE.alive():
            _ZYGOTE = _Zygote()
            atexit.register(_ZYGOTE.stop)
        if wait:
            _ZYGOTE.wait_ready()
        return _ZYGOTE


class CliProcess(subprocess.Popen[Any]):
    """``subprocess.Popen([sys.executable, "-m", "inspect8s", *args], ...)`` with a child
    forked from the zygote. ``args`` are inspect8s's own arguments; stdin, stdout, stderr,
    text, env, cwd and start_new_session mean what they mean to Popen (env None: this
    process's environment). After the end, ``maxrss_kb`` is the child's peak RSS."""

    maxrss_kb: int | None = None

    def __init__(self, args: Sequence[str], **kwargs: Any) -> None:
        kwargs.setdefault("cwd", REPO)
        self._status: socket.socket | None = None
        self._status_lock = threading.Lock()  # poll() and wait() may run on two threads
        super().__init__(list(args), **kwargs)

    def _execute_child(  # type: ignore[override]
        self,
        args: list[str],
        executable: Any,
        preexec_fn: Any,
        close_fds: bool,
        pass_fds: Any,
        cwd: Any,
        env: Mapping[str, str] | None,
        startupinfo: Any,
        creationflags: Any,
        shell: bool,
        p2cread: int,
        p2cwrite: int,
        c2pread: int,
        c2pwrite: int,
        errread: int,
        errwrite: int,
        *rest: Any,
    ) -> None:
        start_new_session = bool(rest[5]) if len(rest) > 5 else False
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            request = {
                "args": [str(a) for a in args],
                "env": dict(env) if env is not None else dict(os.environ),
                "cwd": os.fspath(cwd) if cwd is not None else os.getcwd(),
                "new_session": start_new_session,
            }
            fds = [p2cread if p2cread != -1 else 0, c2pwrite if c2pwrite != -1 else 1]
            fds += [errwrite if errwrite != -1 else 2, theirs.fileno()]
            _zygote().send(request, fds)
            theirs.close()
            ours.settimeout(60)
            first = ours.recv(64).decode()
            if not first.startswith("pid "):
                raise OSError(f"the test zygote did not start the child ({first!r})")
            self.pid = int(first.split()[1])
            ours.settimeout(None)
            self._status = ours
            self._child_created = True
        except BaseException:
            ours.close()
            raise
        finally:
            with contextlib.suppress(OSError):
                theirs.close()
            self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)  # type: ignore[attr-defined]

    def _read_status(self, timeout: float | None) -> bool:
        """Whether the child's end is known (waiting up to ``timeout`` seconds for it)."""
        end = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = 0.05 if end is None else min(0.05, max(0.0, end - time.monotonic()))
            with self._status_lock:
                if self.returncode is None and self._take_status(left):
                    return True
            if end is not None and time.monotonic() >= end:
                return self.returncode is not None
        return True

    def _take_status(self, timeout: float) -> bool:
        assert self._status is not None
        ready, _, _ = select.select([self._status], [], [], timeout)
        if not ready:
            return False
        msg = self._status.recv(64).decode()
        if msg == "ended":  # the child is a zombie until we say we have seen it
            with contextlib.suppress(OSError):
                self._status.send(b"seen")
            msg = self._status.recv(64).decode()
        self._status.close()
        if not msg.startswith("exit "):  # the waiter died: the zygote was killed
            self.returncode = -signal.SIGKILL
            return True
        _word, status, maxrss = msg.split()
        self.maxrss_kb = int(maxrss)
        self.returncode = os.waitstatus_to_exitcode(int(status))
        return True

    def _internal_poll(self, *_args: Any, **_kwargs: Any) -> int | None:  # type: ignore[override]
        if self._status is None and self.returncode is None:
            return None
        self._read_status(0)
        return self.returncode

    def _wait(self, timeout: float | None) -> int:  # type: ignore[override]
        if timeout is None:
            self._read_status(None)
        else:
            end = time.monotonic() + timeout
            if not self._read_status(max(0.0, end - time.monotonic())):
                raise subprocess.TimeoutExpired(self.args, timeout)
        assert self.returncode is not None
        return self.returncode


def run_forked(
    args: Sequence[str],
    *,
    input: str | bytes | None = None,
    timeout: float | None = None,
    capture_output: bool = False,
    **kwargs: Any,
) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run`` of ``python -m inspect8s ARGS`` with a :class:`CliProcess`."""
    if input is not None:
        kwargs["stdin"] = subprocess.PIPE
    if capture_output:
        kwargs["stdout"] = subprocess.PIPE
        kwargs["stderr"] = subprocess.PIPE
    with CliProcess(args, **kwargs) as proc:
        try:
            stdout, stderr = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    return subprocess.CompletedProcess(list(args), proc.returncode, stdout, stderr)
