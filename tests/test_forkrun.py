"""tests/forkrun.py: a real pytest run of a small suite on three forked workers.

One run holds every case (passing and failing tests in two modules, a test that kills its
worker, a warning, captured output, a module fixture); a second checks that ``-x`` stops
handing out work. Both are real ``python -m pytest`` processes, so the workers are real
forks of a real collection.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

FIRST = """
import os, time, warnings
from pathlib import Path
import pytest

@pytest.fixture(scope="module")
def setups(tmp_path_factory):
    mark = tmp_path_factory.getbasetemp() / f"first-module-setup-{os.getpid()}"
    mark.write_text("x")
    return mark

@pytest.mark.parametrize("n", range(12))
def test_passes(n, setups, tmp_path):
    (tmp_path / "own").write_text(str(n))
    time.sleep(0.01)
    assert setups.exists()

def test_fails_with_its_own_output():
    print("output of the failing test")
    assert 1 == 2

def test_warns():
    warnings.warn("a warning from a worker", DeprecationWarning)
    (Path(__file__).parent / "warned").write_text("x")

def test_kills_its_worker():
    print("never shown")
    os._exit(3)
"""

SECOND = """
import os
import time
import warnings
from pathlib import Path

warnings.warn("a warning while collecting")  # recorded by the parent, before any fork

def test_reports_its_parent():
    # started before another worker's test_warns ends, most often: their lines interleave
    deadline = time.monotonic() + 5
    while not (Path(__file__).parent / "warned").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    print(f"ppid {os.getppid()}")

def test_prints_and_passes():
    print("output of a passing test")
"""


def _suite(tmp_path: Path) -> Path:
    root = tmp_path / "suite"
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "test_first.py").write_text(FIRST)
    (root / "test_second.py").write_text(SECOND)
    return root


def _section(out: str, test: str) -> str:
    """The report section of TEST in pytest's output: up to the next section's rule."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if f" {test} " in line and line[0] == "_")
    end = next(
        i for i in range(start + 1, len(lines)) if lines[i][:1] in ("_", "=") and " " in lines[i]
    )
    return "\n".join(lines[start:end])


def _parent_pid(out: str) -> int:
    (line,) = [line for line in out.splitlines() if line.startswith("ppid ")]
    return int(line.split()[1])


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.forkrun", "-p", "no:cacheprovider",
         f"--basetemp={root.parent / 'basetemp'}", *args, str(root)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip


def test_forked_workers_report_every_outcome_to_the_parent(tmp_path: Path) -> None:
    root = _suite(tmp_path)
    junit = tmp_path / "junit.xml"
    proc = _pytest(root, "--workers", "3", "-v", "-rA", f"--junitxml={junit}")
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    # -v: one whole line per test, never one test's name with another's outcome
    progress = out[out.index("collected 17 items") : out.index(" FAILURES ")].splitlines()[1:]
    lines = [line for line in progress if line.strip() and not line.startswith("=")]
    assert len(lines) == 17, out
    assert all(re.fullmatch(r"test_\w+\.py::\S+ (PASSED|FAILED) +\[ *\d+%\]", x) for x in lines)
    # each warning once: the collection's (the parent's own) and the worker's
    assert "2 failed, 15 passed, 2 warnings" in out, out
    # the failing test shows its own output and nobody else's
    failure = _section(out, "test_fails_with_its_own_output")
    assert "output of the failing test" in failure
    assert "output of a passing test" not in failure
    # the test that ended its worker fails with the worker's exit status; nothing is lost
    assert "FAILED test_first.py::test_kills_its_worker" in out
    assert "the worker process running this test ended: exit status 3" in out
    assert "a warning from a worker" in out and "DeprecationWarning" in out
    # the tests ran in workers forked by the pytest process (whose parent is this one)
    assert _parent_pid(out) != os.getpid()
    # one basetemp for all workers, module fixtures set up once per worker at most
    setups = list((tmp_path / "basetemp").glob("first-module-setup-*"))
    assert 1 <= len(setups) <= 4  # three workers, one forked again after the kill
    cases = ET.parse(junit).getroot().iter("testcase")
    assert len(list(cases)) == 17


STOPS = """
import time
from pathlib import Path

import pytest

MARK = Path(__file__).with_name("failed")

def test_a_fails():
    MARK.write_text("x")
    assert False

def test_b_first_of_the_rest():
    while not MARK.exists():
        time.sleep(0.01)

@pytest.mark.parametrize("n", range(30))
def test_c_rest(n):
    time.sleep(0.1)
"""


def test_exitfirst_stops_handing_out_tests(tmp_path: Path) -> None:
    """The other worker waits for the failure, then finishes at most the chunk it holds:
    far fewer than the 31 tests it would run if the parent kept handing out work."""
    root = tmp_path / "suite"
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "test_stops.py").write_text(STOPS)
    proc = _pytest(root, "--workers", "2", "-x", "-q")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "stopping after 1 failures" in proc.stdout, proc.stdout
    summary = proc.stdout.strip().splitlines()[-1]
    passed = int(summary.split(" passed")[0].split()[-1]) if " passed" in summary else 0
    assert passed < 10, proc.stdout


def test_without_workers_the_run_is_pytests_own(tmp_path: Path) -> None:
    root = _suite(tmp_path)
    (root / "test_first.py").write_text(FIRST.replace("os._exit(3)", "pass"))
    proc = _pytest(root, "-q", "-rP")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 16 passed, 2 warnings" in proc.stdout
    assert _parent_pid(proc.stdout) == os.getpid()  # the pytest process ran it itself
