"""The I8S-API-* checks on manifests: every class of the API version table at the targets
1.22, 1.25, 1.26, 1.29 and 1.32 (tests/fixtures/apis/, exact findings in expected.yaml),
the messages, the default target, standard input and the public manifest corpus."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from inspect8s.audit.apitable import load_table
from inspect8s.audit.registry import CheckSettings, load_checks
from inspect8s.audit.results import AuditResult
from inspect8s.audit.runner import audit_manifests

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
APIS = FIXTURES / "apis"
CLASSES = sorted(p.name for p in APIS.iterdir() if p.is_dir())
TARGETS = ("1.22", "1.25", "1.26", "1.29", "1.32")
CHECKS = [c for c in load_checks() if c.id.startswith("I8S-API-")]
TABLE = load_table()


def audit(paths: list[str], target: str | None, **kwargs: Any) -> AuditResult:
    settings = CheckSettings(target_version=target) if target else None
    return audit_manifests(paths, CHECKS, settings=settings, **kwargs)


def test_every_table_class_has_fixtures() -> None:
    assert set(CLASSES) >= {
        "workload", "policy", "networking", "flowcontrol", "storage", "autoscaling", "batch",
    }  # fmt: skip


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("klass", CLASSES)
def test_fail_fixture_gives_exactly_the_expected_findings(klass: str, target: str) -> None:
    path = APIS / klass / "fail.yaml"
    expected = yaml.safe_load((APIS / klass / "expected.yaml").read_text())[target] or []
    result = audit([str(path)], target)
    assert result.errors == ()
    got = sorted([f.check_id, f.subject, f.location.line if f.location else None]
                 for f in result.findings)  # fmt: skip
    assert got == sorted(expected)
    lines = path.read_text().splitlines()
    minor = int(target.split(".")[1])
    for f in result.findings:
        assert f.location is not None and f.location.file == str(path)
        written = lines[f.location.line - 1]  # type: ignore[operator]
        assert f"(target {target})" in f.message
        if f.check_id in ("I8S-API-REMOVED", "I8S-API-DEPRECATED"):
            # the finding sits on the apiVersion line and names that version and the kind
            match = re.fullmatch(r"apiVersion: (\S+)", written)
            assert match, written
            kind = f.subject.split("/")[0]
            assert f.message.startswith(f"{match.group(1)} {kind} ")
            entry = TABLE.lookup(match.group(1), kind)
            assert entry is not None and entry.deprecated is not None
            assert entry.deprecated <= (1, minor)
            gone = entry.removed is not None and entry.removed <= (1, minor)
            assert gone == (f.check_id == "I8S-API-REMOVED")
            if gone:
                assert f"not served since Kubernetes 1.{entry.removed[1]} " in f.message  # type: ignore[index]
            assert "use " in f.message or "Pod Security Admission" in f.message


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("klass", CLASSES)
def test_objects_still_served_give_none(klass: str, target: str) -> None:
    result = audit([str(APIS / klass / "pass.yaml")], target)
    assert result.errors == ()
    assert result.subjects >= 1
    assert result.findings == (), [f.message for f in result.findings]


def test_messages_name_versions_release_and_schema_changes() -> None:
    result = audit([str(APIS / "networking" / "fail.yaml")], "1.25")
    by_subject = {(f.check_id, f.subject): f.message for f in result.findings}
    assert by_subject[("I8S-API-REMOVED", "Ingress/shop/shop")] == (
        "extensions/v1beta1 Ingress is not served since Kubernetes 1.22 (target 1.25): "
        "use networking.k8s.io/v1 (served since Kubernetes 1.19); also: spec.backend is "
        "renamed spec.defaultBackend; backend serviceName is renamed service.name; backend "
        "servicePort is renamed service.port.number (numeric) or service.port.name (string); "
        "pathType is required on every path (ImplementationSpecific keeps the v1beta1 "
        "behaviour)"
    )
    # the v1beta1 Ingress has no spec.backend: that change is not shown for it
    api = by_subject[("I8S-API-REMOVED", "Ingress/shop/api")]
    assert "serviceName" in api and "spec.backend" not in api
    flow = audit([str(APIS / "flowcontrol" / "fail.yaml")], "1.26")
    [plc] = [f for f in flow.findings if f.subject == "PriorityLevelConfiguration/batch-jobs"]
    assert plc.message == (
        "flowcontrol.apiserver.k8s.io/v1beta2 PriorityLevelConfiguration is deprecated since "
        "Kubernetes 1.26 and removed in 1.29 (target 1.26): use "
        "flowcontrol.apiserver.k8s.io/v1beta3 (served since Kubernetes 1.26); also: "
        "spec.limited.assuredConcurrencyShares is renamed spec.limited.nominalConcurrencyShares"
    )


def test_without_a_target_the_newest_release_of_the_table_is_used_and_said() -> None:
    result = audit([str(APIS / "flowcontrol" / "fail.yaml")], None)
    newest = f"1.{TABLE.newest[1]}"
    assert result.settings == {
        "targetVersion": newest,
        "targetVersionFrom": "the newest release in the API version table; pass --target-version",
    }
    assert {f.check_id for f in result.findings} == {"I8S-API-REMOVED"}
    assert all(f"(target {newest})" in f.message for f in result.findings)


def test_standard_input_carries_helm_template_output() -> None:
    text = (FIXTURES / "manifests" / "helm-rendered.yaml").read_text()
    text += "---\n# Source: chart/templates/hpa.yaml\n"
    text += (APIS / "autoscaling" / "fail.yaml").read_text()
    result = audit(["-"], "1.26", stdin=io.StringIO(text))
    removed = sorted((f.subject, f.location.file) for f in result.findings)  # type: ignore[union-attr]
    assert removed == [
        ("HorizontalPodAutoscaler/shop/api", "<stdin>"),
        ("HorizontalPodAutoscaler/shop/web", "<stdin>"),
    ]


def test_public_corpus_flags_the_removed_versions_it_really_uses() -> None:
    corpus = FIXTURES / "corpus"
    result = audit([str(corpus)], "1.25")
    found = sorted(
        (f.check_id, f.subject, Path(f.location.file).parent.name)  # type: ignore[union-attr]
        for f in result.findings
    )
    # flannel v0.11 (extensions/v1beta1 DaemonSets and PodSecurityPolicy, RBAC v1beta1) and
    # the fluentd RBAC manifest (rbac.authorization.k8s.io/v1beta1)
    written = [
        (p.parent.name, line)
        for p in sorted(corpus.rglob("*.y*ml"))
        for line in (text.split("#", 1)[0] for text in p.read_text().splitlines())
        if line.startswith("apiVersion:") and ("v1beta" in line or "v1alpha" in line)
    ]
    versions = [f for f in found if f[0] == "I8S-API-REMOVED"]
    assert len(versions) == len(written)
    assert {d for _, _, d in versions} == {d for d, _ in written} == {"flannel", "fluentd"}
    # a namespace written on a ClusterRole is ignored, as the API server ignores it
    assert ("I8S-API-REMOVED", "ClusterRole/fluentd", "fluentd") in versions
    # flannel's DaemonSets also select nodes by the deprecated beta.kubernetes.io/arch label
    labels = [f for f in found if f[0] != "I8S-API-REMOVED"]
    assert len(labels) == 5
    assert {c for c, _, _ in labels} == {"I8S-API-FIELD-DEPRECATED"}
    assert all(s.startswith("DaemonSet/kube-system/kube-flannel-ds-") for _, s, _ in labels)


def test_the_versions_file_of_docs_ci_md_works(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "ci.md").read_text()
    block = doc.split("# crd-versions.yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "crd-versions.yaml"
    path.write_text(block)
    manifest = tmp_path / "cert.yaml"
    manifest.write_text(
        "apiVersion: cert-manager.io/v1alpha2\nkind: Certificate\n"
        "metadata: {name: web, namespace: shop}\nspec: {secretName: web-tls}\n"
    )
    settings = CheckSettings(target_version="1.29", versions_files=(str(path),))
    result = audit_manifests([str(manifest)], CHECKS, settings=settings)
    [finding] = result.findings
    assert finding.check_id == "I8S-API-REMOVED" and finding.subject == "Certificate/shop/web"
    assert finding.message == (
        "cert-manager.io/v1alpha2 Certificate is not served since cert-manager 1.6 "
        "(target 1.6): use cert-manager.io/v1"
    )
    assert result.settings["versionsFiles"] == str(path)
