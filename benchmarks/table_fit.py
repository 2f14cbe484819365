"""Fitting tables to a terminal: the cost of render/layout.py against full rows.

    python benchmarks/table_fit.py [--rows 5000] [--runs 5] [--width 100]

Builds a node's CONTAINERS table of N synthetic containers (pod labels, 13-digit IDs, PIDs,
limits, host namespaces: what `inspect8s node` prints) and an audit-like table of N
findings whose messages hold a cgroup path with a 64-digit container ID, then times,
several times each:

* ``tabulate`` full rows (what pipes and ``-o wide`` get),
* ``fit_table`` at ``--width`` columns (what a terminal gets),

and prints the medians and the ratio. Goal: fitting a 5,000-row table takes under a second
and under 5x the full rows, so a terminal never waits noticeably for the layout.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspect8s.render.layout import Screen, fit_table
from inspect8s.render.table import FINDING_COLUMNS
from inspect8s.render.views import CONTAINER_COLUMNS


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def container_rows(n: int, rng: random.Random) -> list[list[object]]:
    rows: list[list[object]] = []
    for i in range(n):
        rows.append(
            [
                f"team-{i % 40}/service-{i // 2}-{_hex(rng, 10)}-{_hex(rng, 5)}",
                "(sandbox)" if i % 2 else f"app-{i % 7}",
                "containerd" if i % 9 else "docker",
                _hex(rng, 13),
                10_000 + i,
                9_000 + i // 2,
                ("Guaranteed", "Burstable", "BestEffort")[i % 3],
                f"{64 * (1 + i % 8)}Mi",
                f"{100 * (1 + i % 4)}m",
                "-",
                "net,uts" if i % 11 == 0 else "-",
            ]
        )
    return rows


def finding_rows(n: int, rng: random.Random) -> list[list[object]]:
    return [
        [
            ("high", "medium", "low")[i % 3],
            "I8S-ISO-PIDS-UNLIMITED",
            f"container/{_hex(rng, 12)}",
            "no pids.max on cgroup /kubepods.slice/kubepods-burstable.slice/"
            f"kubepods-burstable-pod{_hex(rng, 8)}_{_hex(rng, 4)}.slice/"
            f"cri-containerd-{_hex(rng, 64)}.scope or its parent",
            "",
        ]
        for i in range(n)
    ]


def median_time(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--width", type=int, default=100)
    opts = parser.parse_args()
    from tabulate import tabulate

    rng = random.Random(7)
    screen = Screen(width=opts.width)
    for name, rows, columns in (
        ("containers", container_rows(opts.rows, rng), CONTAINER_COLUMNS),
        ("findings", finding_rows(opts.rows, rng), FINDING_COLUMNS),
    ):
        headers = [c.header for c in columns]
        full = median_time(
            lambda rows=rows, headers=headers: tabulate(
                rows, headers=headers, tablefmt="plain", disable_numparse=True
            ),
            opts.runs,
        )
        fitted = median_time(
            lambda rows=rows, columns=columns: fit_table(rows, columns, opts.width, screen=screen),
            opts.runs,
        )
        lines = fit_table(rows, columns, opts.width, screen=screen)
        widest = max(len(line) for line in lines)
        print(
            f"{name:10} {opts.rows} rows: full rows {full * 1000:7.1f} ms, "
            f"fitted to {opts.width} {fitted * 1000:7.1f} ms ({fitted / full:.2f}x), "
            f"{len(lines)} lines, widest {widest}"
        )


if __name__ == "__main__":
    main()
