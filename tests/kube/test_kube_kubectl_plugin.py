"""`kubectl inspect8s` through the real kubectl binary, and the plugin's manifests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml

from inspect8s.kube.convert import pod_from_json
from tests.kubeserver import AgentScript, KubeServer

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO / "plugins" / "kubectl"
AGENT_OUTPUT = REPO / "tests" / "fixtures" / "agent" / "pod-web-guaranteed-trace.json"

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")


def _scripts_dir() -> Path:
    """The directory pip installed the console scripts into (kubectl-inspect8s)."""
    for candidate in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        if (candidate / "kubectl-inspect8s").exists():
            return candidate
    pytest.fail("kubectl-inspect8s is not installed; run pip install -e .")


def _env(tmp_path: Path) -> dict[str, str]:
    kubectl_dir = str(Path(shutil.which("kubectl") or "/usr/bin/kubectl").parent)
    return {
        **os.environ,
        "PATH": os.pathsep.join([str(_scripts_dir()), kubectl_dir, "/usr/bin", "/bin"]),
        "HOME": str(tmp_path),  # no ~/.kube/config of the machine leaks in
        "KUBECONFIG": "",
    }


def _kubectl(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def test_kubectl_plugin_list_shows_the_plugin(tmp_path: Path) -> None:
    result = _kubectl(["plugin", "list"], _env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert str(_scripts_dir() / "kubectl-inspect8s") in result.stdout
    assert "warning" not in result.stderr.lower()


def test_kubectl_inspect8s_help(tmp_path: Path) -> None:
    result = _kubectl(["inspect8s", "--help"], _env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: kubectl inspect8s ")
    for command in ("node", "pod", "pid", "audit"):
        assert f"  {command} " in result.stdout
    version = _kubectl(["inspect8s", "--version"], _env(tmp_path))
    assert version.returncode == 0 and version.stdout.startswith("inspect8s ")


def test_kubectl_inspect8s_pod_trace_runtime_uses_the_kubeconfig(tmp_path: Path) -> None:
    """kubectl hands every flag to the plugin; the pod is looked up through the API.

    The recorded pod runs on node "vm", not this machine, so the trace goes through an agent
    pod: it must be created on "vm" and deleted again.
    """
    with KubeServer() as server:
        server.agent = AgentScript(phases=("Succeeded",), logs=AGENT_OUTPUT.read_text())
        kubeconfig = server.kubeconfig(tmp_path / "config", namespace="shop")
        result = _kubectl(
            [
                "inspect8s",
                "pod",
                "web-guaranteed",
                "--trace-runtime",
                "--kubeconfig",
                str(kubeconfig),
            ],
            _env(tmp_path),
        )
        assert "Traceback" not in result.stderr
        gets = [r.path for r in server.requests_for("GET")]
        assert "/api/v1/namespaces/shop/pods/web-guaranteed" in gets, (result.stdout, result.stderr)
        posts = server.requests_for("POST")
        assert len(posts) == 1, (result.stdout, result.stderr)
        assert posts[0].body["spec"]["nodeName"] == "vm"
        assert len(server.requests_for("DELETE")) == 1 and server.created == {}
        assert result.returncode in (0, 3), (result.stdout, result.stderr)
        assert "web-guaranteed" in result.stdout


# ----------------------------------------------------------------- manifests


def _docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((PLUGIN_DIR / name).read_text()) if d]


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def _assert_node_probe(spec: dict[str, Any]) -> None:
    probe = next(
        c
        for c in [*spec.get("initContainers", []), *spec["containers"]]
        if c["name"] == "inspect8s"
    )
    assert probe["command"][:2] == ["inspect8s", "node"]
    assert probe["command"][-4:] == ["--root", "/host", "-o", "json"]
    assert probe["securityContext"]["privileged"] is True
    (mount,) = [m for m in probe["volumeMounts"] if m["mountPath"] == "/host"]
    assert mount["readOnly"] is True
    host = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    assert host["hostPath"]["path"] == "/"
    assert spec["hostPID"] is True
    assert {"operator": "Exists"} in spec["tolerations"]
    assert probe["resources"]["limits"]["memory"]
    pod = pod_from_json({"metadata": {"name": "probe"}, "spec": spec}, source="manifest")
    assert any(c.privileged for c in pod.containers)


def test_daemonset_runs_the_node_probe_on_every_node() -> None:
    (ds,) = [d for d in _docs("daemonset.yaml") if d["kind"] == "DaemonSet"]
    _assert_node_probe(_pod_spec(ds))
    labels = ds["spec"]["template"]["metadata"]["labels"]
    assert ds["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert labels["app.kubernetes.io/managed-by"] == "inspect8s"


def test_job_runs_the_node_probe_once_on_a_named_node() -> None:
    (job,) = [d for d in _docs("job.yaml") if d["kind"] == "Job"]
    spec = _pod_spec(job)
    _assert_node_probe(spec)
    assert spec["restartPolicy"] == "Never"
    assert spec["nodeName"] == "NODE_NAME"
    assert job["spec"]["ttlSecondsAfterFinished"] > 0


def _rules(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (verb, res) for rule in doc["rules"] for verb in rule["verbs"] for res in rule["resources"]
    }


def test_rbac_grants_what_the_agent_and_the_reads_need() -> None:
    docs = {(d["kind"], d["metadata"]["name"]): d for d in _docs("rbac.yaml")}
    reader = _rules(docs[("ClusterRole", "inspect8s-reader")])
    assert {("get", "pods"), ("list", "pods"), ("get", "nodes"), ("list", "nodes")} <= reader
    agent = _rules(docs[("Role", "inspect8s-agent")])
    assert {("create", "pods"), ("get", "pods"), ("delete", "pods"), ("get", "pods/log")} <= agent
    assert not any(verb in ("*", "update", "patch") for verb, _ in reader | agent)


def test_rbac_lets_the_api_version_checks_list_what_they_read() -> None:
    from inspect8s.audit.apitable import load_table
    from inspect8s.collect.apiobjects import choose_listings
    from inspect8s.model import ServedResource
    from tests.kubeapis import RESOURCES_1_26

    docs = {(d["kind"], d["metadata"]["name"]): d for d in _docs("rbac.yaml")}
    granted = {
        (group, res)
        for rule in docs[("ClusterRole", "inspect8s-api-versions")]["rules"]
        if "list" in rule["verbs"]
        for group in rule["apiGroups"]
        for res in rule["resources"]
    }
    served = [ServedResource(r.group_version, r.kind, r.name, r.namespaced, r.verbs)
              for r in RESOURCES_1_26]  # fmt: skip
    preferred: dict[str, str] = {}
    for r in RESOURCES_1_26:
        preferred.setdefault(r.group_version.rpartition("/")[0], r.group_version)
    listed = {
        (r.api_version.rpartition("/")[0], r.name)
        for r in choose_listings(served, load_table(), preferred)
    }
    assert listed and listed <= granted
    helm = _rules(docs[("ClusterRole", "inspect8s-helm-releases")])
    assert helm == {("list", "secrets")}
    assert not any(
        verb != "list" for verb, _ in _rules(docs[("ClusterRole", "inspect8s-api-versions")])
    )


def _render_krew_template(text: str, tag: str) -> str:
    """Render the template as krew-release-bot does: uri + sha256 per platform, the tag."""

    def uri_and_sha(match: re.Match[str]) -> str:
        indent = match.group(1)
        uri = match.group(2).replace("{{ .TagName }}", tag)
        return f"{indent}uri: {uri}\n{indent}sha256: {'ab' * 32}"

    text = re.sub(
        r'^( *)\{\{ addURIAndSha "([^"]+)" \.TagName \}\}$', uri_and_sha, text, flags=re.M
    )
    return text.replace("{{ .TagName }}", tag)


def test_krew_manifest_template() -> None:
    rendered = _render_krew_template((PLUGIN_DIR / "krew" / "inspect8s.yaml").read_text(), "v0.1.0")
    assert "{{" not in rendered
    manifest = yaml.safe_load(rendered)
    assert manifest["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2"
    assert manifest["kind"] == "Plugin" and manifest["metadata"]["name"] == "inspect8s"
    assert manifest["spec"]["version"] == "v0.1.0"
    seen = set()
    for platform in manifest["spec"]["platforms"]:
        labels = platform["selector"]["matchLabels"]
        seen.add((labels["os"], labels["arch"]))
        assert platform["bin"] == "kubectl-inspect8s"
        assert platform["uri"].endswith(f"_v0.1.0_{labels['os']}_{labels['arch']}.tar.gz")
        assert len(platform["sha256"]) == 64
        assert {"from": "kubectl-inspect8s", "to": "."} in platform["files"]
    assert ("linux", "amd64") in seen and ("linux", "arm64") in seen
