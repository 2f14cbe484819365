"""`inspect8s audit --cluster [--agents]` against the local API test server (real HTTP,
the real kubernetes client configuration): recorded pods, three nodes, agent pods that
answer per node, one of which fails."""

from __future__ import annotations

import copy
import io
import json
import threading
from pathlib import Path
from typing import Any

from inspect8s.audit.checks.pods import memory_limit_missing
from inspect8s.audit.results import (
    AuditResult,
    CheckInfo,
    Finding,
    Outcome,
    Scope,
    Severity,
    Status,
)
from inspect8s.kube.convert import pod_from_json
from inspect8s.render.json import render
from tests.clirun import cli
from tests.kubeserver import AgentScript, KubeServer, load_fixture


def nodes(*names: str) -> list[dict[str, Any]]:
    template = load_fixture("nodes.json")["items"][0]
    out = []
    for name in names:
        node = copy.deepcopy(template)
        node["metadata"]["name"] = name
        out.append(node)
    return out


def run(*args: str) -> tuple[int, dict[str, Any], str]:
    proc = cli("audit", *args, "-o", "json")
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def test_cluster_audits_recorded_pods_and_nodes(tmp_path: Path) -> None:
    cluster_nodes = nodes("vm", "old-docker")
    cluster_nodes[1]["status"]["nodeInfo"]["containerRuntimeVersion"] = "docker://20.10.24"
    cluster_nodes[1]["metadata"].setdefault("annotations", {})[
        "kubeadm.alpha.kubernetes.io/cri-socket"
    ] = "/var/run/dockershim.sock"
    classes = [{"metadata": {"name": "kata"}, "handler": "kata"}]
    with KubeServer(nodes=cluster_nodes, runtime_classes=classes) as server:
        kubeconfig = server.kubeconfig(tmp_path / "config")
        code, doc, _ = run("--cluster", "--kubeconfig", str(kubeconfig), "--fail-on", "high")
        pod_lists = server.requests_for("GET", "/api/v1/pods")
        rc_lists = server.requests_for("GET", "/apis/node.k8s.io/v1/runtimeclasses")
    recorded = load_fixture("pods-all.json")["items"]
    assert doc["target"] == "cluster"
    assert all(r.q("limit") == "500" for r in pod_lists) and rc_lists
    # The pod checks ran on every recorded pod: same findings as the check gives directly.
    expected = {
        f"Pod/{p.namespace}/{p.name}/{v.subject}"
        for p in map(pod_from_json, recorded)
        for v in memory_limit_missing(p)
    }
    got = {f["subject"] for f in doc["findings"] if f["checkId"] == "I8S-RES-MEMLIMIT"}
    assert expected and got == expected
    by_check = {(f["checkId"], f["subject"]) for f in doc["findings"]}
    assert ("I8S-NODE-RT-LABEL", "node/old-docker") in by_check
    assert ("I8S-KUBEADM-CRISOCK", "node/old-docker") in by_check
    assert not any(s == "node/vm" for _, s in by_check)
    # Handlers are known only on the node: skipped, with the reason.
    (skip,) = [o for o in doc["incomplete"] if o["checkId"] == "I8S-RUNTIMECLASS-HANDLER"]
    assert "configuration" in skip["reason"]
    assert code == 1  # the kubeadm annotation is a high finding


def agent_output(hostname: str, pod: str) -> str:
    """What `inspect8s audit --root /host -o json` prints on a node (rendered for real)."""
    info = CheckInfo(
        "I8S-ISO-OOMKILL",
        "Container was OOM-killed",
        Severity.MEDIUM,
        Scope.CONTAINER,
        "rationale",
        "inspect8s.audit.checks.containers",
    )
    node_info = CheckInfo("I8S-NODE-TEST", "Node thing", Severity.LOW, Scope.NODE, "r", "x")
    findings = (
        Finding(info.id, info.title, info.severity, f"Pod/shop/{pod}/container/app", "2 OOM kills"),
        Finding(node_info.id, node_info.title, node_info.severity, f"node/{hostname}", "odd"),
    )
    result = AuditResult(
        target="node",
        inputs=("/host",),
        checks=(info, node_info),
        outcomes=tuple(
            Outcome(f.check_id, f.subject, Status.FAILED, findings=(f,)) for f in findings
        ),
        findings=findings,
        subjects=2,
    )
    out = io.StringIO()
    render(result, out)
    return "inspect8s: a warning on stderr\n" + out.getvalue()


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_cluster_agents_parallelism_and_a_failing_node(tmp_path: Path) -> None:
    names = ("n1", "n2", "n3")
    # The agents of n1 and n2 each answer their first poll only once the other one polls
    # too: two agents run at once, whatever the machine's speed (with --parallel 1 the first
    # would wait for a second that never comes, and fail).
    both = threading.Barrier(2, timeout=60)

    def meet(count: int) -> None:
        if count == 1:
            both.wait()

    with KubeServer(nodes=nodes(*names)) as server:
        slow = ("Running", "Succeeded")
        server.agent_by_node = {
            "n1": AgentScript(phases=slow, logs=agent_output("host-1", "a"), on_get=meet),
            "n2": AgentScript(phases=slow, logs=agent_output("host-2", "b"), on_get=meet),
            "n3": AgentScript(phases=("Failed",), logs="panic: no /host/proc\n", exit_code=2),
        }
        kubeconfig = server.kubeconfig(tmp_path / "config")
        code, doc, stderr = run(
            "--cluster",
            "--agents",
            "--parallel",
            "2",
            "--kubeconfig",
            str(kubeconfig),
            "--fail-on",
            "none",
            "--agent-namespace",
            "ops",
            "--check-option",
            "oom-kills-max=1",
        )
        posts = server.requests_for("POST", "/api/v1/namespaces/ops/pods")
        deletes = server.requests_for("DELETE", "/api/v1/namespaces/ops/pods/")
        gets = server.requests_for("GET", "/api/v1/namespaces/ops/pods/")
        created = {r.body["spec"]["nodeName"]: r for r in posts}
        leftover = dict(server.created)
    assert code == 0, stderr
    assert set(created) == set(names)
    assert not leftover, "every agent pod is deleted"
    # Each agent pod's life in the server's clock: its first GET to its DELETE.
    first_get: dict[str, float] = {}
    for r in gets:
        first_get.setdefault(r.path.split("/")[6], r.time)
    ended = {r.path.rsplit("/", 1)[1]: r.time for r in deletes}
    assert set(first_get) == set(ended) and len(ended) == 3
    intervals = [(first_get[name], ended[name]) for name in ended]
    assert max_overlap(intervals) <= 2
    assert max_overlap(intervals) == 2, "two agents ran at once"
    command = posts[0].body["spec"]["containers"][0]["command"]
    assert command[:2] == ["inspect8s", "audit"] and "--fail-on" in command
    assert "--check-option=oom-kills-max=1" in command
    assert command[-4:] == ["--root", "/host", "-o", "json"]
    subjects = {(f["checkId"], f["subject"]) for f in doc["findings"]}
    assert ("I8S-ISO-OOMKILL", "Pod/shop/a/container/app") in subjects
    assert ("I8S-ISO-OOMKILL", "Pod/shop/b/container/app") in subjects
    # Node subjects from the agents carry the Node's name, not the host name.
    assert ("I8S-NODE-TEST", "node/n1") in subjects and ("I8S-NODE-TEST", "node/n2") in subjects
    (failed,) = [e for e in doc["errors"] if e["source"] == "agent:node/n3"]
    assert "without a JSON result" in failed["detail"] and "panic" in failed["detail"]
    assert doc["summary"]["complete"] is False
