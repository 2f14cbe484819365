"""The library (``inspect8s.api``): each call returns models, raises documented errors that
name the argument (never a flag), and answers what the CLI prints for the same knobs."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import inspect8s
from inspect8s import api
from inspect8s.audit.results import AuditResult, Scope
from inspect8s.collect.cluster import (
    Machine,
    kubelet_version_of,
    node_here,
    node_is_machine,
    this_node_name,
)
from inspect8s.errors import NotFoundError, UsageError
from inspect8s.kube.live import KubeAPI
from inspect8s.model import (
    Container,
    KubeletVersion,
    NodeConfig,
    NodeReport,
    PodTrace,
    ProcessTrace,
    RecordedBundle,
    RuntimeChain,
)
from tests.clirun import cli
from tests.kubeserver import KubeServer, load_fixture

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CRIO_BUNDLE = FIXTURES / "bundles" / "crio-1.29"
CRIO_TREE = FIXTURES / "nodes" / "crio"
AUDIT = FIXTURES / "audit"


def test_import_is_cheap_and_the_calls_are_reexported() -> None:
    code = (
        "import sys, inspect8s\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('inspect8s'))\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('kubernetes', 'grpc', 'docker', 'typer', 'yaml'))\n"
        "print(loaded, heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "['inspect8s', 'inspect8s._version'] []"
    for name in api.__all__:
        assert getattr(inspect8s, name) is getattr(api, name)
    assert inspect8s.api is api


def test_node_report_from_a_tree_and_its_configuration() -> None:
    report = api.node_report(root=str(CRIO_TREE), runtime_calls=False)
    assert isinstance(report, NodeReport)
    expected = json.loads((CRIO_TREE / "expected.json").read_text())
    assert report.node.hostname == expected["hostname"]
    assert {c.id for c in report.containers} >= {c["id"] for c in expected["containers"]}
    with_config, config = api.node_config(root=str(CRIO_TREE), runtime_calls=False)
    assert isinstance(config, NodeConfig)
    assert {e.source for e in report.errors} <= {e.source for e in with_config.errors}
    assert config.kubelet is not None and config.kubelet.settings
    # The CLI prints the same report.
    shown = cli("node", "--root", str(CRIO_TREE), "--no-runtime-calls", "-o", "json")
    assert shown.returncode == 0, shown.stderr
    assert shown.json()["node"]["hostname"] == report.node.hostname
    assert len(shown.json()["containers"]) == len(report.containers)


def test_node_report_from_a_bundle() -> None:
    report = api.node_report(bundle=str(CRIO_BUNDLE))
    assert any(c.pod_name == "db-0" for c in report.containers)
    shown = cli("node", "--from", str(CRIO_BUNDLE), "-o", "json")
    assert shown.returncode == 0, shown.stderr
    assert [c["id"] for c in shown.json()["containers"]] == [c.id for c in report.containers]


def test_a_root_without_proc_is_a_usage_error_about_root(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        api.node_report(root=str(tmp_path))
    assert info.value.param == "root" and "--" not in str(info.value)
    with pytest.raises(UsageError) as not_bundle:
        api.trace_pid(1, bundle=str(tmp_path))
    assert not_bundle.value.param == "bundle"


def test_pod_containers_and_trace_from_a_bundle() -> None:
    (found,) = api.find_pods("db-0", bundle=str(CRIO_BUNDLE))
    assert (found.name, found.namespace, found.chain, found.pod) == ("db-0", None, None, None)
    containers = found.containers
    assert containers and all(isinstance(c, Container) for c in containers)
    assert {c.pod_name for c in containers} == {"db-0"}
    assert any(c.is_sandbox for c in containers)
    trace = api.trace_pod("db-0", "data", bundle=str(CRIO_BUNDLE))
    assert isinstance(trace, PodTrace) and isinstance(trace.chain, RuntimeChain)
    assert trace.traced_on == f"bundle {CRIO_BUNDLE}" and trace.pod is None
    assert (trace.chain.pod_name, trace.chain.pod_namespace) == ("db-0", "data")
    assert {t.container_id for t in trace.chain.containers} == {
        c.id for c in containers if not c.is_sandbox
    }
    with pytest.raises(NotFoundError, match=r"no pod 'db-1'.*did you mean: .*db-0"):
        api.trace_pod("db-1", bundle=str(CRIO_BUNDLE))


def test_trace_pid_names_the_container_and_its_pod() -> None:
    containers = api.find_pods("db-0", bundle=str(CRIO_BUNDLE))[0].containers
    member = next(c for c in containers if not c.is_sandbox and c.init_pid is not None)
    assert member.init_pid is not None
    origin = api.trace_pid(member.init_pid, bundle=str(CRIO_BUNDLE))
    assert isinstance(origin, ProcessTrace)
    assert origin.origin.pid == origin.origin.thread == member.init_pid
    assert origin.origin.role == "container" and origin.origin.container_id == member.id
    assert origin.container is not None and origin.container.id == member.id
    assert origin.chain is not None and origin.chain.pod_name == "db-0"
    shown = cli("pid", str(member.init_pid), "--from", str(CRIO_BUNDLE), "-o", "json")
    assert shown.json()["container"] == member.id
    with pytest.raises(NotFoundError, match="no process with PID 4194303"):
        api.trace_pid(4194303, bundle=str(CRIO_BUNDLE))


def test_audit_node_from_a_bundle_is_what_the_cli_prints() -> None:
    bundle = str(AUDIT / "kubeadm-1.23-docker")
    result = api.audit_node(bundle=bundle)
    assert isinstance(result, AuditResult) and result.target == "node"
    assert result.inputs == (bundle,)
    shown = cli("audit", "--from", bundle, "-o", "json", "--fail-on", "none")
    assert shown.returncode == 0, shown.stderr
    assert [(f["checkId"], f["subject"]) for f in shown.json()["findings"]] == [
        (f.check_id, f.subject) for f in result.findings
    ]
    assert result.findings
    # The default target version is the kubelet's own minor.
    assert result.settings == {
        "targetVersion": "1.23",
        "targetVersionFrom": "the kubelet (1.23.17-00)",
    }
    only = api.audit_node(bundle=bundle, select=["I8S-CTRD"])
    assert only.findings and {f.check_id[:8] for f in only.findings} == {"I8S-CTRD"}
    with pytest.raises(UsageError) as info:
        api.audit_node(bundle=bundle, select=["I8S-NOPE"])
    assert info.value.param == "select" and str(info.value) == "no check ID starts with I8S-NOPE"


def test_audit_manifests_and_the_checks_it_runs(tmp_path: Path) -> None:
    golden = FIXTURES / "manifests" / "golden"
    result = api.audit_manifests([str(golden)])
    assert result.target == "manifests" and result.findings
    assert {c.scope for c in api.list_checks()} > {Scope.POD}
    pod_ids = {c.id for c in api.list_checks() if c.scope in (Scope.POD, Scope.OBJECT)}
    assert {info.id for info in result.checks} == pod_ids
    assert api.list_checks(select=["I8S-NOPE"]) == ()
    with pytest.raises(NotFoundError) as info:
        api.audit_manifests([str(tmp_path / "absent.yaml")])
    assert info.value.param == "manifests"


def test_record_then_audit_the_bundle(tmp_path: Path) -> None:
    root = tmp_path / "host"
    shutil.copytree(AUDIT / "containerd-2.1-v2-removed-keys" / "host", root, symlinks=True)
    written = api.record(str(tmp_path / "bundle"), root=str(root), kubelet_version="v1.33.5")
    assert isinstance(written, RecordedBundle)
    assert written.version == 1 and written.path == str(tmp_path / "bundle")
    manifest = json.loads((tmp_path / "bundle" / "bundle.json").read_text())
    assert written.redacted_files == len(manifest["redactions"]["files"])
    assert written.sockets == tuple(manifest["sockets"])
    direct = api.audit_node(root=str(root), kubelet_version="v1.33.5", target_version="1.36")
    replayed = api.audit_node(bundle=str(tmp_path / "bundle"), target_version="1.36")
    assert {(f.check_id, f.subject) for f in direct.findings} == {
        (f.check_id, f.subject) for f in replayed.findings
    }
    with pytest.raises(UsageError, match="exists and is not an empty directory"):
        api.record(str(tmp_path / "bundle"), root=str(root))


# --------------------------------------------------------------------------- this machine


def _node(name: str, boot_id: str | None) -> dict[str, Any]:
    node: dict[str, Any] = copy.deepcopy(load_fixture("nodes.json")["items"][0])
    node["metadata"]["name"] = name
    if boot_id is None:
        node["status"]["nodeInfo"].pop("bootID", None)
    else:
        node["status"]["nodeInfo"]["bootID"] = boot_id
    return node


def test_a_node_is_this_machine_by_boot_id_else_by_name() -> None:
    here = Machine(boot_id="b-1", hostname="host-a")
    assert node_is_machine(_node("renamed", "b-1"), here)  # --hostname-override
    assert not node_is_machine(_node("host-a", "b-2"), here)  # same name, another machine
    assert node_is_machine(_node("host-a", None), here)
    assert not node_is_machine(_node("host-b", None), here)
    unknown_boot = Machine(boot_id=None, hostname="host-a")  # a bundle, a mounted tree
    assert node_is_machine(_node("host-a", "b-9"), unknown_boot)


def test_this_node_is_found_through_the_api(tmp_path: Path) -> None:
    here = Machine(boot_id="b-1", hostname="host-a")
    nodes = [_node("host-a", None), _node("worker-7", "b-1"), _node("other", "b-3")]
    with (
        KubeServer(nodes=nodes) as server,
        KubeAPI.from_config(
            kubeconfig=str(server.kubeconfig(tmp_path / "config")), environ={}
        ) as kube,
    ):
        assert this_node_name(kube, here) == "worker-7"  # the boot ID beats the name
        assert this_node_name(kube, Machine(boot_id="b-0", hostname="nowhere")) is None
        assert node_here(kube, "worker-7", here)[0]
        other, node_object = node_here(kube, "other", here)
        assert other is False and node_object is not None
        assert node_object["metadata"]["name"] == "other"
        said = nodes[2]["status"]["nodeInfo"]["kubeletVersion"]
        assert kubelet_version_of(node_object) == KubeletVersion(said, "api:node/other")
        server.fail("/api/v1/nodes", 403)
        assert this_node_name(kube, here) == "host-a"  # no RBAC for nodes: the host name
        assert node_here(kube, "host-a", here) == (True, None)  # by name, no Node object
        assert node_here(kube, "x", here) == (False, None)


def test_audit_node_joins_the_pods_of_this_machines_node(tmp_path: Path) -> None:
    bundle = str(AUDIT / "healthy-1.31-cgroupv2")  # host name node-ok, no boot ID recorded
    pods = copy.deepcopy(load_fixture("pods-all.json")["items"])
    for pod in pods:
        pod["spec"]["nodeName"] = "node-ok"
    with KubeServer(pods=pods, nodes=[_node("node-ok", "b-7")]) as server:
        kubeconfig = str(server.kubeconfig(tmp_path / "config"))
        result = api.audit_node(bundle=bundle, kubeconfig=kubeconfig, environ={})
        listed = server.requests_for("GET", "/api/v1/pods")
    assert listed and all(r.q("fieldSelector") == "spec.nodeName=node-ok" for r in listed)
    assert any(f.subject.startswith("Pod/") for f in result.findings)
    with KubeServer(nodes=[_node("vm", "b-7")]) as server:  # the recorded pods run on vm
        kubeconfig = str(server.kubeconfig(tmp_path / "config2"))
        with pytest.raises(UsageError) as info:
            api.audit_node(bundle=bundle, kubeconfig=kubeconfig, environ={})
        assert info.value.param == "node_name"
        named = api.audit_node(bundle=bundle, kubeconfig=kubeconfig, environ={}, node_name="vm")
        shown = cli("audit", "--from", bundle, "--kubeconfig", kubeconfig)
    assert any(f.subject.startswith("Pod/") for f in named.findings)
    assert shown.returncode == 2
    assert shown.stderr.rstrip().endswith("name the Node (--node)")
