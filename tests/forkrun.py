"""The collected tests run by N worker processes forked after collection (``--workers N``).

pytest collects the suite once; this plugin's ``pytest_runtestloop`` then forks N workers,
which inherit the collected items and run them, and reports what they send back through
the parent's own hooks (the terminal, ``-ra``, ``--durations``, ``--junitxml``, ``-x``
all work from the parent's reports). Unlike pytest-xdist's workers, these start no
interpreter and collect nothing again: a worker costs a fork, so more workers than cores
pay off where tests wait (servers that hang, Ctrl-C at given moments, a browser).

- Work goes out in chunks of one module's consecutive tests, smaller as the queue runs
  down, so that the run ends evenly; a worker asks for its next chunk before it runs the
  last test it holds, so that it tears down fixtures only when the next test needs other
  ones (``nextitem``, as pytest's own loop).
- A worker that dies mid-test fails that test with its exit status; the tests it held and
  had not started go back to the queue, and a new worker is forked in its place.
- Ctrl-C reaches every worker (one process group); the parent then ends them and reports
  the run as interrupted.
- Each worker captures output with its own files (the parent's capture is stopped around
  each fork), reseeds ``random`` and sends its warnings to the parent's summary.
- With ``--pdb`` the tests run in the parent as without ``--workers`` (the debugger needs
  the terminal).
- ``pytest_forkrun_before_fork(session)`` lets a conftest start what the workers should
  share (tests/zygote.py's warm interpreter) before the first fork.

Frames on each worker's socket: four bytes of length, then JSON.
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import warnings
from collections import deque
from typing import Any

import pytest

_HEADER = struct.Struct(">I")


class _Hooks:
    @pytest.hookspec
    def pytest_forkrun_before_fork(self, session: pytest.Session) -> None:
        """In the parent, collection done, before the first worker is forked."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(_Hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("forkrun").addoption(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="run the collected tests in N processes forked after collection (0: here)",
    )


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode()
    sock.sendall(_HEADER.pack(len(data)) + data)


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _recv(sock: socket.socket) -> dict[str, Any] | None:
    header = _recv_exactly(sock, _HEADER.size)
    if header is None:
        return None
    body = _recv_exactly(sock, _HEADER.unpack(header)[0])
    return None if body is None else json.loads(body)


# -- the worker -----------------------------------------------------------------------------


class _WorkerReporter:
    """Registered in a worker in the terminal's place: sends what the parent reports."""

    def __init__(self, config: pytest.Config, sock: socket.socket) -> None:
        self.config = config
        self.sock = sock
        # pytest_warning_recorded is a historic hook: registering replays the warnings the
        # parent recorded before the fork (its own and those earlier workers sent), which
        # are the parent's already
        self.replaying = True

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        _send(self.sock, {"event": "logstart", "nodeid": nodeid, "location": location})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = self.config.hook.pytest_report_to_serializable(config=self.config, report=report)
        _send(self.sock, {"event": "report", "data": data})

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        _send(self.sock, {"event": "logfinish", "nodeid": nodeid, "location": location})

    def pytest_warning_recorded(
        self, warning_message: warnings.WarningMessage, when: str, nodeid: str, location: Any
    ) -> None:
        if self.replaying:
            return
        _send(
            self.sock,
            {
                "event": "warning",
                "message": str(warning_message.message),
                "category": warning_message.category.__name__,
                "filename": warning_message.filename,
                "lineno": warning_message.lineno,
                "when": when,
                "nodeid": nodeid,
            },
        )


def _worker(session: pytest.Session, sock: socket.socket, capturing: bool) -> int:
    config = session.config
    random.seed()
    manager = config.pluginmanager
    terminal = manager.getplugin("terminalreporter")
    if terminal is not None:
        manager.unregister(terminal)
    reporter = _WorkerReporter(config, sock)
    manager.register(reporter, "forkrun-worker")
    reporter.replaying = False
    capman = manager.getplugin("capturemanager")
    if capturing and capman is not None:
        capman.start_global_capturing()
        capman.suspend_global_capture()

    pending: deque[pytest.Item] = deque()
    exhausted = False

    def take(answer: dict[str, Any] | None) -> None:
        nonlocal exhausted
        if answer is None or answer.get("stop"):
            pending.clear()
            exhausted = True
            return
        if not answer["items"]:
            exhausted = True
        pending.extend(session.items[i] for i in answer["items"])

    def fetch() -> None:
        _send(sock, {"event": "need"})
        take(_recv(sock))

    fetch()
    while pending:
        if select.select([sock], [], [], 0)[0]:  # the parent said stop (-x, maxfail)
            take(_recv(sock))
            break
        item = pending.popleft()
        if not pending and not exhausted:
            fetch()
        nextitem = pending[0] if pending else None
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
    # What pytest's session end does: tear down what the last test left set up (nothing
    # when it ran with nextitem None, which reported its teardown; the fixtures of a test
    # not run, when stopped: that run has failed already, so an error here is not news).
    with contextlib.suppress(Exception):
        session._setupstate.teardown_exact(None)
    _send(sock, {"event": "done"})
    return 0


# -- the parent -----------------------------------------------------------------------------


class _Worker:
    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid = pid
        self.sock = sock
        self.held: deque[int] = deque()  # sent, not yet finished
        self.events: list[dict[str, Any]] = []  # what it sent of the test it runs, so far
        self.done = False

    @property
    def running(self) -> str | None:
        """The test between its logstart and its logfinish."""
        return self.events[0]["nodeid"] if self.events else None


class _Controller:
    def __init__(self, session: pytest.Session, count: int) -> None:
        self.session = session
        self.config = session.config
        self.count = count
        self.queue: deque[int] = deque(range(len(session.items)))
        self.workers: dict[int, _Worker] = {}  # by socket fileno
        self.index = {item.nodeid: i for i, item in enumerate(session.items)}
        self.stopping = False

    def _chunk(self) -> list[int]:
        if self.stopping or not self.queue:
            return []
        size = max(1, len(self.queue) // (self.count * 4))
        first = self.session.items[self.queue[0]]
        chunk = [self.queue.popleft()]
        while self.queue and len(chunk) < size:
            if self.session.items[self.queue[0]].path != first.path:
                break
            chunk.append(self.queue.popleft())
        return chunk

    def _fork(self) -> None:
        capman = self.config.pluginmanager.getplugin("capturemanager")
        capturing = capman is not None and capman.is_globally_capturing()
        if capturing:
            capman.stop_global_capturing()
        ours, theirs = socket.socketpair()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                ours.close()
                for worker in self.workers.values():
                    worker.sock.close()
                code = _worker(self.session, theirs, capturing)
            except BaseException:  # an interrupted or broken worker only ends
                code = 2
            finally:
                os._exit(code)
        theirs.close()
        if capturing:
            capman.start_global_capturing()
        self.workers[ours.fileno()] = _Worker(pid, ours)

    def _report(self, data: dict[str, Any]) -> None:
        report = self.config.hook.pytest_report_from_serializable(config=self.config, data=data)
        self.config.hook.pytest_runtest_logreport(report=report)
        if (self.session.shouldfail or self.session.shouldstop) and not self.stopping:
            self.stopping = True
            for worker in self.workers.values():
                if not worker.done:
                    with contextlib.suppress(OSError):
                        _send(worker.sock, {"stop": True})

    def _warning(self, message: dict[str, Any]) -> None:
        category = getattr(builtins, message["category"], None)
        if not (isinstance(category, type) and issubclass(category, Warning)):
            category = UserWarning
        text = message["message"]
        if category is UserWarning and message["category"] != "UserWarning":
            text = f"{message['category']}: {text}"
        warning = warnings.WarningMessage(
            category(text), category, message["filename"], message["lineno"]
        )
        self.config.hook.pytest_warning_recorded.call_historic(
            kwargs={
                "warning_message": warning,
                "when": message["when"],
                "nodeid": message["nodeid"],
                "location": None,
            }
        )

    def _handle(self, worker: _Worker, message: dict[str, Any]) -> None:
        event = message["event"]
        if event == "need":
            chunk = self._chunk()
            worker.held.extend(chunk)
            with contextlib.suppress(OSError):  # it died meanwhile: its end requeues them
                _send(worker.sock, {"items": chunk})
        elif event == "logstart":  # a test's events go to the hooks together, at its end:
            worker.events = [message]  # the terminal writes one test at a time
        elif event == "report" and worker.events:
            worker.events.append(message)
        elif event == "report":
            self._report(message["data"])
        elif event == "logfinish":
            self._replay(worker, [*worker.events, message])
        elif event == "warning":
            self._warning(message)
        elif event == "done":
            worker.done = True

    def _replay(self, worker: _Worker, events: list[dict[str, Any]]) -> None:
        worker.events = []
        for message in events:
            if message["event"] == "report":
                self._report(message["data"])
                continue
            hook = getattr(self.config.hook, f"pytest_runtest_{message['event']}")
            hook(nodeid=message["nodeid"], location=tuple(message["location"]))
            if message["event"] == "logfinish":
                index = self.index.get(message["nodeid"])
                if index in worker.held:
                    worker.held.remove(index)

    def _ended(self, worker: _Worker) -> None:
        """WORKER said it is done, or its socket closed: reap it; if it was not done, fail
        the test it was running and requeue the ones it held."""
        _pid, status = os.waitpid(worker.pid, 0)
        worker.sock.close()
        if worker.done:
            return
        if worker.running is not None:  # what it sent of that test, then its failure
            nodeid = worker.running
            index = self.index.get(nodeid)
            item = self.session.items[index] if index is not None else None
            location = item.location if item is not None else ("", None, nodeid)
            report = pytest.TestReport(
                nodeid=nodeid,
                location=location,
                keywords={},
                outcome="failed",
                longrepr=f"the worker process running this test ended: "
                f"{_status_text(status)} (tests/forkrun.py)",
                when="call",
            )
            data = self.config.hook.pytest_report_to_serializable(config=self.config, report=report)
            finish = {"event": "logfinish", "nodeid": nodeid, "location": list(location)}
            self._replay(worker, [*worker.events, {"event": "report", "data": data}, finish])
        self.queue.extendleft(reversed(worker.held))
        if self.queue and not self.stopping:
            self._fork()

    def run(self) -> None:
        self.config.hook.pytest_forkrun_before_fork(session=self.session)
        factory = getattr(self.config, "_tmp_path_factory", None)
        if factory is not None:
            factory.getbasetemp()  # made once here: each worker would empty it for itself
        gc.collect()
        gc.freeze()  # the collected suite: out of the collector's reach, so not copied by it
        try:
            for _ in range(min(self.count, len(self.queue))):
                self._fork()
            while self.workers:
                readable, _, _ = select.select(list(self.workers), [], [])
                for fileno in readable:
                    worker = self.workers[fileno]
                    message = _recv(worker.sock)
                    if message is not None:
                        self._handle(worker, message)
                    # Done, or its socket closed: no waiting for the end of file after a
                    # "done" (a process a test forked may hold the socket open longer).
                    if message is None or worker.done:
                        del self.workers[fileno]
                        self._ended(worker)
        except BaseException:
            for worker in self.workers.values():
                _end(worker.pid)
            raise


def _status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _end(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    count = session.config.getoption("workers")
    if count <= 0 or session.config.option.collectonly or not session.items:
        return None
    if session.config.getoption("usepdb", False):
        return None  # a debugger wants this terminal: the tests run here, one by one
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        return None  # pytest's own loop says so
    terminal = session.config.pluginmanager.getplugin("terminalreporter")
    if terminal is not None:
        terminal.showfspath = False  # reports come interleaved: progress dots, no file names
    _Controller(session, count).run()
    if session.shouldfail:
        raise session.Failed(session.shouldfail)
    if session.shouldstop:
        raise session.Interrupted(session.shouldstop)
    return True
