"""`inspect8s audit --cluster` over 5,000 pods served by the local test API server.

    python benchmarks/cluster_audit.py [--pods 5000] [--nodes 50] [--runs 5]

The server (tests/kubeserver.py, synthetic pods built from the recorded 1.26 pods, spread
over ``--nodes`` Node objects) runs in its own process. Each run is the whole CLI as a
user starts it (``python -m inspect8s audit --cluster -o json``, output to /dev/null):
interpreter start, imports, kubeconfig, 10 pages of pods, the node list, the
RuntimeClass list, every pod and node check, the JSON report. Prints each run's wall time
and the median. Goal (issue 7): median under 10 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SERVER = """
import copy, sys, time
from tests.kubeserver import KubeServer, load_fixture, synthetic_pods
pods, nodes = int(sys.argv[1]), int(sys.argv[2])
names = [f"node-{i:03d}" for i in range(nodes)]
template = load_fixture("nodes.json")["items"][0]
node_objects = []
for name in names:
    node = copy.deepcopy(template)
    node["metadata"]["name"] = name
    node_objects.append(node)
server = KubeServer(synthetic_pods(pods, node_names=names), nodes=node_objects,
                    runtime_classes=[{"metadata": {"name": "runc"}, "handler": "runc"}]).start()
print(server.url, flush=True)
while True:
    time.sleep(3600)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(args.pods), str(args.nodes)],
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
            report = Path(tmp) / "report.json"
            command = [
                sys.executable,
                "-m",
                "inspect8s",
                "audit",
                "--cluster",
                "--kubeconfig",
                str(kubeconfig),
                "--fail-on",
                "none",
                "-o",
                "json",
                "--output-file",
                str(report),
            ]
            walls = []
            for run in range(args.runs):
                started = time.perf_counter()
                subprocess.run(command, cwd=REPO, check=True, capture_output=True)
                wall = time.perf_counter() - started
                walls.append(wall)
                summary = json.loads(report.read_text())["summary"]
                print(
                    f"run {run + 1}: wall {wall:.2f} s; {summary['subjects']} subjects, "
                    f"{summary['checks']} checks, {summary['findings']} findings, "
                    f"{summary['errors']} errors"
                )
            median = statistics.median(walls)
            print(
                f"median {median:.2f} s, min {min(walls):.2f} s, max {max(walls):.2f} s "
                f"({args.pods} pods, {args.nodes} nodes)"
            )
            ok = median < 10.0
            print("goal (median < 10 s):", "met" if ok else "NOT met")
            return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
