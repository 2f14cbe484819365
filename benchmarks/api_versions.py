"""API version checks over 10,000 objects: how long the audit takes, apart from reading YAML.

Generates 10,000 objects (seed 7) in rendered-Helm-style multi-document files: workloads
(Deployment, DaemonSet, StatefulSet, CronJob), Ingresses, HorizontalPodAutoscalers,
PodDisruptionBudgets, FlowSchemas, StorageClasses, ConfigMaps and Services, each kind in
removed, deprecated and current versions, with a sprinkling of deprecated annotations,
volume plugins and node labels. Then, several times:

- read: the manifest reader and ``ObjectCollector`` (libyaml, ``ManifestReader``, the
  KubeObjects with their lines);
- audit: ``run_checks`` of the five I8S-API-* checks over the 10,000 objects (the table
  lookups, the schema-change hints, the findings), target 1.29;
- whole: ``audit_manifests`` with every built-in check (read + pods + objects).

    python benchmarks/api_versions.py [--objects 10000] [--runs 5]

Goal: 10,000 objects in under 1 s of audit time on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

VERSIONS = {
    "Deployment": ("extensions/v1beta1", "apps/v1beta2", "apps/v1"),
    "DaemonSet": ("extensions/v1beta1", "apps/v1"),
    "StatefulSet": ("apps/v1beta1", "apps/v1"),
    "CronJob": ("batch/v1beta1", "batch/v1"),
    "Ingress": ("extensions/v1beta1", "networking.k8s.io/v1beta1", "networking.k8s.io/v1"),
    "HorizontalPodAutoscaler": ("autoscaling/v2beta1", "autoscaling/v2beta2", "autoscaling/v2"),
    "PodDisruptionBudget": ("policy/v1beta1", "policy/v1"),
    "FlowSchema": (
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    "StorageClass": ("storage.k8s.io/v1beta1", "storage.k8s.io/v1"),
    "ConfigMap": ("v1",),
    "Service": ("v1",),
}


def _pod_template(rng: random.Random, indent: str) -> str:
    annotations = ""
    if rng.random() < 0.1:
        annotations = (
            f"{indent}  annotations:\n"
            f"{indent}    container.apparmor.security.beta.kubernetes.io/app: runtime/default\n"
        )
    volume = ""
    if rng.random() < 0.05:
        volume = (
            f"{indent}  volumes:\n{indent}    - name: v\n{indent}      glusterfs: {{path: v}}\n"
        )
    selector = ""
    if rng.random() < 0.1:
        selector = f"{indent}  nodeSelector: {{beta.kubernetes.io/os: linux}}\n"
    return (
        f"{indent}metadata:\n{indent}  labels: {{app: a}}\n{annotations}"
        f"{indent}spec:\n{selector}{indent}  containers:\n"
        f"{indent}    - name: app\n{indent}      image: registry.example/app:1\n{volume}"
    )


def _body(kind: str, rng: random.Random) -> str:
    if kind in ("Deployment", "DaemonSet", "StatefulSet"):
        return "spec:\n  selector:\n    matchLabels: {app: a}\n  template:\n" + _pod_template(
            rng, "    "
        )
    if kind == "CronJob":
        return (
            "spec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n"
            + _pod_template(rng, "        ")
        )
    if kind == "Ingress":
        return "spec:\n  backend: {serviceName: web, servicePort: 80}\n"
    if kind == "HorizontalPodAutoscaler":
        return (
            "spec:\n  maxReplicas: 5\n  metrics:\n    - type: Resource\n      resource:\n"
            "        name: cpu\n        targetAverageUtilization: 70\n"
        )
    if kind == "PodDisruptionBudget":
        return "spec:\n  minAvailable: 1\n  selector: {matchLabels: {app: a}}\n"
    if kind == "FlowSchema":
        return "spec:\n  matchingPrecedence: 9000\n  priorityLevelConfiguration: {name: x}\n"
    if kind == "StorageClass":
        return "provisioner: ebs.csi.aws.com\n"
    if kind == "ConfigMap":
        return "data:\n  key: value\n"
    return "spec:\n  ports: [{port: 80}]\n"


def generate(directory: Path, objects: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    kinds = list(VERSIONS)
    written = 0
    n = 0
    while written < objects:
        docs = []
        for _ in range(min(rng.randint(1, 20), objects - written)):
            kind = rng.choice(kinds)
            version = rng.choice(VERSIONS[kind])
            annotations = ""
            if kind == "Ingress" and rng.random() < 0.3:
                annotations = "  annotations: {kubernetes.io/ingress.class: nginx}\n"
            docs.append(
                f"# Source: chart/templates/{kind.lower()}.yaml\napiVersion: {version}\n"
                f"kind: {kind}\nmetadata:\n  name: o{written}\n  namespace: ns{written % 20}\n"
                f"{annotations}{_body(kind, rng)}"
            )
            written += 1
        (directory / f"rendered-{n:04d}.yaml").write_text("---\n" + "---\n".join(docs))
        n += 1


def _read(root: Path, collector: object) -> None:
    from inspect8s.collect.manifests import ManifestReader

    for obj in ManifestReader([str(root)]):
        collector(obj)  # type: ignore[operator]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from inspect8s.audit.registry import CheckSettings, load_checks
    from inspect8s.audit.runner import audit_manifests, run_checks
    from inspect8s.collect.manifest_objects import ObjectCollector
    from inspect8s.model import Snapshot

    checks = load_checks()
    api_checks = [c for c in checks if c.id.startswith("I8S-API-")]
    settings = CheckSettings(target_version="1.29")
    with tempfile.TemporaryDirectory(prefix="inspect8s-bench-") as tmp:
        root = Path(tmp)
        generate(root, args.objects)
        wall: dict[str, list[float]] = {"read": [], "audit": [], "whole": []}
        cpu: dict[str, list[float]] = {"read": [], "audit": [], "whole": []}
        findings = 0
        count = 0

        def timed(step: str, work: Callable[[], object]) -> object:
            started, started_cpu = time.perf_counter(), time.process_time()
            out = work()
            wall[step].append(time.perf_counter() - started)
            cpu[step].append(time.process_time() - started_cpu)
            return out

        for _ in range(args.runs):
            collector = ObjectCollector()
            timed("read", partial(_read, root, collector))
            count = len(collector.objects)
            snapshot = Snapshot(objects=tuple(collector.objects))
            result = timed("audit", partial(run_checks, snapshot, api_checks, settings=settings))
            findings = len(getattr(result, "findings", ()))
            timed("whole", partial(audit_manifests, [str(root)], checks, settings=settings))

    names = {
        "read": "read (YAML -> objects)",
        "audit": "audit (5 I8S-API checks)",
        "whole": "whole audit_manifests, every check",
    }
    print(f"{count} objects, {findings} API version findings at target 1.29, {args.runs} runs")
    print("| step | median wall | min wall | median CPU | min CPU |")
    print("|---|---|---|---|---|")
    for step, name in names.items():
        print(
            f"| {name} | {statistics.median(wall[step]):.2f} s | {min(wall[step]):.2f} s | "
            f"{statistics.median(cpu[step]):.2f} s | {min(cpu[step]):.2f} s |"
        )


if __name__ == "__main__":
    main()
