"""inspect8s's own pods (label app.kubernetes.io/managed-by=inspect8s) are left out of node
and cluster audits: not checked, node-check findings about their containers and processes
dropped, and named in the result, the JSON and the table; everything else is still judged.

The same on a real node, with the real agent image: tests/integration/test_agent_image.py.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from inspect8s.audit.registry import Violation, check, checks_in
from inspect8s.audit.results import Scope, Severity
from inspect8s.audit.runner import own_pods, run_checks
from inspect8s.collect.cluster import NodeAudit, merge_node_audits, result_from_json
from inspect8s.kube.agent import agent_pod_spec
from inspect8s.model import OWN_POD_LABEL, Container, Pod, Snapshot
from inspect8s.render import get_renderer
from tests.checks.test_container_checks import container, node_report, pod
from tests.clirun import cli
from tests.kubeserver import KubeServer, load_fixture

OWN = {OWN_POD_LABEL[0]: OWN_POD_LABEL[1], "app.kubernetes.io/name": "inspect8s-agent"}
AGENT_UID, OTHER_UID, API_AGENT_UID = "a" * 8, "b" * 8, "c" * 8


@check("I8S-TEST-POD", title="Every pod", severity=Severity.HIGH, scope=Scope.POD)
def every_pod(p: Pod) -> Iterator[Violation]:
    """Flags every pod (test)."""
    yield Violation("pod")


@check("I8S-TEST-CTR", title="Every container", severity=Severity.HIGH, scope=Scope.CONTAINER)
def every_container(ctx: Any) -> Iterator[Violation]:
    """Flags every container (test)."""
    yield Violation("container")


@check("I8S-TEST-NODE", title="Node names things", severity=Severity.LOW, scope=Scope.NODE)
def node_names_things(snap: Snapshot) -> Iterator[Violation]:
    """Names every container and process it sees (test), as I8S-NODE-MOBY and
    I8S-NODE-DOCKERSOCK do."""
    assert snap.node is not None
    for c in snap.node.containers:
        yield Violation("c", subject=f"container/{c.id[:12]}")
        for pid in c.pids:
            yield Violation("p", subject=f"process/{pid}")
    yield Violation("the node itself")


CHECKS = [*checks_in(every_pod), *checks_in(every_container), *checks_in(node_names_things)]


def node_snapshot() -> Snapshot:
    """A node with the agent's pod (labelled sandbox, seen only through CRI) and another."""
    agent_sandbox = container(
        id="1" * 64,
        name=None,
        is_sandbox=True,
        pod_name="inspect8s-agent-x",
        pod_namespace="default",
        pod_uid=AGENT_UID,
        pids=(101,),
        labels=OWN,
    )
    agent = container(
        id="2" * 64,
        name="inspect8s",
        pod_name="inspect8s-agent-x",
        pod_namespace="default",
        pod_uid=AGENT_UID,
        pids=(102, 103),
    )
    other = container(
        id="3" * 64,
        name="app",
        pod_name="web",
        pod_namespace="shop",
        pod_uid=OTHER_UID,
        pids=(201,),
    )
    report = node_report(agent)
    report = dataclasses.replace(report, containers=(agent_sandbox, agent, other))
    api_agent = pod(name="inspect8s-agent-y", namespace="default", uid=API_AGENT_UID, labels=OWN)
    return Snapshot(node=report, pods=(pod(uid=OTHER_UID), api_agent))


def test_own_pods_by_api_label_and_by_cri_sandbox_label() -> None:
    own = own_pods(node_snapshot())
    assert [x.subject for x in own.left_out] == [
        "Pod/default/inspect8s-agent-x",
        "Pod/default/inspect8s-agent-y",
    ]
    assert own.uids == {AGENT_UID, API_AGENT_UID}
    assert own.covers("Pod/default/inspect8s-agent-x/container/inspect8s")
    assert own.covers("node/n1/container/" + "2" * 12) and own.covers("node/n1/process/103")
    assert not own.covers("Pod/default/inspect8s-agent-xyz")  # a prefix is not a pod
    assert not own.covers("node/n1/process/201") and not own.covers("node/n1")


def test_audit_leaves_own_pods_out_and_says_so() -> None:
    snapshot = node_snapshot()
    judged = run_checks(snapshot, CHECKS)  # library default: every pod is judged
    result = run_checks(snapshot, CHECKS, leave_out_own=True)
    assert {f.subject for f in judged.findings} > {f.subject for f in result.findings}
    subjects = {f.subject for f in result.findings}
    assert subjects == {
        "Pod/shop/web",
        "Pod/shop/web/container/app",
        "node/n1/container/" + "3" * 12,
        "node/n1/process/201",
        "node/n1",
    }
    assert not any("inspect8s-agent" in o.subject for o in result.outcomes)
    assert [x.subject for x in result.left_out] == [
        "Pod/default/inspect8s-agent-x",
        "Pod/default/inspect8s-agent-y",
    ]
    out = io.StringIO()
    get_renderer("json")(result, out)
    doc = json.loads(out.getvalue())
    assert doc["summary"]["leftOut"] == 2
    assert doc["leftOut"][0] == {
        "subject": "Pod/default/inspect8s-agent-x",
        "reason": "created by inspect8s (label app.kubernetes.io/managed-by=inspect8s): "
        "an agent does not judge itself",
    }
    table = io.StringIO()
    get_renderer("table")(result, table)
    assert "left out Pod/default/inspect8s-agent-x: created by inspect8s" in table.getvalue()
    page = io.StringIO()
    get_renderer("html")(result, page)
    assert "<li>Pod/default/inspect8s-agent-x: created by inspect8s" in page.getvalue()
    # The cluster result keeps what each agent left out.
    back = result_from_json(doc)
    assert back.left_out == result.left_out
    base = run_checks(Snapshot(), [], target="cluster", leave_out_own=True)
    merged = merge_node_audits(base, [NodeAudit("n1", back, None, 0.0, 1.0)])
    assert merged.left_out == result.left_out


def test_without_the_label_nothing_is_left_out() -> None:
    snapshot = node_snapshot()
    assert snapshot.node is not None
    unlabelled: list[Container] = [
        dataclasses.replace(c, labels={}) for c in snapshot.node.containers
    ]
    snapshot = dataclasses.replace(
        snapshot,
        node=dataclasses.replace(snapshot.node, containers=tuple(unlabelled)),
        pods=tuple(dataclasses.replace(p, labels={"app": "x"}) for p in snapshot.pods),
    )
    result = run_checks(snapshot, CHECKS, leave_out_own=True)
    assert result.left_out == ()
    assert "Pod/default/inspect8s-agent-x/container/inspect8s" in {
        f.subject for f in result.findings
    }


def test_cluster_audit_leaves_out_labelled_api_pods(tmp_path: Path) -> None:
    """``audit --cluster`` on the test API server: an agent pod (privileged, hostPID, the
    host's / mounted) is left out, its unlabelled twin is judged."""
    node = copy.deepcopy(load_fixture("nodes.json")["items"][0])
    agent = agent_pod_spec(node["metadata"]["name"], ["node"])
    twin = copy.deepcopy(agent)
    twin["metadata"]["labels"] = {"app": "twin"}
    pods = []
    for n, (name, body) in enumerate((("inspect8s-agent-k2x9f", agent), ("twin", twin))):
        body["metadata"].update(
            name=name, namespace="default", uid=f"0000000{n}-0000-4000-8000-000000000000"
        )
        body["status"] = {"phase": "Running", "qosClass": "Burstable"}
        pods.append(body)
    with KubeServer(pods, nodes=[node]) as server:
        kubeconfig = server.kubeconfig(tmp_path / "config")
        proc = cli(
            "audit", "--cluster", "--kubeconfig", str(kubeconfig), "--fail-on", "none",
            "-o", "json",
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [x["subject"] for x in doc["leftOut"]] == ["Pod/default/inspect8s-agent-k2x9f"]
    subjects = {f["subject"] for f in doc["findings"]}
    assert not any(s.startswith("Pod/default/inspect8s-agent-k2x9f") for s in subjects)
    twin_checks = {
        f["checkId"] for f in doc["findings"] if f["subject"].startswith("Pod/default/twin")
    }
    assert {"I8S-SEC-PRIVILEGED", "I8S-SEC-HOSTPID"} <= twin_checks, twin_checks
