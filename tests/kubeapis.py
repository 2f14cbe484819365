"""API discovery and objects of any kind for the test API server (tests/kubeserver.py).

The real API server publishes what it serves at ``/api`` (APIVersions), ``/apis``
(APIGroupList) and ``/api/v1``, ``/apis/<group>/<version>`` (APIResourceList), in the
unaggregated discovery format of the Kubernetes documentation ("Kubernetes API Discovery");
objects of every kind are listed at ``/apis/<group>/<version>/<resource>`` as
``<Kind>List`` whose items carry no kind/apiVersion, paginated with ``limit``/``continue``
and filtered by ``labelSelector``. :class:`ApiObjects` answers those requests from a
registry of resources (:data:`RESOURCES_1_26`: the kinds a Kubernetes 1.26 API server
serves, as ``kubectl api-resources`` lists them, for the groups the API version checks
read) and the objects a test adds.

``helm_release_secret`` builds a Helm 3 release Secret the way Helm stores one
(helm/helm pkg/storage/driver: the release JSON, gzip, base64, in ``data.release`` of a
Secret of type ``helm.sh/release.v1`` named ``sh.helm.release.v1.<name>.v<revision>``
with the labels ``name``, ``owner=helm``, ``status`` and ``version``; the API base64s
``data`` once more).
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

READ = ("get", "list", "watch")
ALL = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Resource:
    group_version: str  # "apps/v1", "v1"
    name: str  # "deployments"
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = ALL

    def discovery(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "singularName": self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }


def _r(
    gv: str, name: str, kind: str, namespaced: bool = True, verbs: tuple[str, ...] = ALL
) -> Resource:
    return Resource(gv, name, kind, namespaced, verbs)


# In discovery order; the first version listed for a group is its preferred version.
RESOURCES_1_26: tuple[Resource, ...] = (
    _r("v1", "configmaps", "ConfigMap"),
    _r("v1", "endpoints", "Endpoints"),
    _r("v1", "events", "Event"),
    _r("v1", "namespaces", "Namespace", False),
    _r("v1", "nodes", "Node", False),
    _r("v1", "persistentvolumeclaims", "PersistentVolumeClaim"),
    _r("v1", "persistentvolumes", "PersistentVolume", False),
    _r("v1", "pods", "Pod"),
    _r("v1", "podtemplates", "PodTemplate"),
    _r("v1", "replicationcontrollers", "ReplicationController"),
    _r("v1", "secrets", "Secret"),
    _r("v1", "serviceaccounts", "ServiceAccount"),
    _r("v1", "services", "Service"),
    _r("apiregistration.k8s.io/v1", "apiservices", "APIService", False),
    _r("apps/v1", "controllerrevisions", "ControllerRevision"),
    _r("apps/v1", "daemonsets", "DaemonSet"),
    _r("apps/v1", "deployments", "Deployment"),
    _r("apps/v1", "replicasets", "ReplicaSet"),
    _r("apps/v1", "statefulsets", "StatefulSet"),
    _r("events.k8s.io/v1", "events", "Event"),
    _r("authentication.k8s.io/v1", "tokenreviews", "TokenReview", False, ("create",)),
    _r(
        "authorization.k8s.io/v1",
        "localsubjectaccessreviews",
        "LocalSubjectAccessReview",
        True,
        ("create",),
    ),
    _r(
        "authorization.k8s.io/v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        False,
        ("create",),
    ),
    _r(
        "authorization.k8s.io/v1", "subjectaccessreviews", "SubjectAccessReview", False, ("create",)
    ),
    _r("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler"),
    _r("autoscaling/v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler"),
    _r("batch/v1", "cronjobs", "CronJob"),
    _r("batch/v1", "jobs", "Job"),
    _r("certificates.k8s.io/v1", "certificatesigningrequests", "CertificateSigningRequest", False),
    _r("networking.k8s.io/v1", "ingressclasses", "IngressClass", False),
    _r("networking.k8s.io/v1", "ingresses", "Ingress"),
    _r("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy"),
    _r("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget"),
    _r("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _r("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding"),
    _r("rbac.authorization.k8s.io/v1", "roles", "Role"),
    _r("storage.k8s.io/v1", "csidrivers", "CSIDriver", False),
    _r("storage.k8s.io/v1", "csinodes", "CSINode", False),
    _r("storage.k8s.io/v1", "csistoragecapacities", "CSIStorageCapacity"),
    _r("storage.k8s.io/v1", "storageclasses", "StorageClass", False),
    _r("storage.k8s.io/v1", "volumeattachments", "VolumeAttachment", False),
    _r("storage.k8s.io/v1beta1", "csistoragecapacities", "CSIStorageCapacity"),
    _r(
        "admissionregistration.k8s.io/v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        False,
    ),
    _r(
        "admissionregistration.k8s.io/v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        False,
    ),
    _r("apiextensions.k8s.io/v1", "customresourcedefinitions", "CustomResourceDefinition", False),
    _r("scheduling.k8s.io/v1", "priorityclasses", "PriorityClass", False),
    _r("coordination.k8s.io/v1", "leases", "Lease"),
    _r("node.k8s.io/v1", "runtimeclasses", "RuntimeClass", False),
    _r("discovery.k8s.io/v1", "endpointslices", "EndpointSlice"),
    _r("flowcontrol.apiserver.k8s.io/v1beta3", "flowschemas", "FlowSchema", False),
    _r(
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "prioritylevelconfigurations",
        "PriorityLevelConfiguration",
        False,
    ),
    _r("flowcontrol.apiserver.k8s.io/v1beta2", "flowschemas", "FlowSchema", False),
    _r(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "prioritylevelconfigurations",
        "PriorityLevelConfiguration",
        False,
    ),
)


def _group(group_version: str) -> str:
    return group_version.rpartition("/")[0]


def _key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _matches(obj: dict[str, Any], selector: str | None) -> bool:
    if not selector:
        return True
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


@dataclass
class ApiObjects:
    """The discovery registry and the objects, keyed by (group, resource name): the same
    objects are served in every version of a group, as the API server does."""

    resources: tuple[Resource, ...] = RESOURCES_1_26
    objects: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    core_handled: frozenset[str] = frozenset({"pods", "nodes"})  # kubeserver answers these

    def add(self, kind: str, *objs: dict[str, Any], group: str | None = None) -> None:
        """Store objects of ``kind`` (in ``group``; default the kind's only group)."""
        matches = {
            (_group(r.group_version), r.name)
            for r in self.resources
            if r.kind == kind and (group is None or _group(r.group_version) == group)
        }
        if len(matches) != 1:
            raise ValueError(f"kind {kind} is served as {sorted(matches)}: name the group")
        self.objects.setdefault(matches.pop(), []).extend(copy.deepcopy(list(objs)))

    def without(self, *group_versions: str) -> ApiObjects:
        """The same registry without some group versions (a server that does not serve them)."""
        kept = tuple(r for r in self.resources if r.group_version not in group_versions)
        return ApiObjects(kept, self.objects, self.core_handled)

    # ---------------------------------------------------------------- answers

    def _group_versions(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in self.resources:
            versions = out.setdefault(_group(r.group_version), [])
            if r.group_version not in versions:
                versions.append(r.group_version)
        return out

    def route(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        """The answer (status, JSON body) for a GET, or None when it is not about these."""
        groups = self._group_versions()
        if path == "/api":
            return 200, {
                "kind": "APIVersions",
                "versions": groups.get("", []),
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.2.15:6443"}
                ],
            }
        if path == "/apis":
            return 200, {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [
                    {
                        "name": g,
                        "versions": [
                            {"groupVersion": gv, "version": gv.rpartition("/")[2]} for gv in gvs
                        ],
                        "preferredVersion": {
                            "groupVersion": gvs[0],
                            "version": gvs[0].rpartition("/")[2],
                        },
                    }
                    for g, gvs in groups.items()
                    if g
                ],
            }
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 2:
            group_version, rest = parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 3:
            group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            return None
        served = [r for r in self.resources if r.group_version == group_version]
        if not served:
            return None
        if not rest:
            return 200, {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": group_version,
                "resources": [r.discovery() for r in served],
            }
        if len(rest) != 1 or (group_version == "v1" and rest[0] in self.core_handled):
            return None
        resource = next((r for r in served if r.name == rest[0]), None)
        if resource is None or "list" not in resource.verbs:
            return None
        return 200, self._list(resource, query)

    def _list(self, resource: Resource, query: dict[str, list[str]]) -> dict[str, Any]:
        from tests.kubeserver import RESOURCE_VERSION, _decode_token, continue_token

        items = sorted(
            self.objects.get((_group(resource.group_version), resource.name), []), key=_key
        )
        items = [i for i in items if _matches(i, (query.get("labelSelector") or [None])[0])]
        token = (query.get("continue") or [None])[0]
        if token:
            start = _decode_token(token)
            items = [i for i in items if _key(i) >= start]
        limit = int((query.get("limit") or ["0"])[0] or 0)
        metadata: dict[str, Any] = {"resourceVersion": str(RESOURCE_VERSION)}
        if limit and len(items) > limit:
            metadata["continue"] = continue_token(_key(items[limit - 1]))
            metadata["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        return {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.group_version,
            "metadata": metadata,
            "items": [
                {k: v for k, v in i.items() if k not in ("kind", "apiVersion")} for i in items
            ],
        }


# --------------------------------------------------------------------------- Helm


def helm_release_secret(
    name: str,
    namespace: str,
    revision: int,
    manifest: str,
    *,
    status: str = "deployed",
    chart: str = "shop",
    chart_version: str = "0.1.0",
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Helm 3 release Secret as the API returns it (see the module docstring)."""
    release = {
        "name": name,
        "info": {
            "first_deployed": "2021-03-02T10:00:00Z",
            "last_deployed": "2021-03-02T10:00:00Z",
            "deleted": "",
            "description": "Install complete" if revision == 1 else "Upgrade complete",
            "status": status,
        },
        "chart": {
            "metadata": {"name": chart, "version": chart_version, "apiVersion": "v2"},
            "templates": [],
            "values": {},
        },
        "config": values or {},
        "manifest": manifest,
        "version": revision,
        "namespace": namespace,
    }
    helm_encoded = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {
            "name": f"sh.helm.release.v1.{name}.v{revision}",
            "namespace": namespace,
            "labels": {"name": name, "owner": "helm", "status": status, "version": str(revision)},
        },
        "data": {"release": base64.b64encode(helm_encoded).decode()},
    }


def written_with(
    obj: dict[str, Any], api_version: str, *, applied: bool = True, managers: Iterable[str] = ()
) -> dict[str, Any]:
    """``obj`` (as the API serves it now) as if clients had written it in ``api_version``:
    its last-applied-configuration annotation says so (``applied``) and each of
    ``managers`` has a managedFields entry in that version."""
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    annotations = meta.setdefault("annotations", {})
    key = "kubectl.kubernetes.io/last-applied-configuration"
    if applied:
        previous = json.loads(annotations.get(key) or json.dumps({"metadata": {}}))
        previous["apiVersion"] = api_version
        annotations[key] = json.dumps(previous, separators=(",", ":")) + "\n"
    meta["managedFields"] = [
        *meta.get("managedFields", []),
        *(
            {
                "manager": manager,
                "operation": "Update",
                "apiVersion": api_version,
                "time": "2021-03-02T10:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {}}},
            }
            for manager in managers
        ),
    ]
    return out
