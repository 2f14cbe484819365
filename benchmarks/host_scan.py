"""Host scan vs a minimal Python loop of 8 ``os.readlink`` per process (issue 3).

Starts ``--procs`` idle processes (``/bin/sleep``), then runs, alternately and ``--repeat``
times each, over every process in /proc:

* ``readlink-loop``: list /proc and call ``os.readlink`` on the eight ``ns/*`` links of each
  process (the reference: the least any namespace scan in Python can do);
* ``scan_host``: :func:`inspect8s.host.scan.scan_host` on ``HostFS("/")`` (stat, cmdline,
  cgroup, ns links, container identity; status for container processes);
* ``scan_host status=all`` (with ``--status-all``): the same, reading status for every process;
* with ``--cgroups``: ``scan_host`` reading ``/proc/<pid>/cgroup`` per process
  (``cgroups="proc"``), taking membership from every hierarchy's ``cgroup.procs``
  (``cgroups="walk"``), and the walk of the cgroup2 hierarchy alone (what a cgroup v2 host
  pays instead of the per-process reads; this machine's cgroup2 mount is timed whatever
  its layout);
* with ``--root DIR``: ``scan_host`` on ``HostFS(DIR)`` as well, where every path is resolved
  inside the root (``--root /proc/self/root`` names this machine's ``/`` through a root
  that is not ``/``, so the same processes are read the way ``inspect8s --root /host``
  reads a DaemonSet's host); ``--walk`` adds the same with the component-by-component
  resolver that replaces ``openat2`` where the kernel lacks it.

Prints the median of each and the ratio scan/loop (goal: at most 2.0). Kills exactly the
processes it started, also on Ctrl-C.

    python benchmarks/host_scan.py --procs 5000 --repeat 7
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from inspect8s.host.cgroups import read_layout
from inspect8s.host.fs import HostFS
from inspect8s.host.scan import cgroup_membership, scan_host

NS_TYPES = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")


def readlink_loop() -> int:
    """The reference loop: 8 readlinks per process, nothing else."""
    count = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        base = f"/proc/{name}/ns/"
        try:
            links = [os.readlink(base + t) for t in NS_TYPES]
        except OSError:
            continue
        count += len(links) > 0
    return count


def start_idle(n: int) -> list[subprocess.Popen[bytes]]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(n):
            procs.append(
                subprocess.Popen(
                    ["/bin/sleep", "3600"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
    except BaseException:
        stop(procs)
        raise
    return procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        p.wait()


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--procs", type=int, default=5000, help="idle processes to start")
    ap.add_argument("--repeat", type=int, default=7, help="runs of each, alternating")
    ap.add_argument("--status-all", action="store_true", help="also time status='all'")
    ap.add_argument("--cgroups", action="store_true", help="also time the cgroup sources")
    ap.add_argument("--root", help="also time scan_host on HostFS(ROOT), e.g. /proc/self/root")
    ap.add_argument("--walk", action="store_true", help="with --root: also time the component walk")
    args = ap.parse_args(argv)

    fs = HostFS("/")
    cases: list[tuple[str, Callable[[], object]]] = [
        ("readlink-loop", readlink_loop),
        ("scan_host", lambda: scan_host(fs)),
    ]
    if args.status_all:
        cases.append(("scan_host status=all", lambda: scan_host(fs, status="all")))
    if args.cgroups:
        layout = read_layout(fs)
        cases.append(("scan_host cgroups=proc", lambda: scan_host(fs, cgroups="proc")))
        cases.append(("scan_host cgroups=walk", lambda: scan_host(fs, cgroups="walk")))
        if layout.v2 is not None:
            cases.append(("cgroup2 walk alone", lambda: cgroup_membership(fs, layout, "0::/\n")))

    if args.root:
        rooted = HostFS(args.root)
        cases.append((f"scan_host --root ({rooted.confinement})", lambda: scan_host(rooted)))
        if args.walk:
            walked = HostFS(args.root, use_openat2=False)
            cases.append(("scan_host --root (walk)", lambda: scan_host(walked)))

    procs = start_idle(args.procs)
    try:
        seen = len(scan_host(fs, mountinfo="none").processes)
        times: dict[str, list[float]] = {name: [] for name, _ in cases}
        for _name, fn in cases:  # warm-up (dentry cache, imports)
            fn()
        for _ in range(args.repeat):
            for name, fn in cases:
                times[name].append(timed(fn))
    finally:
        stop(procs)

    base = statistics.median(times["readlink-loop"])
    print(f"processes scanned: {seen} ({args.procs} started), runs: {args.repeat} each")
    for name, values in times.items():
        med = statistics.median(values)
        print(
            f"{name:34s} median {med:8.1f} ms  min {min(values):8.1f}  max {max(values):8.1f}"
            f"  ratio {med / base:5.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
