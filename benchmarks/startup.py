"""Start-up cost of the CLI: `inspect8s --version` and `inspect8s --help`.

Runs each command several times (alternating), prints the median wall time of each, and
checks with `python -X importtime` that neither kubernetes, grpc nor docker is imported.

    python benchmarks/startup.py [--runs 15]

Goals (issue 2): --version under 120 ms, --help under 200 ms on the 2-core machine.
Bytecode is compiled first (PYTHONDONTWRITEBYTECODE may be set in the environment, which
would otherwise make every run recompile the package).
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("kubernetes", "grpc", "docker")


def _script() -> list[str]:
    exe = shutil.which("inspect8s", path=str(Path(sys.executable).parent)) or shutil.which(
        "inspect8s"
    )
    if exe is None:
        return [sys.executable, "-m", "inspect8s"]
    return [exe]


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def heavy_imports(args: list[str]) -> list[str]:
    """Top-level heavy packages imported while running `inspect8s ARGS`."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "inspect8s", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    loaded = set()
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        name = line.rsplit("|", 1)[-1].strip()
        top = name.split(".")[0]
        if top in HEAVY:
            loaded.add(top)
    return sorted(loaded)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    opts = parser.parse_args()

    import inspect8s

    compileall.compile_dir(str(Path(inspect8s.__file__).parent), quiet=1)
    env_note = os.environ.get("PYTHONDONTWRITEBYTECODE")
    cmd = _script()
    for args in (["--version"], ["--help"]):  # warm the page cache
        _time([*cmd, *args])
    times: dict[str, list[float]] = {"--version": [], "--help": []}
    for _ in range(opts.runs):
        for flag in times:
            times[flag].append(_time([*cmd, flag]))
    print(f"command: {' '.join(cmd)}  runs: {opts.runs}  PYTHONDONTWRITEBYTECODE={env_note}")
    goals = {"--version": 0.120, "--help": 0.200}
    ok = True
    for flag, samples in times.items():
        med = statistics.median(samples)
        verdict = "ok" if med < goals[flag] else "OVER GOAL"
        ok &= med < goals[flag]
        print(
            f"inspect8s {flag:<9} median {med * 1000:6.1f} ms  "
            f"min {min(samples) * 1000:6.1f} ms  goal < {goals[flag] * 1000:.0f} ms  {verdict}"
        )
    for args in (["--version"], ["--help"], ["node", "--help"]):
        heavy = heavy_imports(args)
        print(f"heavy imports for `inspect8s {' '.join(args)}`: {', '.join(heavy) or 'none'}")
        ok &= not heavy
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
