"""One very large manifest file: `inspect8s audit --manifests FILE` over 244,000 documents.

Writes one YAML stream of about 50 MB (seed 13): small ConfigMaps, Services, Pods and
Deployments, as a `kubectl get all,cm -A -o yaml` of a big cluster split into documents
would be, and audits it as a subprocess with every built-in check (`-o json --output-file`),
printing the wall time and the child's peak RSS of each run. It then runs the audit once
more with standard error on a pseudo-terminal and once with it on a pipe, and says whether
progress lines appeared (they must on the terminal, never on the pipe).

    python benchmarks/manifests_large.py [--documents 244000] [--runs 3]

Goal (hostile-input work): under 60 s and 500 MB on the 2-core development machine, with
progress shown on a terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import random
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _document(rng: random.Random, i: int) -> str:
    ns = f"team-{i % 23}"
    meta = (
        f"metadata:\n  name: {{n}}\n  namespace: {ns}\n  labels:\n    app: a{i % 997}\n"
        f"    tier: backend-tier-{i % 5}\n"
    )
    r = rng.random()
    if r < 0.30:
        return (
            "apiVersion: v1\nkind: ConfigMap\n"
            + meta.format(n=f"cm-{i}")
            + f"data:\n  key: value-{i}\n"
        )
    if r < 0.45:
        return (
            "apiVersion: v1\nkind: Service\n"
            + meta.format(n=f"svc-{i}")
            + f"spec:\n  ports:\n  - port: 80\n  selector:\n    app: a{i % 997}\n"
        )
    if r < 0.85:
        doc = (
            "apiVersion: v1\nkind: Pod\n"
            + meta.format(n=f"pod-{i}")
            + "spec:\n  containers:\n"
            + f"  - name: app\n    image: registry.example/app:{i % 7}.0\n"
        )
        if rng.random() < 0.5:
            doc += "    resources: {limits: {cpu: 100m, memory: 64Mi}}\n"
        return doc
    return (
        "apiVersion: apps/v1\nkind: Deployment\n"
        + meta.format(n=f"web-{i}")
        + "spec:\n  template:\n    spec:\n      containers:\n      - name: web\n"
        + "        image: nginx\n        securityContext: {runAsNonRoot: true}\n"
    )


def generate(path: Path, documents: int, seed: int = 13) -> int:
    rng = random.Random(seed)
    with path.open("w") as out:
        for i in range(documents):
            out.write("---\n" + _document(rng, i))
    return path.stat().st_size


def _command() -> list[str]:
    exe = shutil.which("inspect8s", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "inspect8s"]


def _run(cmd: list[str]) -> tuple[float, int, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.stderr.write(err.decode(errors="replace"))
        raise SystemExit(f"audit failed with exit code {code}")
    return wall, usage.ru_maxrss // 1024, len(err)


def _progress_on_terminal(cmd: list[str]) -> tuple[bool, bool]:
    """(progress seen with stderr on a pty, progress seen with stderr on a pipe)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    proc.wait()
    os.close(leader)
    piped = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    return b"manifests (" in seen, b"manifests (" in piped.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=244_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inspect8s-large-") as tmp:
        path = Path(tmp) / "all.yaml"
        size = generate(path, args.documents)
        report = Path(tmp) / "report.json"
        cmd = [*_command(), "audit", "--manifests", str(path), "-o", "json"]
        cmd += ["--output-file", str(report), "--fail-on", "none"]
        walls, peaks = [], []
        for run in range(args.runs):
            wall, peak, _ = _run(cmd)
            walls.append(wall)
            peaks.append(peak)
            print(f"run {run + 1}: {wall:.1f} s, peak RSS {peak} MiB")
        summary = json.loads(report.read_text())["summary"]
        on_tty, on_pipe = _progress_on_terminal(cmd)
        print(
            f"{args.documents:,} documents, {size / 1e6:.1f} MB, {summary['subjects']:,} "
            f"subjects, {summary['checks']} checks, {summary['findings']:,} findings; "
            f"median {statistics.median(walls):.1f} s, peak RSS {max(peaks)} MiB "
            f"(goal < 60 s, < 500 MB); progress on a terminal: {'yes' if on_tty else 'NO'}, "
            f"on a pipe: {'YES' if on_pipe else 'no'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
