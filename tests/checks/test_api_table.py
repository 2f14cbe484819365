"""The API version table (inspect8s/audit/data/api-versions.yaml): sorted, complete for each
release against the Kubernetes deprecation guide, consistent; and --versions-file."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspect8s.audit.apitable import (
    KUBERNETES,
    TableError,
    entries_removed_in,
    load_table,
    parse_release,
)
from inspect8s.errors import UsageError

TABLE = load_table()

# The guide's "Removed APIs by release", section by section (transcribed from
# kubernetes/website content/en/docs/reference/using-api/deprecation-guide.md).
GUIDE: dict[str, set[str]] = {
    "1.16": {
        "extensions/v1beta1 NetworkPolicy",
        "extensions/v1beta1 DaemonSet",
        "apps/v1beta2 DaemonSet",
        "extensions/v1beta1 Deployment",
        "apps/v1beta1 Deployment",
        "apps/v1beta2 Deployment",
        "apps/v1beta1 StatefulSet",
        "apps/v1beta2 StatefulSet",
        "extensions/v1beta1 ReplicaSet",
        "apps/v1beta1 ReplicaSet",
        "apps/v1beta2 ReplicaSet",
    },
    "1.22": {
        "admissionregistration.k8s.io/v1beta1 MutatingWebhookConfiguration",
        "admissionregistration.k8s.io/v1beta1 ValidatingWebhookConfiguration",
        "apiextensions.k8s.io/v1beta1 CustomResourceDefinition",
        "apiregistration.k8s.io/v1beta1 APIService",
        "authentication.k8s.io/v1beta1 TokenReview",
        "authorization.k8s.io/v1beta1 LocalSubjectAccessReview",
        "authorization.k8s.io/v1beta1 SelfSubjectAccessReview",
        "authorization.k8s.io/v1beta1 SubjectAccessReview",
        "certificates.k8s.io/v1beta1 CertificateSigningRequest",
        "coordination.k8s.io/v1beta1 Lease",
        "extensions/v1beta1 Ingress",
        "networking.k8s.io/v1beta1 Ingress",
        "networking.k8s.io/v1beta1 IngressClass",
        "rbac.authorization.k8s.io/v1beta1 ClusterRole",
        "rbac.authorization.k8s.io/v1beta1 ClusterRoleBinding",
        "rbac.authorization.k8s.io/v1beta1 Role",
        "rbac.authorization.k8s.io/v1beta1 RoleBinding",
        "scheduling.k8s.io/v1beta1 PriorityClass",
        "storage.k8s.io/v1beta1 CSIDriver",
        "storage.k8s.io/v1beta1 CSINode",
        "storage.k8s.io/v1beta1 StorageClass",
        "storage.k8s.io/v1beta1 VolumeAttachment",
    },
    "1.25": {
        "batch/v1beta1 CronJob",
        "discovery.k8s.io/v1beta1 EndpointSlice",
        "events.k8s.io/v1beta1 Event",
        "autoscaling/v2beta1 HorizontalPodAutoscaler",
        "policy/v1beta1 PodDisruptionBudget",
        "policy/v1beta1 PodSecurityPolicy",
        "node.k8s.io/v1beta1 RuntimeClass",
    },
    "1.26": {
        "flowcontrol.apiserver.k8s.io/v1beta1 FlowSchema",
        "flowcontrol.apiserver.k8s.io/v1beta1 PriorityLevelConfiguration",
        "autoscaling/v2beta2 HorizontalPodAutoscaler",
    },
    "1.27": {"storage.k8s.io/v1beta1 CSIStorageCapacity"},
    "1.29": {
        "flowcontrol.apiserver.k8s.io/v1beta2 FlowSchema",
        "flowcontrol.apiserver.k8s.io/v1beta2 PriorityLevelConfiguration",
    },
    "1.32": {
        "flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema",
        "flowcontrol.apiserver.k8s.io/v1beta3 PriorityLevelConfiguration",
    },
}
# Removals the table has from another source than the guide (the source names it).
NOT_IN_GUIDE = {"1.16": {"extensions/v1beta1 PodSecurityPolicy"}}
CLASSES = {"workload", "policy", "networking", "flowcontrol", "storage", "autoscaling", "batch"}


def _never(release: tuple[int, int] | None) -> tuple[int, int]:
    return release if release is not None else (99, 99)


def test_apis_are_sorted_by_removal_then_group_version_kind() -> None:
    keys = [(_never(e.removed), e.group, e.version, e.kind) for e in TABLE.apis]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys), "an entry is listed twice"


def test_fields_are_sorted_by_removal_deprecation_then_key() -> None:
    keys = [(_never(f.removed), f.deprecated or (0, 0), f.key) for f in TABLE.fields]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_every_release_from_1_16_is_reviewed() -> None:
    releases = [r.release for r in TABLE.releases]
    assert releases[0] == (1, 16)
    assert releases == [(1, n) for n in range(16, 16 + len(releases))], "a release is missing"
    assert TABLE.newest == releases[-1]


@pytest.mark.parametrize("reviewed", TABLE.releases, ids=lambda r: f"1.{r.release[1]}")
def test_each_release_removes_what_the_guide_says(reviewed: object) -> None:
    release = reviewed.release  # type: ignore[attr-defined]
    removes = reviewed.removes  # type: ignore[attr-defined]
    name = f"{release[0]}.{release[1]}"
    got = {f"{e.api_version} {e.kind}" for e in entries_removed_in(TABLE, release)}
    expected = GUIDE.get(name, set()) | NOT_IN_GUIDE.get(name, set())
    assert got == expected
    if name in GUIDE:
        assert removes == f"guide#v{release[0]}-{release[1]}"
        assert all("guide#" in e.source for e in entries_removed_in(TABLE, release)
                   if f"{e.api_version} {e.kind}" in GUIDE[name])  # fmt: skip
    else:
        assert removes == "none"


def test_entries_are_consistent() -> None:
    for e in TABLE.apis:
        name = f"{e.api_version} {e.kind}"
        assert e.source, name
        assert e.component == KUBERNETES
        assert e.deprecated is not None, f"{name}: every built-in entry says when it warned"
        if e.removed is not None:
            assert e.deprecated <= e.removed, name
        if e.replacement is None:
            assert e.no_replacement, f"{name}: say what to do instead"
        # the chain ends in a version the newest release still serves
        step = TABLE.replacement_at(e, TABLE.newest)
        if step is not None:
            last = TABLE.lookup(step.api_version, step.kind)
            assert last is None or last.removed is None or last.removed > TABLE.newest, name
    for f in TABLE.fields:
        assert f.source and f.replacement, f.key
        if f.removed is not None and f.deprecated is not None:
            assert f.deprecated <= f.removed, f.key


def test_every_row_class_is_present() -> None:
    assert {e.api_class for e in TABLE.apis} >= CLASSES


def test_replacement_chain_follows_the_target() -> None:
    v1beta1 = TABLE.lookup("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema")
    assert v1beta1 is not None
    chain = {
        n: TABLE.replacement_at(v1beta1, (1, n)).api_version  # type: ignore[union-attr]
        for n in (23, 26, 29, 32)
    }
    assert chain == {
        23: "flowcontrol.apiserver.k8s.io/v1beta2",
        26: "flowcontrol.apiserver.k8s.io/v1beta3",
        29: "flowcontrol.apiserver.k8s.io/v1",
        32: "flowcontrol.apiserver.k8s.io/v1",
    }
    hpa = TABLE.lookup("autoscaling/v2beta1", "HorizontalPodAutoscaler")
    assert hpa is not None
    assert TABLE.replacement_at(hpa, (1, 22)).api_version == "autoscaling/v2beta2"  # type: ignore[union-attr]
    assert TABLE.replacement_at(hpa, (1, 25)).api_version == "autoscaling/v2"  # type: ignore[union-attr]


def test_parse_release() -> None:
    assert parse_release("1.22") == (1, 22)
    assert parse_release("v1.22.3") == (1, 22)
    assert parse_release("0.11") == (0, 11)
    assert parse_release("banana") is None
    assert parse_release(None) is None


# --------------------------------------------------------------------------- versions files


def test_versions_file_adds_crd_entries_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "crds.yaml"
    path.write_text(
        """
targets:
  cert-manager: "1.6"
apis:
  - group: cert-manager.io
    version: v1alpha2
    kind: Certificate
    component: cert-manager
    deprecated: "1.4"
    removed: "1.6"
    replacement: cert-manager.io/v1
  - group: batch
    version: v1beta1
    kind: CronJob
    deprecated: "1.21"
    removed: "1.25"
    replacement: batch/v1
    source: a local note
fields:
  - what: annotation
    key: sidecar.istio.io/extraStatTags
    applies_to: pod
    component: istio
    deprecated: "1.20"
    removed: null
    replacement: the Telemetry API
"""
    )
    table = load_table((str(path),))
    cert = table.lookup("cert-manager.io/v1alpha2", "Certificate")
    assert cert is not None and cert.component == "cert-manager" and cert.origin == str(path)
    assert table.newest_for("cert-manager") == (1, 6)
    assert table.newest_for("istio") == (1, 20)
    cron = table.lookup("batch/v1beta1", "CronJob")
    assert cron is not None and cron.source == "a local note"  # the file's entry wins
    assert len(table.apis) == len(TABLE.apis) + 1
    assert load_table() is TABLE  # the built-in table is untouched (and cached)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apis: [{version: v1, kind: X}]", "give 'deprecated', 'removed' or both"),
        ("apis: [{group: g, kind: X, removed: '1.2'}]", "'version' is required"),
        ("apis: [{group: g, version: v1, kind: X, removed: soon}]", "not a release"),
        ("apis: [{group: g, version: v1, kind: X, removed: '1.2', colour: red}]", "unknown keys"),
        ("releases: []", "unknown keys releases"),
        ("fields: [{what: label, key: k, removed: '1.2'}]", "'what' must be one of"),
        ("- just a list", "expected a mapping"),
        ("apis: [{{", "invalid YAML"),
    ],
)
def test_bad_versions_files_are_usage_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(TableError, match=message) as info:
        load_table((str(path),))
    assert isinstance(info.value, UsageError) and info.value.exit_code == 2
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_versions_file(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="No such file"):
        load_table((str(tmp_path / "nope.yaml"),))
