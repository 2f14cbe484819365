"""List 5,000 pods in 10 pages from the local test API server and build the pod views.

    python benchmarks/kube_list.py [--pods 5000] [--page-size 500] [--runs 3]

The server (tests/kubeserver.py, synthetic pods built from the recorded 1.26 pods) runs in
its own process, so only the client's cost is measured: loading the kubeconfig and the
``kubernetes`` package, fetching every page over HTTP, ``json.loads`` and
``inspect8s.kube.convert.pod_from_json`` for every pod. Prints the wall time of each run
and the client's peak RSS. Goal (issue 5): under 3 s and 300 MB.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    server = subprocess.Popen(
        [sys.executable, "-m", "tests.kubeserver", "--pods", str(args.pods)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        from tests.kubeserver import write_kubeconfig

        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = write_kubeconfig(Path(tmp) / "config", url, namespace="default")
            rss_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            walls = []
            for run in range(args.runs):
                started = time.perf_counter()
                cpu_started = time.process_time()
                # The first run pays for importing kubernetes, as a CLI invocation would.
                from inspect8s.kube.convert import pod_from_json
                from inspect8s.kube.live import KubeAPI

                with KubeAPI.from_config(str(kubeconfig), environ={}, timeout=30) as api:
                    pods = [pod_from_json(p) for p in api.list_pods(page_size=args.page_size)]
                wall = time.perf_counter() - started
                cpu = time.process_time() - cpu_started
                walls.append(wall)
                assert len(pods) == args.pods, len(pods)
                containers = sum(len(p.containers) for p in pods)
                print(
                    f"run {run + 1}: {len(pods)} pods ({containers} containers) in "
                    f"{-(-args.pods // args.page_size)} pages: wall {wall:.2f} s, "
                    f"client CPU {cpu:.2f} s"
                )
                del pods
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"first run (cold import) {walls[0]:.2f} s, best {min(walls):.2f} s; "
                f"client peak RSS {peak_mb:.0f} MB (before listing {rss_before_kb / 1024:.0f} MB)"
            )
            ok = walls[0] < 3.0 and peak_mb < 300
            print("goal (< 3 s, < 300 MB):", "met" if ok else "NOT met")
            return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
