"""Shared pieces of the hostile-input suite (tests/hostile/README.md lists every case).

* ``outside``: a directory outside every root and bundle the test builds, holding files
  whose contents carry a unique marker; no output, bundle or opened path may ever show it.
* ``run_cli``: ``python -m inspect8s`` in a subprocess with a deadline (the cases here are
  about exit codes, stderr lines, hangs and signals, which a real process shows), forked
  from a warm interpreter (tests/zygote.py); ``inspect8s_cmd`` is the command line of a
  fresh interpreter, for the few cases about the process itself (a closed pipe, dropped
  capabilities, strace).
* ``run_here``: the same run in this process (tests/clirun.py), for cases about what a run
  prints and its exit code only: its stderr also holds what a real process would have shown
  there besides inspect8s's own lines (writes to sys.stderr or file descriptor 2, warnings
  shown by default, log records of WARNING and above).
* ``traced``: the same under ``strace -f -y``, returning every path the process opened
  and every unix socket it connected to, as the kernel saw them.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clirun import cli
from tests.zygote import run_forked

REPO = Path(__file__).resolve().parents[2]
FIXTURE_BUNDLES = REPO / "tests" / "fixtures" / "bundles"  # replay bundles; see its SOURCE.md


@dataclass(frozen=True)
class Outside:
    """Files of "this machine" that a root or bundle must never reach."""

    path: Path
    marker: str

    def leaks(self, *texts: str | bytes) -> bool:
        needle = self.marker
        return any(
            needle in (t.decode("utf-8", "replace") if isinstance(t, bytes) else t) for t in texts
        )


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Outside:
    base = tmp_path_factory.mktemp("this-machine")
    marker = f"MARKER-{uuid.uuid4().hex}"
    (base / "os-release").write_text(f'PRETTY_NAME="{marker}"\nID=marker\n')
    (base / "hostname").write_text(f"{marker}\n")
    (base / "containerd").mkdir()
    (base / "containerd" / "config.toml").write_text(
        f'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "{marker}"\n'
    )
    (base / "kubelet.yaml").write_text(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
        f"staticPodPath: /{marker}\n"
    )
    (base / "evil.conf").write_text(f'[Service]\nEnvironment="KUBELET_EXTRA_ARGS=--{marker}=1"\n')
    return Outside(base, marker)


def inspect8s_cmd() -> list[str]:
    return [sys.executable, "-m", "inspect8s"]


def run_cli(
    *args: str,
    timeout: float = 60,
    env: dict[str, str] | None = None,
    stdout: int | None = None,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("INSPECT8S_DEBUG", None)
    return run_forked(
        args,
        capture_output=stdout is None,
        stdout=stdout,
        stderr=subprocess.PIPE if stdout is not None else None,
        text=True,
        timeout=timeout,
        env=full_env,
        input=input_text,
        cwd=REPO,
    )


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname}:{record.name}:{record.getMessage()}")


# What a real process does not show unless asked to (Python's default warning filters).
_HIDDEN_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


@contextlib.contextmanager
def _descriptor(fd: int) -> Iterator[list[str]]:
    """What is written to file descriptor ``fd`` meanwhile (one string, once done)."""
    got: list[str] = []
    with tempfile.TemporaryFile() as file:
        saved = os.dup(fd)
        os.dup2(file.fileno(), fd)
        try:
            yield got
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            file.seek(0)
            got.append(file.read().decode("utf-8", "replace"))


def run_here(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``inspect8s ARGS`` run in this process, with the environment, working directory and
    exit code ``run_cli`` gives. Its stdout and stderr are the CLI's own plus whatever else
    reached this process's stdout and stderr meanwhile, as a real process would show it; no
    thread of the test may write there in the meantime."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("INSPECT8S_DEBUG", None)
    records = _Records()
    stray_out, stray_err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    sys.stdout.flush()
    sys.stderr.flush()
    with (
        warnings.catch_warnings(record=True) as caught,
        _descriptor(1) as fd_out,
        _descriptor(2) as fd_err,
    ):
        warnings.simplefilter("default")
        root.addHandler(records)
        try:
            with contextlib.redirect_stdout(stray_out), contextlib.redirect_stderr(stray_err):
                result = cli(*args, env=full_env, cwd=str(REPO))
        finally:
            root.removeHandler(records)
    shown = [
        f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}"
        for w in caught
        if not issubclass(w.category, _HIDDEN_WARNINGS)
    ]
    # Written by a process, stdout is encoded strictly and stderr with backslash escapes
    # (Python's streams under a UTF-8 locale): text stdout cannot carry fails here too.
    result.stdout.encode("utf-8")
    stdout = stray_out.getvalue() + fd_out[0] + result.stdout
    stderr = (
        "".join(line + "\n" for line in (*records.lines, *shown))
        + stray_err.getvalue()
        + fd_err[0]
        + result.stderr.encode("utf-8", "backslashreplace").decode("utf-8")
    )
    return subprocess.CompletedProcess(list(args), result.returncode, stdout, stderr)


def one_line(stderr: str) -> str:
    """The single stderr line of a failed run (asserts there is exactly one)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    return lines[0]


@dataclass(frozen=True)
class Trace:
    opened: tuple[str, ...]  # paths of every descriptor an open call returned
    connected: tuple[str, ...]  # unix socket paths connect() was called with
    proc: subprocess.CompletedProcess[str]


_OPENED = re.compile(r"\b(?:open|openat|openat2|creat)\(.*\) = \d+<(?P<path>[^>]*)>")
_CONNECT = re.compile(
    r'\bconnect\(\d+(?:<[^>]*>)?, \{sa_family=AF_UNIX, sun_path="(?P<path>[^"]*)"'
)


def strace_available() -> bool:
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=none", "true"], capture_output=True, check=False
    )
    return probe.returncode == 0


@pytest.fixture(scope="session")
def strace() -> None:
    """Skip (or, under CI=true, fail) tests that check opened paths with strace."""
    if strace_available():
        return
    message = "strace is not installed or cannot trace here (scripts/test.sh installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@functools.cache
def _seccomp_bpf() -> tuple[str, ...]:
    """``--seccomp-bpf`` where this strace and kernel can: the kernel then stops the traced
    process only at the traced calls, not at every system call (the same log, at about
    half the CPU time of a traced run)."""
    probe = subprocess.run(
        ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=openat", "-o", os.devnull, "true"],
        capture_output=True,
        check=False,
    )
    return ("--seccomp-bpf",) if probe.returncode == 0 and not probe.stderr else ()


def traced(args: Sequence[str], log: Path, timeout: float = 120) -> Trace:
    """Run inspect8s under strace; every open that returned a descriptor, with the path
    the kernel gave it (``-y``), and every unix socket connect."""
    cmd = [
        "strace", "-f", "-qq", "-y", "-s", "4096", "-o", str(log), *_seccomp_bpf(),
        "-e", "trace=open,openat,openat2,creat,connect", "-e", "signal=none",
        *inspect8s_cmd(), *args,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env, cwd=REPO
    )
    opened: list[str] = []
    connected: list[str] = []
    for line in log.read_text(errors="replace").splitlines():
        if m := _OPENED.search(line):
            opened.append(m["path"])
        if m := _CONNECT.search(line):
            connected.append(m["path"])
    return Trace(tuple(opened), tuple(connected), proc)


def tree_files(directory: Path) -> dict[str, bytes]:
    """Every regular file under ``directory`` (links not followed) with its contents."""
    found: dict[str, bytes] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.is_symlink():
            found[str(path.relative_to(directory))] = path.read_bytes()
    return found
