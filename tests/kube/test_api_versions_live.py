"""The API version checks on a live cluster: `inspect8s audit --cluster` against the test API
server (real HTTP, the real kubernetes client configuration) serving a 1.26 API with objects
written in old versions (last-applied-configuration, managedFields), Helm 3 release secrets
and the versions the server still serves; RBAC 403 and a hanging call on secrets.

The live objects are the recorded Deployment (tests/fixtures/api/deployment-frontend.json)
and objects of the same shape, given the last-applied annotation and managedFields entries
clients leave when they write an object in an old version (tests/kubeapis.py)."""

from __future__ import annotations

import base64
import gzip
import json
import time
from pathlib import Path
from typing import Any

import pytest

from inspect8s.errors import ProbeFailed
from inspect8s.kube.apiobjects import current_releases, decode_helm_release, written_versions
from tests.clirun import cli
from tests.kubeapis import ApiObjects, helm_release_secret, written_with
from tests.kubeserver import KubeServer, load_fixture, status_body

SECRET_VALUE = "hunter2-do-not-print"

RELEASE_V2 = """---
# Source: shop/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: shop-db
stringData:
  password: hunter2-do-not-print
---
# Source: shop/templates/pdb.yaml
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: shop
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: shop}
---
# Source: shop/templates/cronjob.yaml
apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: shop-report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: report
              image: registry.example/report:1
---
# Source: shop/templates/clusterrole.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: shop-reader
rules: []
"""
RELEASE_V1 = """---
# Source: shop/templates/ingress.yaml
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: shop
spec:
  backend: {serviceName: shop, servicePort: 80}
"""


def _deployment() -> dict[str, Any]:
    return load_fixture("deployment-frontend.json")


def _object(kind: str, api_version: str, name: str, namespace: str | None = "shop",
            **body: Any) -> dict[str, Any]:  # fmt: skip
    meta: dict[str, Any] = {"name": name, "uid": f"uid-{kind}-{name}", "resourceVersion": "470"}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **body}


def old_cluster() -> ApiObjects:
    apis = ApiObjects()
    apis.add(
        "Deployment",
        written_with(_deployment(), "extensions/v1beta1", managers=["kubectl-client-side-apply"]),
    )
    ingress = _object("Ingress", "networking.k8s.io/v1", "api", spec={"rules": []})
    ingress["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "nginx"}
    apis.add(
        "Ingress",
        written_with(ingress, "networking.k8s.io/v1beta1", applied=False, managers=["deployer"]),
        group="networking.k8s.io",
    )
    hpa = _object("HorizontalPodAutoscaler", "autoscaling/v2", "frontend", spec={})
    apis.add("HorizontalPodAutoscaler", written_with(hpa, "autoscaling/v2beta2"))
    flow = _object("FlowSchema", "flowcontrol.apiserver.k8s.io/v1beta3", "batch", None, spec={})
    apis.add("FlowSchema", written_with(flow, "flowcontrol.apiserver.k8s.io/v1beta2"))
    apis.add(
        "Secret",
        helm_release_secret("shop", "shop", 1, RELEASE_V1, status="superseded"),
        helm_release_secret("shop", "shop", 2, RELEASE_V2, values={"dbPassword": SECRET_VALUE}),
        _object("Secret", "v1", "not-helm", data={"token": base64.b64encode(b"x").decode()}),
    )
    return apis


def current_cluster() -> ApiObjects:
    apis = ApiObjects()
    apis.add("Deployment", written_with(_deployment(), "apps/v1", managers=["kubectl"]))
    hpa = _object("HorizontalPodAutoscaler", "autoscaling/v2", "frontend", spec={})
    apis.add("HorizontalPodAutoscaler", written_with(hpa, "autoscaling/v2", managers=["kubectl"]))
    apis.add(
        "Secret",
        helm_release_secret(
            "shop", "shop", 1, RELEASE_V2.split("---\n# Source: shop/templates/pdb.yaml")[0]
        ),
    )
    return apis


def audit_json(server: KubeServer, tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    kubeconfig = server.kubeconfig(tmp_path / "config")
    result = cli("audit", "--cluster", "--kubeconfig", str(kubeconfig), "--select", "I8S-API",
                 "-o", "json", *args)  # fmt: skip
    assert result.stdout, result.stderr
    return result.returncode, result.json(), result.stdout


def test_old_versions_are_flagged_with_their_source(tmp_path: Path) -> None:
    with KubeServer(apis=old_cluster()) as server:
        code, doc, raw = audit_json(server, tmp_path, "--target-version", "1.29")
        secret_lists = server.requests_for("GET", "/api/v1/secrets")
    assert code == 1
    assert doc["settings"]["targetVersion"] == "1.29"
    findings = {(f["checkId"], f["subject"]): f for f in doc["findings"]}
    deploy = findings[("I8S-API-REMOVED", "Deployment/shop/frontend")]["message"]
    assert deploy.startswith(
        "extensions/v1beta1 Deployment (written so in the last-applied-configuration "
        "annotation; managedFields (kubectl-client-side-apply, Update at 2021-03-02T10:00:00Z) "
        "of the live object) is not served since Kubernetes 1.16 (target 1.29): use apps/v1"
    )
    assert "update the manifest it is applied from" in deploy
    ingress = findings[("I8S-API-REMOVED", "Ingress/shop/api")]["message"]
    assert "networking.k8s.io/v1beta1 Ingress (written so in managedFields (deployer" in ingress
    assert "the client that writes it must move" in ingress
    hpa = findings[("I8S-API-REMOVED", "HorizontalPodAutoscaler/shop/frontend")]["message"]
    assert hpa.startswith("autoscaling/v2beta2 HorizontalPodAutoscaler (written so in the last")
    flow = findings[("I8S-API-REMOVED", "FlowSchema/batch")]["message"]
    assert "flowcontrol.apiserver.k8s.io/v1beta2 FlowSchema" in flow
    assert "use flowcontrol.apiserver.k8s.io/v1 (served since Kubernetes 1.29)" in flow
    # the live Ingress still carries the ingress-class annotation
    assert ("I8S-API-FIELD-DEPRECATED", "Ingress/shop/api") in findings
    # the Helm release's current revision (2), with its release and template; revision 1
    # (superseded) is not what helm upgrade starts from
    pdb = findings[("I8S-API-REMOVED", "PodDisruptionBudget/shop/shop")]["message"]
    assert pdb.startswith(
        "policy/v1beta1 PodDisruptionBudget (in Helm release shop/shop revision 2, template "
        "shop/templates/pdb.yaml) is not served since Kubernetes 1.25 (target 1.29)"
    )
    assert "helm upgrade fails on this release" in pdb and "mapkubeapis" in pdb
    assert ("I8S-API-REMOVED", "CronJob/shop/shop-report") in findings
    assert ("I8S-API-REMOVED", "ClusterRole/shop-reader") not in findings
    assert not any(s == "Ingress/shop/shop" for _, s in findings)
    # what the 1.26 server serves and 1.29 removes; 1.27 already removed CSIStorageCapacity
    served = sorted(s for c, s in findings if c == "I8S-API-SERVED")
    assert served == [
        "cluster/flowcontrol.apiserver.k8s.io/v1beta2/FlowSchema",
        "cluster/flowcontrol.apiserver.k8s.io/v1beta2/PriorityLevelConfiguration",
        "cluster/storage.k8s.io/v1beta1/CSIStorageCapacity",
    ]
    assert all(f["location"] is None for f in doc["findings"])
    assert doc["errors"] == [] and doc["summary"]["complete"] is True
    # Helm secrets were asked for by label; their values never reach the report
    assert [r.q("labelSelector") for r in secret_lists] == ["owner=helm"]
    assert SECRET_VALUE not in raw and "dbPassword" not in raw


def test_a_cluster_with_only_current_objects_gives_none(tmp_path: Path) -> None:
    with KubeServer(apis=current_cluster()) as server:
        code, doc, _ = audit_json(server, tmp_path)
    assert doc["findings"] == [], [f["message"] for f in doc["findings"]]
    # no --target-version: the API server's own release, said in the report
    assert doc["settings"] == {
        "targetVersion": "1.26",
        "targetVersionFrom": "the API server (v1.26.4)",
    }
    assert code == 0 and doc["summary"]["complete"] is True


def test_forbidden_secrets_are_a_probe_error_and_a_skip(tmp_path: Path) -> None:
    forbidden = status_body(
        403,
        'secrets is forbidden: User "system:serviceaccount:shop:viewer" cannot list resource '
        '"secrets" in API group "" at the cluster scope',
        "Forbidden",
        {"kind": "secrets"},
    )
    with KubeServer(apis=old_cluster()) as server:
        server.fail("/api/v1/secrets", 403, json.dumps(forbidden).encode())
        code, doc, _ = audit_json(server, tmp_path, "--target-version", "1.29",
                                  "--require-complete")  # fmt: skip
    [error] = doc["errors"]
    assert error["source"] == "api:GET /api/v1/secrets" and error["kind"] == "permission"
    assert "may not list secrets cluster-wide" in error["detail"]
    skipped = {(o["checkId"], o["subject"]) for o in doc["incomplete"]}
    assert ("I8S-API-REMOVED", "source/Helm release secrets") in skipped
    reason = next(o["reason"] for o in doc["incomplete"] if o["checkId"] == "I8S-API-REMOVED")
    assert reason.startswith("Helm release secrets could not be read: ") and "403" in reason
    # the rest of the cluster is still audited
    subjects = {f["subject"] for f in doc["findings"]}
    assert (
        "Deployment/shop/frontend" in subjects and "PodDisruptionBudget/shop/shop" not in subjects
    )
    assert code == 1  # high findings win over incompleteness


def test_every_call_has_a_deadline(tmp_path: Path) -> None:
    with KubeServer(apis=old_cluster()) as server:
        server.hang("/api/v1/secrets")
        started = time.monotonic()
        code, doc, _ = audit_json(server, tmp_path, "--timeout", "1", "--fail-on", "none")
        elapsed = time.monotonic() - started
    [error] = doc["errors"]
    assert error["kind"] == "timeout" and "within 1s" in error["detail"]
    assert elapsed < 30 and code == 0


# --------------------------------------------------------------------------- converters


def test_written_versions_reads_last_applied_and_managed_fields() -> None:
    live = written_with(_deployment(), "apps/v1beta2", managers=["helm", "kubectl"])
    controller = {"manager": "kube-controller-manager", "apiVersion": "apps/v1"}
    live["metadata"]["managedFields"].append({**controller, "operation": "Update"})
    got = [(w.api_version, w.how) for w in written_versions(live, "apps/v1")]
    assert got == [
        ("apps/v1beta2", "the last-applied-configuration annotation"),
        ("apps/v1beta2", "managedFields (helm, Update at 2021-03-02T10:00:00Z)"),
        ("apps/v1beta2", "managedFields (kubectl, Update at 2021-03-02T10:00:00Z)"),
    ]
    broken = _deployment()
    broken["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{"
    assert written_versions(broken, "apps/v1") == ()


def test_helm_release_decoding_keeps_only_the_manifest() -> None:
    secret = helm_release_secret("web", "prod", 7, RELEASE_V1, values={"k": SECRET_VALUE})
    release = decode_helm_release(secret)
    assert (release.name, release.namespace, release.revision, release.status) == (
        "web", "prod", 7, "deployed",
    )  # fmt: skip
    assert release.manifest == RELEASE_V1 and release.secret == "prod/sh.helm.release.v1.web.v7"
    assert SECRET_VALUE not in repr(release)
    older = decode_helm_release(helm_release_secret("web", "prod", 8, "", status="failed"))
    assert current_releases([older, release]) == [release]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "no data.release"),
        ({"release": "%%%"}, "not base64"),
        ({"release": base64.b64encode(base64.b64encode(b"\x1f\x8bnot gzip")).decode()}, "gzip"),
        ({"release": base64.b64encode(base64.b64encode(b"[1]")).decode()}, "no manifest"),
    ],
)
def test_malformed_release_secrets_are_named_not_shown(data: dict[str, str], message: str) -> None:
    secret = {"metadata": {"name": "sh.helm.release.v1.x.v1", "namespace": "ns"}, "data": data}
    with pytest.raises(ProbeFailed, match=message) as info:
        decode_helm_release(secret)
    assert info.value.source == "helm:secret ns/sh.helm.release.v1.x.v1"


def test_gzip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from inspect8s.kube import apiobjects

    monkeypatch.setattr(apiobjects, "HELM_MAX_BYTES", 1024)
    bomb = base64.b64encode(gzip.compress(b"{" + b" " * 100_000 + b"}"))
    secret = {"metadata": {"name": "s", "namespace": "n"},
              "data": {"release": base64.b64encode(bomb).decode()}}  # fmt: skip
    with pytest.raises(ProbeFailed, match="larger than 1024 bytes"):
        decode_helm_release(secret)


def test_helm_manifest_documents_keep_their_template_and_lose_secret_data() -> None:
    from inspect8s.audit.apitable import load_table
    from inspect8s.kube.apiobjects import helm_objects

    broken = RELEASE_V2 + "---\n# Source: shop/templates/bad.yaml\nkind: [unclosed\n"
    release = decode_helm_release(helm_release_secret("shop", "shop", 2, broken))
    objects, errors = helm_objects(release, load_table().is_namespaced)
    by_kind = {o.kind: o for o in objects}
    assert set(by_kind) == {"Secret", "PodDisruptionBudget", "CronJob", "ClusterRole"}
    assert by_kind["PodDisruptionBudget"].namespace == "shop"  # the release's namespace
    assert by_kind["ClusterRole"].namespace is None  # cluster-scoped
    assert by_kind["CronJob"].source == (
        "Helm release shop/shop revision 2, template shop/templates/cronjob.yaml"
    )
    assert "stringData" not in (by_kind["Secret"].content or {})
    assert SECRET_VALUE not in repr(objects)
    [error] = errors
    assert error.source == "helm:shop/shop" and "shop/templates/bad.yaml" in error.detail


def test_versions_file_entries_reach_live_custom_resources(tmp_path: Path) -> None:
    from tests.kubeapis import RESOURCES_1_26, Resource

    certificates = Resource("cert-manager.io/v1", "certificates", "Certificate", True)
    apis = ApiObjects(resources=(*RESOURCES_1_26, certificates))
    cert = _object("Certificate", "cert-manager.io/v1", "web", spec={"secretName": "web-tls"})
    apis.add("Certificate", written_with(cert, "cert-manager.io/v1alpha2"))
    versions = tmp_path / "crds.yaml"
    versions.write_text(
        "apis:\n  - {group: cert-manager.io, version: v1alpha2, kind: Certificate,\n"
        "     component: cert-manager, deprecated: '1.4', removed: '1.6',\n"
        "     replacement: cert-manager.io/v1}\n"
    )
    with KubeServer(apis=apis) as server:
        code, doc, _ = audit_json(server, tmp_path, "--versions-file", str(versions))
        listed = server.requests_for("GET", "/apis/cert-manager.io/v1/certificates")
    assert listed, "the custom resource is listed because the versions file names its kind"
    [finding] = [f for f in doc["findings"] if f["subject"] == "Certificate/shop/web"]
    assert finding["checkId"] == "I8S-API-REMOVED"
    assert finding["message"].startswith(
        "cert-manager.io/v1alpha2 Certificate (written so in the last-applied-configuration "
        "annotation of the live object) is not served since cert-manager 1.6 (target 1.6)"
    )
    assert code == 1
