"""`inspect8s node --root TREE` on the replay trees gives the report each tree documents.

Each tree under tests/fixtures/nodes/ has an expected.json (and the same facts in its
SOURCE.md). The report is read through the real CLI with JSON output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inspect8s.collect.node import FLAGGED_NAMESPACES
from tests.clirun import cli

NODES = Path(__file__).resolve().parents[1] / "fixtures" / "nodes"
TREES = sorted(p.name for p in NODES.iterdir() if (p / "expected.json").is_file())


def node_json(root: Path) -> dict[str, Any]:
    proc = cli("node", "--root", str(root), "-o", "json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


@pytest.fixture(scope="module", params=TREES)
def tree(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    root = NODES / request.param
    expected = json.loads((root / "expected.json").read_text())
    return expected, node_json(root)


def test_trees_exist() -> None:
    assert {"cgroupv2-systemd-containerd", "crio", "docker-era"} <= set(TREES)


def test_schema_header(tree: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, report = tree
    assert report["schemaVersion"] == 1
    assert report["kind"] == "NodeReport"


def test_node_facts(tree: tuple[dict[str, Any], dict[str, Any]]) -> None:
    expected, report = tree
    assert report["node"]["hostname"] == expected["hostname"]
    assert report["node"]["kernel"] == expected["kernel"]
    assert report["node"]["cgroup_version"] == expected["cgroup_version"]
    assert report["host_reference"]["pid"] == 1
    assert report["host_reference"]["namespaces"] == expected["host_namespaces"]


def test_sockets(tree: tuple[dict[str, Any], dict[str, Any]]) -> None:
    expected, report = tree
    found = {p for s in report["sockets"] for p in (s["path"], *s["aliases"])}
    assert set(expected["sockets"]) <= found


def test_every_container_as_documented(tree: tuple[dict[str, Any], dict[str, Any]]) -> None:
    expected, report = tree
    got = {c["id"]: c for c in report["containers"]}
    assert set(got) == {c["id"] for c in expected["containers"]}
    for want in expected["containers"]:
        c = got[want["id"]]
        assert c["runtime"] == want["runtime"], want["id"]
        assert c["is_sandbox"] == want["sandbox"], want["id"]
        assert c["init_pid"] == want["init_pid"], want["id"]
        assert c["shim_pid"] == want["shim_pid"], want["id"]
        assert c["pids"] == want["pids"], want["id"]
        assert c["qos"] == want["qos"], want["id"]
        assert c["pod_uid"] == want["pod_uid"], want["id"]
        assert c["cgroup_path"] == want["cgroup"], want["id"]
        flagged = [t for t in want["host_namespaces"] if t in FLAGGED_NAMESPACES]
        assert sorted(c["host_namespaces"]) == sorted(flagged), want["id"]
        for key, value in want["limits"].items():
            assert c["limits"][key] == value, (want["id"], key)


def test_names_where_the_tree_holds_a_source(tree: tuple[dict[str, Any], dict[str, Any]]) -> None:
    expected, report = tree
    got = {c["id"]: c for c in report["containers"]}
    named = [c for c in report["containers"] if c["pod_name"]]
    if expected["containers"][0]["runtime"] == "crio":
        # conmon's -n names every CRI-O container: all must be named.
        assert len(named) == len(report["containers"])
    for c in named:
        want = next(w for w in expected["containers"] if w["id"] == c["id"])
        assert (c["pod_namespace"], c["pod_name"]) == (want["namespace"], want["pod"])
        if not want["sandbox"]:
            assert got[c["id"]]["name"] == want["name"]


def test_table_output_has_every_section() -> None:
    root = NODES / "crio"
    proc = cli("node", "--root", str(root))
    assert proc.returncode == 0
    for heading in ("NODE node-b", "RUNTIMES", "SOCKETS", "SHIMS", "CONTAINERS"):
        assert heading in proc.stdout
    assert "data/db-0" in proc.stdout and "postgres" in proc.stdout


def test_yaml_output_parses_to_the_same_document() -> None:
    import yaml

    root = NODES / "docker-era"
    proc = cli("node", "--root", str(root), "-o", "yaml")
    assert proc.returncode == 0
    assert yaml.safe_load(proc.stdout) == node_json(root)


def test_empty_root_still_reports_the_host(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    report = node_json(tmp_path)
    assert report["containers"] == []
    assert report["node"]["cgroup_version"] is None
    assert "no kubelet process" in report["not_found"]
    assert "no container runtime daemon process (containerd, CRI-O, dockerd)" in report["not_found"]


def test_node_config_section_has_provenance() -> None:
    root = NODES / "docker-era"
    proc = cli("node", "--root", str(root), "--config", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    flags = report["node_config"]["kubelet"]["flags"]
    assert flags["--network-plugin"]["value"] == "cni"
    assert flags["--network-plugin"]["source"] == "cmdline"
    assert flags["--container-runtime"]["value"] == "docker"
    # The --config file the kubelet names is absent from this tree: a probe error, not a crash.
    assert any(e["source"] == "host:/var/lib/kubelet/config.yaml" for e in report["errors"])
    table = cli("node", "--root", str(root), "--config")
    assert "KUBELET FLAGS" in table.stdout and "--network-plugin" in table.stdout


def test_crio_trace_shows_conmon_and_crun() -> None:
    root = NODES / "crio"
    proc = cli("pod", "db-0", "-n", "data", "--trace-runtime", "--root", str(root), "-o", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    runtime = next(x for x in doc["node_links"] if x["name"] == "runtime")
    assert runtime["values"]["name"] == "crio" and runtime["values"]["pid"] == 640
    (postgres,) = doc["containers"]
    links = {x["name"]: x for x in postgres["links"]}
    assert links["shim"]["values"]["binary"] == "conmon"
    assert links["shim"]["values"]["pid"] == 2002
    assert links["oci-runtime"]["values"]["binary"] == "/usr/bin/crun"
    assert links["processes"]["values"]["sandbox_pid"] == 3001
    assert set(links["namespaces"]["values"]["shared_with_sandbox"]) == {"ipc", "net", "pid", "uts"}
