"""Wall time of the unit suite (everything under tests/ but tests/integration) in two trees.

    python benchmarks/unit_suite.py --old /path/to/old/tree --old-python /old/venv/bin/python
    python benchmarks/unit_suite.py --old ... --old-python ... --same-files   # same tests
    python benchmarks/unit_suite.py --runs 5 ...
    python benchmarks/unit_suite.py --workers 0 ...    # the new tree in one process too
    python benchmarks/unit_suite.py --tmp /dev/shm ... # both trees' temporary files there

Runs the suite of each tree in turn (old, new, old, new, ...), after one warm-up run of
each that is not counted, and prints every run's wall time and CPU time (user + system of
pytest and the processes it started) with the load average taken just before it, then the
medians of each tree and the ratios new/old. On a busy machine the wall times stretch with
the load; the CPU times much less.

- Without ``--same-files``: each tree's whole unit suite.
- With ``--same-files``: in both trees only the old tree's unit test files that still exist
  in the new one (so the same tests, as they are written in each tree).

Each run is ``python -m pytest -q -p no:cacheprovider --basetemp=DIR -m "not integration"``
(for the new tree with ``--workers N``, forked after collection by tests/forkrun.py, as
scripts/pytest-runs.sh runs it: 4 by default; ``--workers 0`` runs it in one process, as
the old tree's suite ran) from the tree's root
(tests marked ``integration`` start the real test bed: they run under the machine's lock
with the integration tests, wherever their file is), with the tree's own interpreter (its
venv) and this process's environment (so PYTHONDONTWRITEBYTECODE, when set, holds for
both). ``DIR`` is one directory per tree, kept between runs: pytest empties
it at the start of each run, so every run pays for removing what its own tree's previous
run left, and never for another tree's (or another user's) directories under
/tmp/pytest-of-USER. The directories are under ``--tmp`` (default: the system's temporary
directory, /tmp; tests/conftest.py puts the new tree's on /dev/shm when it is a large
tmpfs, which ``--tmp /dev/shm`` gives both trees alike). A run with failing tests still
counts (it did all its work) and its failures are printed under it; a run that cannot start
stops the benchmark. Run it on an otherwise idle machine; the load averages say how idle it
was.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def unit_files(tree: Path) -> list[str]:
    """The unit test files of TREE (relative paths), integration tests left out."""
    return sorted(
        str(p.relative_to(tree))
        for p in (tree / "tests").rglob("test_*.py")
        if "integration" not in p.relative_to(tree / "tests").parts
    )


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_suite(
    python: str, tree: Path, basetemp: Path, files: list[str] | None, workers: int = 0
) -> tuple[float, float]:
    """One run's wall time and CPU time (user + system, of pytest and every process it
    waited for); its pytest summary line is printed (failures included)."""
    targets = files if files is not None else ["tests", "--ignore=tests/integration"]
    cmd = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={basetemp}"]
    cmd += ["-m", "not integration"]  # a test bed test outside tests/integration needs the lock
    if workers:
        cmd += ["--workers", str(workers)]
    cpu_before = _children_cpu()
    started = time.monotonic()
    proc = subprocess.run([*cmd, *targets], cwd=tree, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    cpu = _children_cpu() - cpu_before
    lines = proc.stdout.strip().splitlines()
    summary = lines[-1] if lines else proc.stderr.strip()[-500:]
    if proc.returncode == 1:  # tests failed: the run did all its work; say which
        failed = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
        summary += "".join(f"\n      {line}" for line in failed)
    elif proc.returncode != 0:  # usage error, interrupted, nothing collected
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-2000:])
        raise SystemExit(f"the unit suite of {tree} did not run (exit {proc.returncode})")
    print(f"    {summary}")
    return elapsed, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="the old tree's root")
    parser.add_argument("--old-python", required=True, help="the old tree's interpreter")
    parser.add_argument("--new", type=Path, default=REPO, help="the new tree (default: here)")
    parser.add_argument("--new-python", default=sys.executable)
    parser.add_argument("--runs", type=int, default=3, help="counted runs per tree")
    parser.add_argument("--warmups", type=int, default=1, help="uncounted runs per tree first")
    parser.add_argument("--same-files", action="store_true", help="only the shared test files")
    parser.add_argument(
        "--workers", type=int, default=4,
        help="forked workers for the new tree (scripts/pytest-runs.sh: 4; 0: none)",
    )  # fmt: skip
    parser.add_argument(
        "--tmp", default=None,
        help="where each tree's --basetemp goes (default: the system's temporary directory)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    old_tree, new_tree = args.old.resolve(), args.new.resolve()
    old_files = new_files = None
    if args.same_files:
        shared = [f for f in unit_files(old_tree) if (new_tree / f).is_file()]
        gone = sorted(set(unit_files(old_tree)) - set(shared))
        print(f"{len(shared)} test files in both trees; only in the old one: {gone or 'none'}")
        old_files = new_files = shared
    trees = {
        "old": (args.old_python, old_tree, old_files, 0),
        "new": (args.new_python, new_tree, new_files, args.workers),
    }
    print(f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}")
    new_runs = f"--workers {args.workers}" if args.workers else "one process"
    print(f"new tree: {new_runs}; old: one process")
    times: dict[str, list[float]] = {"old": [], "new": []}
    cpus: dict[str, list[float]] = {"old": [], "new": []}
    print(f"temporary files under {args.tmp or tempfile.gettempdir()}")
    with tempfile.TemporaryDirectory(prefix="i8s-unit-suite-", dir=args.tmp) as scratch:
        basetemps = {name: Path(scratch) / name for name in trees}
        for _ in range(args.warmups):
            for name, (python, tree, files, workers) in trees.items():
                print(f"warm-up {name}")
                run_suite(python, tree, basetemps[name], files, workers)
        for i in range(args.runs):
            for name, (python, tree, files, workers) in trees.items():
                load = os.getloadavg()
                elapsed, cpu = run_suite(python, tree, basetemps[name], files, workers)
                times[name].append(elapsed)
                cpus[name].append(cpu)
                loads = ", ".join(f"{x:.2f}" for x in load)
                print(
                    f"run {i + 1} {name}: {elapsed:6.2f} s wall, {cpu:6.2f} s CPU"
                    f"  (load average before: {loads})"
                )
    for label, figures in (("wall", times), ("CPU", cpus)):
        medians = {name: statistics.median(values) for name, values in figures.items()}
        for name, values in figures.items():
            runs = " / ".join(f"{v:.2f}" for v in values)
            print(f"{name} {label}: {runs} s, median {medians[name]:.2f} s")
        print(f"ratio new/old ({label} medians): {medians['new'] / medians['old']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
