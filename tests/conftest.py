"""Shared pytest fixtures; ``testbed`` is the real runtime test bed (tests/testbed/).

Tests that use ``testbed`` are integration tests (mark them ``@pytest.mark.integration``).
Without root or the Debian packages they skip with the reason, except under ``CI=true``,
where a test bed that cannot start fails them: a green CI run means they ran.
scripts/pytest-runs.sh runs them in a pytest run of their own, in one process, after the
other tests (those on workers forked after collection, tests/forkrun.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from testbed import TestBed, missing_requirements

REPO = Path(__file__).resolve().parents[1]
pytest_plugins = ("tests.forkrun",)


# The test modules pytest rewrites, and the package modules they import, are compiled once
# and cached outside the checkout (under ~/.cache), PYTHONDONTWRITEBYTECODE=1 or not: the
# suite's collection takes about 1.5 s instead of 4 s from the second run on. The Python
# processes the tests start (the CLI, kubectl's plugin, tests/zygote.py, pytest runs of
# tests/test_forkrun.py) use the same cache through PYTHONPYCACHEPREFIX, as an installed
# package has its modules compiled: without it each compiled the package anew.
# INSPECT8S_TEST_PYCACHE=0 turns this off.
def _pycache_prefix() -> str | None:
    if os.environ.get("INSPECT8S_TEST_PYCACHE", "1") == "0" or sys.pycache_prefix is not None:
        return None
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no home directory: compile as the environment says
        return None
    return str(base / "inspect8s-tests" / "pycache")


if (_prefix := _pycache_prefix()) is not None:
    sys.pycache_prefix = _prefix
    sys.dont_write_bytecode = False
    os.environ["PYTHONPYCACHEPREFIX"] = _prefix
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


# The tests' temporary files (tmp_path and tempfile's) go to memory where the machine has
# a large tmpfs that allows executables (/dev/shm on most Linux machines; not a container's
# 64 MiB noexec one): the unit tests create and remove about 20,000 files a run, about three
# times as fast there as on a disk's ext4. pytest keeps its last three runs' directories,
# as elsewhere. INSPECT8S_TEST_TMPFS=0, TMPDIR or PYTEST_DEBUG_TEMPROOT leave it as it is.
_TMPFS = "/dev/shm"
_TMPFS_LEAST_FREE = 2 << 30


def _memory_temproot() -> str | None:
    if os.environ.get("INSPECT8S_TEST_TMPFS", "1") == "0":
        return None
    if "TMPDIR" in os.environ or "PYTEST_DEBUG_TEMPROOT" in os.environ:
        return None
    try:
        with open("/proc/self/mounts", encoding="utf-8") as mounts:
            entries = [line.split() for line in mounts]
        free = os.statvfs(_TMPFS)
    except OSError:
        return None
    mounted = [e for e in entries if len(e) > 3 and e[1] == _TMPFS]  # the last one is seen
    if not mounted or mounted[-1][2] != "tmpfs":
        return None
    if {"noexec", "ro"} & set(mounted[-1][3].split(",")):
        return None
    if free.f_bavail * free.f_frsize < _TMPFS_LEAST_FREE or not os.access(_TMPFS, os.W_OK):
        return None
    return _TMPFS


if (_temproot := _memory_temproot()) is not None:
    os.environ["PYTEST_DEBUG_TEMPROOT"] = _temproot
    tempfile.tempdir = _temproot


@pytest.fixture(scope="session")
def testbed_available() -> None:
    """Skip (or, under CI=true, fail) the test when the test bed cannot run here."""
    reasons = missing_requirements()
    if not reasons:
        return
    message = "runtime test bed unavailable: " + "; ".join(reasons)
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: integration tests must run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def testbed(testbed_available: None) -> Iterator[TestBed]:
    """One private containerd + dockerd for the whole session, torn down at its end."""
    with TestBed() as bed:
        yield bed


def _unavailable(message: str) -> None:
    """Skip with MESSAGE, or fail under CI=true (where the release artefacts must build)."""
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: it must build here)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def agent_image_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The agent image as scripts/build-image.sh writes it, built once per session.

    ``INSPECT8S_AGENT_IMAGE_TAR=FILE`` uses an archive built before instead. The build needs
    root, mmdebstrap, a Debian mirror and PyPI; it takes one to two minutes.
    """
    given = os.environ.get("INSPECT8S_AGENT_IMAGE_TAR")
    if given:
        return Path(given)
    if os.geteuid() != 0:
        _unavailable("building the agent image needs root (mmdebstrap, chroot)")
    if shutil.which("mmdebstrap") is None:
        _unavailable("building the agent image needs mmdebstrap (Debian package mmdebstrap)")
    out = tmp_path_factory.mktemp("agent-image") / "agent.oci.tar"
    started = time.monotonic()
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-image.sh"), str(out)],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    (out.parent / "build-seconds").write_text(f"{time.monotonic() - started:.1f}\n")
    return out


def pytest_collection(session: pytest.Session) -> None:
    """With forked workers, the zygote starts importing now, beside the collection, on the
    other core (pytest_forkrun_before_fork waits for it)."""
    config = session.config
    forked = config.getoption("workers", 0) > 0 and not config.getoption("usepdb", False)
    if forked and not config.option.collectonly:
        from tests import zygote

        zygote.start(wait=False)


def pytest_forkrun_before_fork(session: pytest.Session) -> None:
    """One warm CLI interpreter for all the workers (tests/forkrun.py, tests/zygote.py), and
    the modules the tests' in-process CLI runs import lazily imported once, here, rather than
    by each worker (no test in a worker looks at what is imported: those that do start a
    fresh interpreter)."""
    from tests import zygote

    zygote.warm()
    zygote.start()
