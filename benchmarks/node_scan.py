"""Node scan performance: the host scan and `inspect8s node -o json` against references.

    sudo python benchmarks/node_scan.py [--procs 5000] [--own-ns 200] [--runs 5] [--scale 10000]
                                       [--no-runtimes]

Creates the load itself (N idle processes forked from one parent, no exec; ``--own-ns`` of
them in their own UTS and IPC namespaces, so that lsns has namespaces to list), starts the
project's test bed (a real containerd with two pods and a dockerd with one container,
tests/testbed/) unless ``--no-runtimes``, then runs, alternately and several times each:

* a minimal Python loop making 8 ``os.readlink`` calls per process (the floor),
* the host scan alone (``inspect8s.host.scan.scan_host``: process -> namespaces, cgroup,
  container identity),
* the whole ``inspect8s node -o json`` (subprocess; peak RSS from ``wait4``), the test
  bed's runtimes answering (found by discovery, no endpoint given),
* ``lsns -J`` (util-linux) as the tool people use today,

prints the medians and the ratios against the goals, then repeats the scan at ``--scale``
processes for the linearity ratio, and times ``inspect8s node -o json`` with the load gone
(idle, with containerd and dockerd present). Everything it started is stopped at the end,
also on Ctrl-C.

Goals: scan <= 2x the minimal loop; node -o json <= 0.3x lsns -J, <= 2.5x the minimal loop
and < 150 MB peak RSS; scan(10k)/scan(5k) <= 2.1; idle `inspect8s node -o json` <= 300 ms.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

NS_TYPES = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")


class Load:
    """N idle processes: children of one holder process, so one kill removes them all."""

    def __init__(self, count: int, own_ns: int = 0) -> None:
        self.count = count
        self.own_ns = min(own_ns, count)
        self.holder: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Load:
        code = (
            "import ctypes, os, signal, sys, time\n"
            "n, own = int(sys.argv[1]), int(sys.argv[2]); kids = []\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "for i in range(n):\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
            "        if i < own: libc.unshare(0x04000000 | 0x08000000)  # NEWUTS|NEWIPC\n"
            "        while True: signal.pause()\n"
            "    kids.append(pid)\n"
            "def stop(*_):\n"
            "    for k in kids:\n"
            "        try: os.kill(k, signal.SIGKILL)\n"
            "        except OSError: pass\n"
            "    for k in kids:\n"
            "        try: os.waitpid(k, 0)\n"
            "        except OSError: pass\n"
            "    os._exit(0)\n"
            "signal.signal(signal.SIGTERM, stop)\n"
            "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
            "while True: signal.pause()\n"
        )
        self.holder = subprocess.Popen(
            [sys.executable, "-c", code, str(self.count), str(self.own_ns)],
            stdout=subprocess.PIPE,
        )
        assert self.holder.stdout is not None
        self.holder.stdout.readline()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.holder is not None:
            self.holder.terminate()
            try:
                self.holder.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.holder.kill()
                self.holder.wait()
            self.holder = None


def minimal_loop() -> int:
    n = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        base = f"/proc/{name}/ns/"
        for ns in NS_TYPES:
            try:
                os.readlink(base + ns)
            except OSError:
                pass
        n += 1
    return n


ROOT = "/"  # --root: every path resolved inside it (docs/security.md)


def host_scan() -> int:
    from inspect8s.host.fs import HostFS
    from inspect8s.host.scan import scan_host

    return len(scan_host(HostFS(ROOT)).processes)


def _inspect8s() -> list[str]:
    exe = shutil.which("inspect8s", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "inspect8s"]


def run_child(cmd: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def measure(runs: int, with_lsns: bool) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"loop": [], "scan": [], "node": [], "lsns": [], "rss": []}
    node_cmd = [*_inspect8s(), "node", "-o", "json", "--root", ROOT]
    for _ in range(runs):
        results["loop"].append(timed(minimal_loop))
        results["scan"].append(timed(host_scan))
        wall, rss = run_child(node_cmd)
        results["node"].append(wall)
        results["rss"].append(rss / 1024)
        if with_lsns:
            results["lsns"].append(run_child(["lsns", "-J"])[0])
    return results


def _runtimes(start: bool) -> Any:
    """The test bed (a containerd with two pods, a dockerd with a container), or nothing."""
    import contextlib

    if not start:
        return contextlib.nullcontext()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from testbed import TestBed

    class Bed(contextlib.AbstractContextManager[Any]):
        def __enter__(self) -> Any:
            self.bed = TestBed().__enter__()
            self.bed.run_pod("web", "bench")
            self.bed.run_pod("db", "bench", qos="guaranteed")
            self.bed.run_docker("bench-legacy")
            return self.bed

        def __exit__(self, *exc: object) -> None:
            self.bed.close()

    return Bed()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, default=5000)
    parser.add_argument("--own-ns", type=int, default=200)
    parser.add_argument("--scale", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-runtimes", action="store_true")
    parser.add_argument(
        "--root", default="/", help="the root to scan; /proc/self/root is / through a root"
    )
    opts = parser.parse_args()
    global ROOT
    ROOT = opts.root

    import inspect8s

    compileall.compile_dir(str(Path(inspect8s.__file__).parent), quiet=1)
    have_lsns = shutil.which("lsns") is not None
    ok = True

    with _runtimes(not opts.no_runtimes):
        idle = [
            run_child([*_inspect8s(), "node", "-o", "json", "--root", ROOT])[0]
            for _ in range(opts.runs)
        ]
        with Load(opts.procs, opts.own_ns):
            base = len([p for p in os.listdir("/proc") if p.isdigit()])
            res = measure(opts.runs, have_lsns)
    runtimes = "none" if opts.no_runtimes else "containerd (2 pods) and dockerd (1 container)"
    print(
        f"processes visible: {base} (load {opts.procs}, {opts.own_ns} in their own namespaces); "
        f"runtimes: {runtimes}; runs: {opts.runs}"
    )
    loop, scan, node = median_ms(res["loop"]), median_ms(res["scan"]), median_ms(res["node"])
    print(f"minimal loop (8 readlinks/process)  median {loop:8.1f} ms")
    print(f"host scan (library call)            median {scan:8.1f} ms  ratio {scan / loop:.2f}x")
    verdict = scan / loop <= 2.0
    ok &= verdict
    print(f"  goal scan <= 2x loop: {'ok' if verdict else 'MISSED'}")
    rss = max(res["rss"])
    print(f"inspect8s node -o json              median {node:8.1f} ms  peak RSS {rss:.0f} MB")
    ok &= rss < 150
    print(f"  goal peak RSS < 150 MB: {'ok' if rss < 150 else 'MISSED'}")
    verdict = node / loop <= 2.5
    print(f"  node/loop {node / loop:.2f}  goal <= 2.5: {'ok' if verdict else 'MISSED'}")
    ok &= verdict
    if have_lsns:
        lsns = median_ms(res["lsns"])
        ratio = node / lsns
        print(f"lsns -J                             median {lsns:8.1f} ms")
        print(f"  node/lsns {ratio:.2f}  goal <= 0.3: {'ok' if ratio <= 0.3 else 'MISSED'}")
        ok &= ratio <= 0.3
    else:
        print("lsns not installed (util-linux): node/lsns ratio not measured")

    big: list[float] = []
    big_loop: list[float] = []
    with Load(opts.scale):
        for _ in range(opts.runs):
            big_loop.append(timed(minimal_loop))
            big.append(timed(host_scan))
    scale = median_ms(big) / scan
    loop_scale = median_ms(big_loop) / loop
    print(
        f"host scan at {opts.scale} load processes  median {median_ms(big):8.1f} ms  "
        f"ratio to {opts.procs}: {scale:.2f}  goal <= 2.1: {'ok' if scale <= 2.1 else 'MISSED'}"
    )
    print(f"  (minimal loop at {opts.scale}: {median_ms(big_loop):.1f} ms, ratio {loop_scale:.2f})")
    ok &= scale <= 2.1
    idle_ms = median_ms(idle)
    print(
        f"idle `inspect8s node -o json` ({runtimes}) median {idle_ms:8.1f} ms  goal <= 300 ms: "
        f"{'ok' if idle_ms <= 300 else 'MISSED'}"
    )
    ok &= idle_ms <= 300
    return 0 if ok else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
