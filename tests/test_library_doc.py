"""docs/library.md: its examples run as written against a bundle (the live run is in
tests/integration/test_library_doc_live.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspect8s import api
from tests.docexamples import examples, run_examples

BUNDLE = Path(__file__).resolve().parent / "fixtures" / "bundles" / "crio-1.29"


def test_the_doc_has_the_promised_examples() -> None:
    code = "\n".join(examples())
    for call in ("node_report(", "trace_pod(", "trace_pid(", "audit_node(", "audit_manifests("):
        assert f"inspect8s.{call}" in code
    for name in api.__all__:  # every call is documented
        assert f"`{name}(" in Path(api.__file__).parents[1].joinpath("docs/library.md").read_text()


def test_the_examples_run_against_a_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INSPECT8S_ROOT", "INSPECT8S_CRI_ENDPOINTS", "INSPECT8S_DOCKER_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INSPECT8S_BUNDLE", str(BUNDLE))
    printed = run_examples()
    report = api.node_report(bundle=str(BUNDLE))
    lines = printed.splitlines()
    assert f"node {report.node.hostname}: kernel {report.node.kernel}, cgroup v2" in lines
    assert any(line.startswith("runtime crio 1.29.2, pid 640") for line in lines)
    assert "data/db-0 container postgres: pid" in printed
    uid, name = min((c.pod_uid, c.pod_name) for c in report.containers if c.pod_uid)
    assert any(line.startswith(f"pod data/{name} (uid {uid}), traced on bundle ") for line in lines)
    assert "  kubelet " in printed and "    shim " in printed
    assert f"containers of data/{name} on this node" in printed
    assert any(line.startswith("PID ") and " is in container " in line for line in lines)
    assert any(" findings on " in line and " probe errors" in line for line in lines)
    assert "('I8S-SEC-PRIVILEGED', 'Pod/shop/web/container/web', " in printed
    assert any(line.startswith("exit status ") for line in lines)
    assert "not found: no pod 'no-such-pod'" in printed
    assert "the bundle's audit" not in printed  # record runs only on a live node
    assert lines[-1].startswith("0 True ''")
