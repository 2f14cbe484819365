"""The chain an agent pod prints on another node is read back into the chain models and
drawn like a local one; a document that does not fit them ends the command with one line
naming the agent pod and where the document is wrong (exit 4). The API is the local test
server (real HTTP, the real kubernetes client)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.clirun import cli
from tests.kubeserver import AgentScript, KubeServer
from tests.ptyrun import REPO

AGENT_OUTPUT = REPO / "tests/fixtures/agent/pod-web-guaranteed-trace.json"


def _trace(tmp_path: Path, logs: str, *out: str) -> tuple[Any, int]:
    with KubeServer() as server:
        server.agent = AgentScript(phases=("Succeeded",), logs=logs)
        kubeconfig = str(server.kubeconfig(tmp_path / "config", namespace="shop"))
        result = cli("pod", "web-guaranteed", "--trace-runtime", "--kubeconfig", kubeconfig, *out)
        deleted = len(server.requests_for("DELETE"))
    return result, deleted


def test_the_agents_chain_is_printed_through_the_models(tmp_path: Path) -> None:
    agent: dict[str, Any] = json.loads(AGENT_OUTPUT.read_text())
    result, _ = _trace(tmp_path, AGENT_OUTPUT.read_text(), "-o", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["traced_on"] == "agent pod on node vm" and doc["api"]["name"] == "web-guaranteed"
    # the same links, in the same order, with every value the agent gave, and the values an
    # older agent did not print filled with their defaults
    assert [x["name"] for x in doc["node_links"]] == [x["name"] for x in agent["node_links"]]
    for mine, theirs in zip(doc["sandbox"]["links"], agent["sandbox"]["links"], strict=True):
        assert mine["name"] == theirs["name"] and mine["source"] == theirs["source"]
        assert {k: v for k, v in mine["values"].items() if k in theirs["values"]} == {
            k: v for k, v in theirs["values"].items() if k != "state"
        }
    kubelet = doc["node_links"][0]["values"]
    assert kubelet["pid"] == 26923 and kubelet["version_source"] is None
    table, _ = _trace(tmp_path, AGENT_OUTPUT.read_text())
    assert table.returncode == 0, table.stderr
    assert "POD shop/web-guaranteed" in table.stdout
    assert "(traced on agent pod on node vm)" in table.stdout
    assert "kubelet  " in table.stdout and "PID 26923" in table.stdout


def test_a_malformed_agent_document_is_one_line_and_exit_4(tmp_path: Path) -> None:
    agent: dict[str, Any] = json.loads(AGENT_OUTPUT.read_text())
    agent["node_links"][0]["values"]["pid"] = "26923"
    result, deleted = _trace(tmp_path, json.dumps(agent))
    assert result.returncode == 4
    line = result.stderr.strip().splitlines()[-1]
    assert "could not read agent pod default/" in line and "on node vm: malformed" in line
    assert "$.node_links[0].values.pid: expected an integer, got a string" in line
    assert "Traceback" not in result.stderr and deleted == 1
