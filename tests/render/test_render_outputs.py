"""Renderers: JSON/SARIF/JUnit golden files, SARIF schema validation, JUnit shape, table,
YAML, determinism. Regenerate goldens with ``UPDATE_GOLDEN=1 pytest tests/render``."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from inspect8s.audit.registry import Check, Skip, Violation, check, checks_in, load_checks
from inspect8s.audit.results import AuditResult, Location
from inspect8s.audit.runner import audit_manifests, load_ignore_file, run_checks
from inspect8s.errors import ErrorKind, ProbeError
from inspect8s.model import KubeNode, Pod, Snapshot
from inspect8s.render import get_renderer, renderer_names

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
GOLDEN = FIXTURES / "golden"
INPUT = "tests/fixtures/manifests/golden"  # relative: goldens must not hold machine paths
IGNORE = "tests/fixtures/manifests/golden-ignore.yaml"
SCHEMA = json.loads((FIXTURES / "schemas" / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture
def result(monkeypatch: pytest.MonkeyPatch) -> AuditResult:
    monkeypatch.chdir(REPO)
    return audit_manifests([INPUT], builtin_checks(), ignore=load_ignore_file(IGNORE))


def builtin_checks() -> list[Check]:
    """The built-in checks only: goldens must not change when a plugin is installed."""
    return [c for c in load_checks() if c.info.origin.startswith("inspect8s.")]


def render(name: str, res: AuditResult) -> str:
    out = io.StringIO()
    get_renderer(name)(res, out)
    return out.getvalue()


def _normalise(name: str, text: str) -> str:
    if name == "json":
        doc = json.loads(text)
        doc["tool"]["version"] = "VERSION"
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if name == "sarif":
        doc = json.loads(text)
        doc["runs"][0]["tool"]["driver"]["version"] = "VERSION"
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return text


@pytest.mark.parametrize(
    ("name", "golden"),
    [("json", "audit.json"), ("sarif", "audit.sarif"), ("junit", "audit.junit.xml")],
)
def test_golden(result: AuditResult, name: str, golden: str) -> None:
    got = _normalise(name, render(name, result))
    path = GOLDEN / golden
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(got)
    assert got == path.read_text(), f"{golden} changed; UPDATE_GOLDEN=1 to accept"


def test_builtin_renderers_are_entry_points() -> None:
    assert {"table", "json", "yaml", "sarif", "junit"} <= set(renderer_names())


def test_json_schema_shape(result: AuditResult) -> None:
    doc = json.loads(render("json", result))
    assert doc["schemaVersion"] == 1
    assert doc["kind"] == "AuditResult"
    assert doc["target"] == "manifests"
    summary = doc["summary"]
    assert summary["complete"] is False  # broken.yaml
    assert summary["errors"] == 1
    assert summary["suppressed"] == 1
    assert summary["findings"] == len(doc["findings"]) - 1
    assert summary["bySeverity"]["critical"] == 1
    [error] = doc["errors"]
    assert error["source"] == f"manifest:{INPUT}/broken.yaml"
    assert error["kind"] == "malformed"
    sock = next(f for f in doc["findings"] if f["checkId"] == "I8S-WL-DOCKERSOCK")
    assert sock["subject"] == "CronJob/ci/builder"
    assert sock["location"] == {
        "file": f"{INPUT}/workloads.yaml",
        "documentIndex": 2,
        "line": 72,  # the hostPath path of the socket volume
    }
    ids = [c["id"] for c in doc["checks"]]
    assert ids == sorted(ids)
    keys = [(f["subject"], f["checkId"]) for f in doc["findings"]]
    assert keys == sorted(keys)


def test_yaml_is_the_json_document(result: AuditResult) -> None:
    assert yaml.safe_load(render("yaml", result)) == json.loads(render("json", result))


def test_output_is_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    files = sorted(str(p.relative_to(REPO)) for p in (REPO / INPUT).iterdir())
    checks = builtin_checks()
    a = audit_manifests(files, checks)
    b = audit_manifests(list(reversed(files)), list(reversed(checks)))
    for name in ("table", "junit", "sarif"):
        assert render(name, a) == render(name, a)
    da, db = json.loads(render("json", a)), json.loads(render("json", b))
    da.pop("inputs"), db.pop("inputs")
    assert da == db


# --------------------------------------------------------------------------- SARIF


def _validate(doc: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(
        SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(doc)]


def test_schema_file_is_a_valid_draft7_schema() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert len(SCHEMA["definitions"]) == 52
    # the schema is not a pushover: it refuses what SARIF forbids
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{}]}]}
    assert _validate(bad)  # result.message is required
    bad2 = {"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}
    assert _validate(bad2)


def test_sarif_validates_and_carries_locations(result: AuditResult) -> None:
    doc = json.loads(render("sarif", result))
    assert _validate(doc) == []
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [c.id for c in result.checks]
    sock_rule = next(r for r in rules if r["id"] == "I8S-WL-DOCKERSOCK")
    assert "docker.sock" in sock_rule["help"]["text"]
    assert sock_rule["defaultConfiguration"]["level"] == "error"
    assert sock_rule["properties"]["security-severity"] == "9.5"
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        [loc] = res["locations"]
        kind = loc["logicalLocations"][0]["fullyQualifiedName"].split("/")[0]
        assert kind in (
            "CronJob",
            "DaemonSet",
            "Deployment",
            "Pod",
            "Ingress",
            "PodDisruptionBudget",
        )
        assert loc["physicalLocation"]["artifactLocation"]["uri"].startswith(INPUT)
        assert loc["physicalLocation"]["region"]["startLine"] >= 1
    removed = [r for r in run["results"] if r["ruleId"] == "I8S-API-REMOVED"]
    assert {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in removed} == {
        2,
        19,
    }
    assert all(r["level"] == "error" and "target 1.35" in r["message"]["text"] for r in removed)
    suppressed = [r for r in run["results"] if "suppressions" in r]
    assert [r["ruleId"] for r in suppressed] == ["I8S-WL-RUNTIMEDIR"]
    assert suppressed[0]["suppressions"][0]["state"] == "accepted"
    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert "broken.yaml" in note["message"]["text"]


@check("I8S-TEST-NODE1", title="Node problem", severity="high", scope="node")
def _node_problem(snapshot: Snapshot) -> Iterator[Violation]:
    """Test node check with a config-file location."""
    yield Violation(
        "kubelet flag --network-plugin was removed in 1.24",
        location=Location("/var/lib/kubelet/kubeadm-flags.env", line=1),
    )
    yield Violation("dockerd runs beside containerd")


@check("I8S-TEST-SKIPS", title="Needs data", severity="low", scope="pod")
def _needs_data(pod: Pod) -> Iterator[Violation]:
    """Test pod check that skips."""
    raise Skip("no container status")


@check("I8S-TEST-CRASH", title="Crashes", severity="low", scope="pod")
def _crashes(pod: Pod) -> Iterator[Violation]:
    """Test pod check that crashes."""
    raise RuntimeError("bug")


def _node_result() -> AuditResult:
    snap = Snapshot(
        kube_nodes=(KubeNode("vm", "v1.26.4", "containerd://1.6.20", None, None),),
        pods=(Pod("p", "ns", None, None, None, None, ()),),
        errors=(ProbeError(ErrorKind.PERMISSION, "host:/proc/1/ns/net", "permission denied"),),
    )
    return run_checks(snap, checks_in([_node_problem, _needs_data, _crashes]), target="node")


def test_sarif_node_findings_validate_with_absolute_paths_and_logical_only() -> None:
    doc = json.loads(render("sarif", _node_result()))
    assert _validate(doc) == []
    results = doc["runs"][0]["results"]
    with_file = next(r for r in results if "network-plugin" in r["message"]["text"])
    physical = with_file["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "file:///var/lib/kubelet/kubeadm-flags.env"
    assert physical["region"] == {"startLine": 1}
    logical_only = next(r for r in results if "dockerd" in r["message"]["text"])
    assert "physicalLocation" not in logical_only["locations"][0]
    assert logical_only["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "node/vm"
    notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    texts = [n["message"]["text"] for n in notes]
    assert "could not check host:/proc/1/ns/net: permission: permission denied" in texts
    assert "I8S-TEST-SKIPS skipped on Pod/ns/p: no container status" in texts
    assert "I8S-TEST-CRASH failed with an error on Pod/ns/p: RuntimeError: bug" in texts


# --------------------------------------------------------------------------- JUnit


def test_junit_shape_and_counts(result: AuditResult) -> None:
    root = ET.fromstring(render("junit", result))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    names = [s.get("name") for s in suites]
    assert names == ["inspect8s.pod", "inspect8s.object", "inspect8s.probes"]
    pod_suite = suites[0]
    cases = pod_suite.findall("testcase")
    scopes = {c.id: c.scope.value for c in result.checks}
    pod_outcomes = [o for o in result.outcomes if scopes[o.check_id] == "pod"]
    assert len(cases) == len(pod_outcomes) == int(pod_suite.get("tests", "0"))
    failures = [c for c in cases if c.find("failure") is not None]
    assert len(failures) == int(pod_suite.get("failures", "0"))
    # the accepted finding passes, with a note
    accepted = [c for c in cases if c.get("classname") == "I8S-WL-RUNTIMEDIR"]
    log_agent = next(c for c in accepted if c.get("name", "").startswith("DaemonSet/kube-system/"))
    assert log_agent.find("failure") is None
    out = log_agent.find("system-out")
    assert out is not None and "reviewed by the platform team" in (out.text or "")
    sock = next(
        c
        for c in failures
        if c.get("classname") == "I8S-WL-DOCKERSOCK"
        and "CronJob/ci/builder" in (c.get("name") or "")
    )
    assert sock.get("file") == f"{INPUT}/workloads.yaml"
    assert sock.get("line") == "54"
    failure = sock.find("failure")
    assert failure is not None and failure.get("type") == "critical"
    # the API version checks: a removed Ingress version, at the line of its apiVersion
    removed = [
        c
        for c in suites[1].findall("testcase")
        if c.get("classname") == "I8S-API-REMOVED" and c.find("failure") is not None
    ]
    assert {(c.get("name"), c.get("file"), c.get("line")) for c in removed} == {
        (
            "Ingress/shop/shop: Object uses an API version the target release no longer serves",
            f"{INPUT}/legacy-apis.yaml",
            "2",
        ),
        (
            "PodDisruptionBudget/shop/storefront: Object uses an API version the target release "
            "no longer serves",
            f"{INPUT}/legacy-apis.yaml",
            "19",
        ),
    }
    total = sum(int(s.get("tests", "0")) for s in suites)
    assert int(root.get("tests", "0")) == total
    assert int(root.get("errors", "0")) == 1


def test_junit_skips_and_errors() -> None:
    root = ET.fromstring(render("junit", _node_result()))
    by_name = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(by_name) == {"inspect8s.pod", "inspect8s.node", "inspect8s.probes"}
    pod = by_name["inspect8s.pod"]
    assert pod.get("skipped") == "1" and pod.get("errors") == "1"
    skipped = pod.find("testcase/skipped")
    assert skipped is not None and skipped.get("message") == "no container status"
    node = by_name["inspect8s.node"]
    [case] = node.findall("testcase")
    failure = case.find("failure")
    assert failure is not None
    assert "2 findings" in (failure.get("message") or "")
    assert "/var/lib/kubelet/kubeadm-flags.env:1" in (failure.text or "")


# --------------------------------------------------------------------------- table


def test_table(result: AuditResult) -> None:
    text = render("table", result)
    lines = text.splitlines()
    assert lines[0].split() == ["SEVERITY", "CHECK", "SUBJECT", "MESSAGE", "LOCATION"]
    assert lines[2].startswith("critical")  # most severe first
    assert "1 findings accepted in the ignore file:" in text
    assert f"could not check manifest:{INPUT}/broken.yaml: malformed:" in text
    node_text = render("table", _node_result())
    assert "skipped: I8S-TEST-SKIPS: no container status" in node_text
    assert "check error: I8S-TEST-CRASH: RuntimeError: bug" in node_text


def test_table_without_findings() -> None:
    res = run_checks(Snapshot(), ())
    assert render("table", res).startswith("No findings.\n")


def test_streamed_json_is_byte_for_byte_the_standard_encoding(result: AuditResult) -> None:
    from inspect8s.render import json as json_render

    odd = dataclasses.replace(
        result.findings[0],
        message='quote " backslash \\ tab \t escape \x1b[2J é 雪 \u2028',
        suppressed="ok\n",
        location=Location("f.yaml", None, None),
    )
    for res in (result, dataclasses.replace(result, findings=(odd,), outcomes=(), errors=())):
        out = io.StringIO()
        json_render.render(res, out)
        expected = json.dumps(json_render.document(res), indent=2, ensure_ascii=False) + "\n"
        assert out.getvalue() == expected
