"""One pod's runtime trace with many pods running: `inspect8s pod NAME --trace-runtime`.

    sudo python benchmarks/pod_trace.py [--pods 50] [--runs 7]

Starts the project's own test bed (a private containerd with CRI, tests/testbed/), creates
``--pods`` pods through CRI the way the kubelet does (one container each, host network),
then times ``inspect8s pod <one of them> --trace-runtime -o json`` several times and prints
the median. Goal (issue 4): under 1 s wall with 50 pods. The bed and every pod are removed
at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7)
    opts = parser.parse_args()

    from testbed import ContainerRequest, TestBed

    import inspect8s

    compileall.compile_dir(str(Path(inspect8s.__file__).parent), quiet=1)
    exe = shutil.which("inspect8s", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "inspect8s"]
    with TestBed() as bed:
        start = time.perf_counter()
        handles = [
            bed.run_pod(
                f"bench-{i:03d}",
                "bench",
                qos="burstable",
                containers=[ContainerRequest("app", memory_limit_bytes=32 << 20)],
            )
            for i in range(opts.pods)
        ]
        print(f"started {len(handles)} pods in {time.perf_counter() - start:.1f} s")
        target = handles[len(handles) // 2]
        args = [
            *cmd,
            "pod",
            target.name,
            "-n",
            target.namespace,
            "--trace-runtime",
            "--local",
            "-o",
            "json",
            "--cri-endpoint",
            bed.cri_endpoint,
        ]
        subprocess.run(args, check=True, capture_output=True)  # warm the page cache
        samples = []
        for _ in range(opts.runs):
            t0 = time.perf_counter()
            proc = subprocess.run(args, capture_output=True, text=True, check=False)
            samples.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
        med = statistics.median(samples)
        print(
            f"inspect8s pod {target.name} --trace-runtime with {opts.pods} pods: "
            f"median {med * 1000:.0f} ms (min {min(samples) * 1000:.0f}, "
            f"max {max(samples) * 1000:.0f}; {opts.runs} runs); goal < 1000 ms: "
            f"{'ok' if med < 1.0 else 'MISSED'}"
        )
        for handle in handles:
            bed.remove_pod(handle)
        return 0 if med < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
