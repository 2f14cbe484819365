"""Offline manifest audit: `inspect8s audit --manifests DIR -o json` over 2,000 documents.

Generates a directory of manifests in a temporary directory (mixed kinds: Deployments,
StatefulSets, DaemonSets, Jobs, CronJobs, bare Pods, a few `List`s, and non-workload kinds
such as Services, ConfigMaps and ServiceAccounts that are read and skipped), in multi-
document files of 1 to 20 documents each like rendered Helm output, then runs the CLI
several times and prints each wall time and the median.

    python benchmarks/manifests_audit.py [--documents 2000] [--runs 5]

Goal (issue 7): under 5 s for 2,000 documents on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod")
OTHER_KINDS = ("Service", "ConfigMap", "ServiceAccount")


def _container(rng: random.Random, i: int) -> str:
    lines = [
        f"        - name: c{i}",
        f"          image: registry.example/app-{rng.randrange(100)}:1.{i}",
    ]
    if rng.random() < 0.7:
        lines += [
            "          resources:",
            "            requests: {cpu: 100m, memory: 64Mi}",
            "            limits: {cpu: 500m, memory: 256Mi}",
        ]
    sc = []
    if rng.random() < 0.1:
        sc.append("privileged: true")
    if rng.random() < 0.5:
        sc.append("allowPrivilegeEscalation: false")
    if rng.random() < 0.05:
        sc.append("capabilities: {add: [NET_ADMIN]}")
    if sc:
        lines.append("          securityContext: {" + ", ".join(sc) + "}")
    if rng.random() < 0.1:
        lines.append("          ports: [{containerPort: 8080, hostPort: 8080}]")
    return "\n".join(lines)


def _pod_spec(rng: random.Random, indent: str) -> str:
    lines = []
    if rng.random() < 0.05:
        lines.append("hostNetwork: true")
    if rng.random() < 0.05:
        lines.append("hostPID: true")
    if rng.random() < 0.05:
        lines += ["volumes:", "  - name: sock", "    hostPath: {path: /var/run/docker.sock}"]
    lines.append("containers:")
    body = "\n".join(indent + line for line in lines)
    containers = "\n".join(_container(rng, i) for i in range(rng.randint(1, 3)))
    # _container indents for a template spec (8 spaces); re-indent for this depth
    containers = "\n".join(indent + line[6:] for line in containers.splitlines())
    return body + "\n" + containers


def _document(rng: random.Random, n: int) -> str:
    ns = f"team-{n % 17}"
    if rng.random() < 0.25:
        kind = rng.choice(OTHER_KINDS)
        return f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: obj-{n}\n  namespace: {ns}\n"
    kind = rng.choice(WORKLOAD_KINDS)
    annotations = ""
    if rng.random() < 0.05:
        annotations = (
            "\n      annotations:\n        seccomp.security.alpha.kubernetes.io/pod: docker/default"
        )
    if kind == "Pod":
        return (
            f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-{n}\n  namespace: {ns}\n"
            f"spec:\n{_pod_spec(rng, '  ')}\n"
        )
    api = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    template = (
        f"    metadata:\n      labels: {{app: w{n}}}{annotations}\n"
        f"    spec:\n{_pod_spec(rng, '      ')}\n"
    )
    if kind == "CronJob":
        template = "\n".join("    " + line for line in template.splitlines()) + "\n"
        return (
            f"apiVersion: {api}\nkind: CronJob\nmetadata:\n  name: w-{n}\n  namespace: {ns}\n"
            f"spec:\n  schedule: '0 * * * *'\n  jobTemplate:\n    spec:\n      template:\n"
            f"{template}"
        )
    return (
        f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: w-{n}\n  namespace: {ns}\n"
        f"spec:\n  selector:\n    matchLabels: {{app: w{n}}}\n  template:\n{template}"
    )


def generate(directory: Path, documents: int, seed: int = 7) -> int:
    """Write ``documents`` documents under ``directory``; returns how many were written."""
    rng = random.Random(seed)
    written = 0
    file_no = 0
    while written < documents:
        sub = directory / f"app-{file_no % 25}"
        sub.mkdir(exist_ok=True)
        if rng.random() < 0.03 and documents - written >= 1:
            # a kubectl-style JSON List of pods counts as one document
            items = [
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": f"listed-{file_no}-{i}", "namespace": "dump"},
                    "spec": {"containers": [{"name": "c", "image": "registry.example/x:1"}]},
                }
                for i in range(5)
            ]
            doc = {"apiVersion": "v1", "kind": "List", "items": items}
            (sub / f"dump-{file_no}.json").write_text(json.dumps(doc, indent=2))
            written += 1
        else:
            count = min(rng.randint(1, 20), documents - written)
            parts = [
                f"---\n# Source: chart/templates/t{k}.yaml\n{_document(rng, written + k)}"
                for k in range(count)
            ]
            (sub / f"rendered-{file_no}.yaml").write_text("".join(parts))
            written += count
        file_no += 1
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    exe = shutil.which("inspect8s", path=str(Path(sys.executable).parent)) or shutil.which(
        "inspect8s"
    )
    cmd_prefix = [exe] if exe else [sys.executable, "-m", "inspect8s"]
    with tempfile.TemporaryDirectory(prefix="inspect8s-bench-") as tmp:
        directory = Path(tmp)
        written = generate(directory, args.documents)
        cmd = [*cmd_prefix, "audit", "--manifests", str(directory), "-o", "json"]
        times = []
        summary = {}
        for run in range(args.runs):
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - start
            if proc.returncode not in (0, 1):
                sys.stderr.write(proc.stderr)
                return 1
            summary = json.loads(proc.stdout)["summary"]
            times.append(elapsed)
            print(f"run {run + 1}: {elapsed:.2f} s")
        print(
            f"{written} documents, {summary['documents']} parsed, {summary['subjects']} pods, "
            f"{summary['checks']} checks, {summary['findings']} findings, "
            f"{len(times)} runs: median {statistics.median(times):.2f} s "
            f"(min {min(times):.2f} s, max {max(times):.2f} s); goal < 5 s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
