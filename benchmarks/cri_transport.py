"""Idle `inspect8s node -o json` with real runtimes: the cost of the CRI transport.

    sudo python benchmarks/cri_transport.py [--runs 9] [--other /path/to/bin/inspect8s]

Starts the project's test bed (a containerd with two pods, a dockerd with one container,
tests/testbed/), compiles the bytecode of this checkout (and of ``--other``'s, another
installation to compare with, such as one that still used grpcio), then times alternately
``inspect8s node -o json``, the same with ``--no-runtime-calls`` and ``--other``'s
``node -o json``, and prints the medians and the load average. Finally it lists the heavy
packages `node -o json` imported here (``python -X importtime``): grpc must not be one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from node_scan import _inspect8s, _runtimes, run_child  # noqa: E402

HEAVY = ("grpc", "kubernetes", "docker", "google")


def _compile(exe: str) -> None:
    python = str(Path(exe).with_name("python"))
    subprocess.run(
        [python, "-c", "import compileall, inspect8s, os; "
         "compileall.compile_dir(os.path.dirname(inspect8s.__file__), quiet=1)"],
        check=True,
    )  # fmt: skip


def heavy_imports() -> dict[str, float]:
    """Heavy packages `node -o json` imports, with the import time of their modules (ms)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "inspect8s", "node", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    found: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        self_us, _cumulative, name = line[len("import time:") :].split("|")
        top = name.strip().split(".")[0]
        if top in HEAVY and self_us.strip().isdigit():
            found[top] = found.get(top, 0.0) + int(self_us) / 1000
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--other", help="another inspect8s executable to compare with")
    opts = parser.parse_args()

    mine = _inspect8s()
    if len(mine) == 1:
        _compile(mine[0])
    commands = {
        "node -o json": [*mine, "node", "-o", "json"],
        "node -o json --no-runtime-calls": [*mine, "node", "-o", "json", "--no-runtime-calls"],
    }
    if opts.other:
        _compile(opts.other)
        commands["other: node -o json"] = [opts.other, "node", "-o", "json"]
    times: dict[str, list[float]] = {name: [] for name in commands}
    with _runtimes(True):
        for cmd in commands.values():  # warm the page cache
            run_child(cmd)
        for _ in range(opts.runs):
            for name, cmd in commands.items():
                times[name].append(run_child(cmd)[0])
        heavy = heavy_imports()
        load = os.getloadavg()
    print(f"runs: {opts.runs}; containerd (2 pods) and dockerd (1 container) answering")
    for name, samples in times.items():
        print(
            f"{name:<34} median {statistics.median(samples) * 1000:7.1f} ms  "
            f"min {min(samples) * 1000:7.1f} ms  max {max(samples) * 1000:7.1f} ms"
        )
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        "heavy imports of `node -o json`: "
        + (", ".join(f"{k} ({v:.1f} ms)" for k, v in sorted(heavy.items())) or "none")
    )
    return 1 if "grpc" in heavy else 0


if __name__ == "__main__":
    sys.exit(main())
