"""Any Kubernetes object as the API version checks read it, and what the API server serves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any

from inspect8s.model.frozen import frozen

# Where a KubeObject was read from:
ORIGIN_MANIFEST = "manifest"  # a manifest file or standard input (--manifests)
ORIGIN_HELM = "helm"  # the manifest of a Helm 3 release, from its release Secret
ORIGIN_API = "api"  # listed from the API server (the version it was listed at)

# Kinds that hold a pod template, and where (the Pod kind is its own template).
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "PodTemplate": ("template",),
}


# WrittenVersion.how of the version kubectl apply left in the last-applied annotation:
APPLIED = "the last-applied-configuration annotation"


@frozen
class WrittenVersion:
    """An apiVersion a client used to write a live object, and how that is known."""

    api_version: str
    how: str  # "the last-applied-configuration annotation", "managedFields (kubectl, Update)"


@frozen
class KubeObject:
    """One Kubernetes object: its apiVersion and kind, its name, where it came from.

    ``api_version`` is as written in a manifest or Helm release, or the version the API
    server listed it at (``origin`` api); ``written_as`` then holds the versions clients
    wrote it with. ``content`` is the object itself (a manifest document, a Helm manifest
    document, the live object); None: not kept.
    """

    api_version: str  # "" when the document has none
    kind: str
    name: str  # metadata.name (or generateName); "" when it has neither
    namespace: str | None  # metadata.namespace; None: not set (or cluster-scoped)
    origin: str  # ORIGIN_MANIFEST | ORIGIN_HELM | ORIGIN_API
    source: str  # manifest:<file>#<doc> | helm:<ns>/<release> revision <n> (<template>) | api
    file: str | None = None  # the manifest file ("<stdin>" for -); None: not from a file
    document_index: int | None = None  # 0-based YAML document in the file; None: n/a
    line: int | None = None  # 1-based line of the apiVersion field; None: unknown
    content: Mapping[str, Any] | None = None  # the object as read; None: not kept
    written_as: tuple[WrittenVersion, ...] = ()  # live objects only (last-applied, managedFields)
    field_lines: Mapping[str, int] = field(default_factory=dict)  # "metadata.annotations" -> line


@frozen
class ServedResource:
    """A kind the API server serves in one group/version (from discovery)."""

    api_version: str  # "apps/v1", "v1"
    kind: str
    name: str  # the resource (plural): "deployments"
    namespaced: bool
    verbs: tuple[str, ...] = ()


@frozen
class ApiServerInfo:
    """What the API server said about itself: its version and the versions it serves."""

    host: str
    version: str | None  # /version gitVersion ("v1.29.3"); None: not read
    served: tuple[ServedResource, ...] | None  # None: discovery failed (see errors)
    served_error: str | None = None  # why ``served`` is None
