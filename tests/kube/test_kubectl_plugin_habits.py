"""`kubectl inspect8s ...` through the real kubectl binary with the kubectl habits:
-A, -l, --no-headers, -o wide and -o jsonpath= (kubectl hands every flag to the plugin)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.kube.test_kube_kubectl_plugin import AGENT_OUTPUT, REPO, _env, _kubectl
from tests.kubeserver import AgentScript, KubeServer

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")

TREE = str(REPO / "tests" / "fixtures" / "nodes" / "real-1.26-containerd")


def test_all_namespaces_and_jsonpath(tmp_path: Path) -> None:
    with KubeServer() as server:
        server.agent = AgentScript(phases=("Succeeded",), logs=AGENT_OUTPUT.read_text())
        kubeconfig = str(server.kubeconfig(tmp_path / "config", namespace="default"))
        result = _kubectl(
            [
                "inspect8s", "pod", "web-guaranteed", "-A", "--trace-runtime",
                "--kubeconfig", kubeconfig, "-o", "jsonpath={.api.namespace} {.traced_on}",
            ],
            _env(tmp_path),
        )  # fmt: skip
        lists = [r.query for r in server.requests_for("GET") if r.path == "/api/v1/pods"]
        assert server.created == {}
    assert result.returncode == 0, result.stderr
    assert result.stdout == "shop agent pod on node vm"
    assert lists[0]["fieldSelector"] == ["metadata.name=web-guaranteed"]


def test_selector_lists_every_matching_pod(tmp_path: Path) -> None:
    with KubeServer() as server:
        server.agent = AgentScript(phases=("Succeeded",), logs=AGENT_OUTPUT.read_text())
        kubeconfig = str(server.kubeconfig(tmp_path / "config", namespace="shop"))
        result = _kubectl(
            [
                "inspect8s", "pod", "-l", "app=frontend", "--trace-runtime",
                "--kubeconfig", kubeconfig, "-o", "json",
            ],
            _env(tmp_path),
        )  # fmt: skip
        audit = _kubectl(
            [
                "inspect8s", "audit", "--cluster", "-n", "shop", "-l", "app=frontend",
                "--kubeconfig", kubeconfig, "--fail-on", "none",
                "-o", "jsonpath={range .findings[*]}{.subject}{'\\n'}{end}",
            ],
            _env(tmp_path),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["kind"] == "List" and len(doc["items"]) == 2
    assert audit.returncode == 0, audit.stderr
    pods = {line.split("/")[2] for line in audit.stdout.splitlines() if line.startswith("Pod/")}
    assert pods == {"frontend-7b6b64b765-bfc4q", "frontend-7b6b64b765-lxbnp"}


def test_wide_and_no_headers(tmp_path: Path) -> None:
    base = ["inspect8s", "node", "--root", TREE, "--no-runtime-calls", "-o", "wide"]
    full = _kubectl(base, _env(tmp_path))
    bare = _kubectl([*base, "--no-headers"], _env(tmp_path))
    assert full.returncode == bare.returncode == 0, (full.stderr, bare.stderr)
    golden = (REPO / "tests/fixtures/golden/tables/node-real-1.26.txt").read_text()
    assert full.stdout == golden.replace("<REPO>", str(REPO))
    assert "CONTAINER    RUNTIME" in full.stdout and "CONTAINER    RUNTIME" not in bare.stdout
    assert not [line for line in bare.stdout.splitlines() if line.startswith(("NAME ", "PID "))]
    rows = [line.split()[:4] for line in full.stdout.splitlines() if line.startswith("uid:")]
    assert rows == [
        line.split()[:4] for line in bare.stdout.splitlines() if line.startswith("uid:")
    ]
