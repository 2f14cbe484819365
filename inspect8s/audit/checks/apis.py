"""API version checks: objects that use an apiVersion, annotation, volume plugin or node label
the target Kubernetes release no longer serves or honours (scope object), and the versions
the API server still serves that the target removes (scope cluster).

They read the API version table (``audit/data/api-versions.yaml`` plus ``--versions-file``,
see ``audit/apitable.py``), judged against ``--target-version``; without it the command
uses the API server's or the kubelet's version, and for manifests without a cluster the
newest release the table knows (the report says which). Objects come from manifests
(``--manifests``, ``-`` for ``helm template`` output), from the API (the versions clients
wrote them with: ``kubectl.kubernetes.io/last-applied-configuration`` and
``metadata.managedFields[].apiVersion``) and from Helm 3 release secrets (the manifest Helm
installed), each finding naming where it was read.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from inspect8s.audit.apitable import (
    KUBERNETES,
    POD,
    ApiEntry,
    ApiTable,
    Change,
    FieldEntry,
    Release,
    load_table,
    show,
)
from inspect8s.audit.checks.versions import kube_minor
from inspect8s.audit.registry import CheckSettings, Scope, Skip, Violation, check
from inspect8s.audit.results import Location, Severity
from inspect8s.model import KubeObject, Snapshot
from inspect8s.model.objects import APPLIED, ORIGIN_API, ORIGIN_HELM, POD_TEMPLATE_PATHS

HELM_DOC = "https://helm.sh/docs/topics/kubernetes_apis/"


def table_for(settings: CheckSettings) -> ApiTable:
    """The API version table with this run's ``--versions-file`` entries."""
    return load_table(tuple(settings.versions_files))


def target_release(table: ApiTable, component: str, settings: CheckSettings) -> Release:
    """The release an entry of ``component`` is judged against: for Kubernetes the
    ``--target-version`` (the command fills in the cluster's or kubelet's version when it
    is not given), else the newest release the table knows; for other components the
    versions file's ``targets``, else the newest release it names for them."""
    if component == KUBERNETES and settings.target_version:
        minor = _minor(settings.target_version)
        if minor is not None:
            return (1, minor)
    return table.newest_for(component)


@functools.lru_cache(maxsize=64)
def _minor(target_version: str) -> int | None:
    return kube_minor(target_version)


def _release_name(component: str, release: Release) -> str:
    return (
        f"Kubernetes {show(release)}" if component == KUBERNETES else f"{component} {show(release)}"
    )


# --------------------------------------------------------------------------- where and how


def _written_versions(obj: KubeObject) -> list[tuple[str, list[str]]]:
    """(apiVersion, how it is known) for each version the object is written in: the one of
    a manifest or Helm document, or for a live object each version clients wrote it with."""
    if obj.origin != ORIGIN_API:
        return [(obj.api_version, [])] if obj.api_version else []
    grouped: dict[str, list[str]] = {}
    for written in obj.written_as:
        grouped.setdefault(written.api_version, []).append(written.how)
    return list(grouped.items())


def _origin_text(obj: KubeObject, hows: list[str]) -> str:
    if obj.origin == ORIGIN_API:
        return f" (written so in {'; '.join(hows)} of the live object)"
    if obj.origin == ORIGIN_HELM:
        return f" (in {obj.source})"
    return ""


def _what_to_do(obj: KubeObject, hows: list[str]) -> str:
    if obj.origin == ORIGIN_HELM:
        return (
            "; helm upgrade fails on this release until its stored manifest is mapped to "
            f"supported versions (helm mapkubeapis, {HELM_DOC}) and the chart is updated"
        )
    if obj.origin != ORIGIN_API:
        return ""
    if APPLIED in hows:
        return "; update the manifest it is applied from"
    return "; the client that writes it must move to the new version"


def _has_path(data: Any, path: Sequence[str]) -> bool:
    """Whether ``data`` has a value at ``path`` ("[]" walks every list item, "**" any depth)."""
    if not path:
        return data is not None
    head, rest = path[0], path[1:]
    if head == "**":
        return _has_anywhere(data, rest)
    if head == "[]":
        return isinstance(data, list) and any(_has_path(item, rest) for item in data)
    return isinstance(data, Mapping) and head in data and _has_path(data[head], rest)


def _has_anywhere(data: Any, path: Sequence[str]) -> bool:
    if _has_path(data, path):
        return True
    if isinstance(data, Mapping):
        return any(_has_anywhere(v, path) for v in data.values())
    if isinstance(data, list):
        return any(_has_anywhere(v, path) for v in data)
    return False


def _changes(changes: Sequence[Change], content: Mapping[str, Any] | None) -> list[str]:
    """The changes to show: those the object's fields call for (all of them when the
    content is not known)."""
    if content is None:
        return [c.text for c in changes]
    return [
        c.text
        for c in changes
        if (not c.when or any(_has_path(content, p) for p in c.when))
        and not any(_has_path(content, p) for p in c.unless)
    ]


def _move_to(table: ApiTable, entry: ApiEntry, target: Release, obj_kind: str) -> str:
    step = table.replacement_at(entry, target)
    if step is None:
        return table.no_replacement(entry) or "there is no replacement"
    shown = step.api_version if step.kind == obj_kind else f"{step.api_version} {step.kind}"
    if step.available is None:
        return f"use {shown}"
    return f"use {shown} (served since {_release_name(entry.component, step.available)})"


def _version_violations(
    obj: KubeObject, settings: CheckSettings, *, removed: bool
) -> Iterator[Violation]:
    table = table_for(settings)
    for api_version, hows in _written_versions(obj):
        entry = table.lookup(api_version, obj.kind)
        if entry is None:
            continue
        target = target_release(table, entry.component, settings)
        gone = entry.removed is not None and entry.removed <= target
        if removed != gone:
            continue
        if not gone and (entry.deprecated is None or entry.deprecated > target):
            continue
        at = f"(target {show(target)})"
        if gone:
            assert entry.removed is not None
            state = f"is not served since {_release_name(entry.component, entry.removed)} {at}"
        else:
            assert entry.deprecated is not None
            state = f"is deprecated since {_release_name(entry.component, entry.deprecated)}"
            if entry.removed is not None:
                state += f" and removed in {show(entry.removed)}"
            state += f" {at}"
        # A live object is stored in a served version: its fields say nothing about the old
        # schema, so every change is shown.
        also = _changes(entry.changes, None if obj.origin == ORIGIN_API else obj.content)
        message = (
            f"{api_version} {obj.kind}{_origin_text(obj, hows)} {state}: "
            f"{_move_to(table, entry, target, obj.kind)}{_what_to_do(obj, hows)}"
        )
        if also:
            message += "; also: " + "; ".join(also)
        yield Violation(message)


@check(
    "I8S-API-REMOVED",
    title="Object uses an API version the target release no longer serves",
    severity=Severity.HIGH,
    scope=Scope.OBJECT,
)
def api_removed(obj: KubeObject, settings: CheckSettings) -> Iterator[Violation]:
    """The object's ``apiVersion`` is not served by the target Kubernetes release: the API
    server answers ``no matches for kind "Deployment" in version "extensions/v1beta1"``, so
    ``kubectl apply`` of the manifest fails, and so does ``helm upgrade`` of a release whose
    stored manifest holds it. Objects already in the cluster survive (they are stored in a
    served version), but whatever writes them in the old version breaks.

    The finding names the kind, namespace and name, the old and the new apiVersion, the
    release that removes it and what else changes in the schema (for example Ingress
    ``serviceName``/``servicePort`` become ``service.name``/``service.port.number``); for a
    manifest the file and the line of ``apiVersion:``, for a live object how the old version
    is known (the ``kubectl.kubernetes.io/last-applied-configuration`` annotation, or a
    ``metadata.managedFields`` entry naming the manager that wrote it), for a Helm release
    the release, its revision and the chart template.

    Source: the Kubernetes Deprecated API Migration Guide (removal releases, replacements,
    notable changes) and the API types' prerelease-lifecycle markers (deprecation
    releases), as tabulated in ``inspect8s/audit/data/api-versions.yaml``; Helm's "Deprecated
    Kubernetes APIs" page for release manifests. ``--versions-file FILE`` adds entries (CRDs
    such as cert-manager or Istio; see the file format in ``inspect8s/audit/apitable.py``).
    """
    yield from _version_violations(obj, settings, removed=True)


@check(
    "I8S-API-DEPRECATED",
    title="Object uses an API version deprecated at the target release",
    severity=Severity.LOW,
    scope=Scope.OBJECT,
)
def api_deprecated(obj: KubeObject, settings: CheckSettings) -> Iterator[Violation]:
    """The object's ``apiVersion`` is still served by the target release but deprecated
    there: the API server warns on every use (``<version> <Kind> is deprecated in v1.X+,
    unavailable in v1.Y+``) and a later release removes it. Move now, while both versions
    are served and the objects convert both ways.

    Source: as I8S-API-REMOVED (``inspect8s/audit/data/api-versions.yaml``).
    """
    yield from _version_violations(obj, settings, removed=False)


# --------------------------------------------------------------------------- fields


def _pod_template(obj: KubeObject) -> Mapping[str, Any] | None:
    """The Pod itself, or the pod template of a workload; None: neither."""
    content = obj.content
    if content is None:
        return None
    if obj.kind == "Pod":
        return content
    path = POD_TEMPLATE_PATHS.get(obj.kind)
    if path is None:
        return None
    data: Any = content
    for key in path:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data if isinstance(data, Mapping) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _annotation_keys(meta: Mapping[str, Any], entry: FieldEntry) -> list[str]:
    annotations = _mapping(meta.get("annotations"))
    prefix = entry.prefix
    if prefix is None:
        return [entry.key] if entry.key in annotations else []
    return sorted(k for k in annotations if isinstance(k, str) and k.startswith(prefix))


def _node_label_uses(spec: Mapping[str, Any], label: str) -> list[str]:
    """Where a pod spec uses node label ``label``: nodeSelector, node affinity terms,
    topologySpreadConstraints."""
    uses = []
    if label in _mapping(spec.get("nodeSelector")):
        uses.append("nodeSelector")
    affinity = _mapping(_mapping(spec.get("affinity")).get("nodeAffinity"))
    required = _mapping(affinity.get("requiredDuringSchedulingIgnoredDuringExecution"))
    terms = [*_list(required.get("nodeSelectorTerms"))]
    terms += [
        _mapping(p).get("preference")
        for p in _list(affinity.get("preferredDuringSchedulingIgnoredDuringExecution"))
    ]
    if any(
        _mapping(expr).get("key") == label
        for term in terms
        for expr in _list(_mapping(term).get("matchExpressions"))
    ):
        uses.append("nodeAffinity")
    if any(
        _mapping(c).get("topologyKey") == label
        for c in _list(spec.get("topologySpreadConstraints"))
    ):
        uses.append("topologySpreadConstraints")
    return uses


def _field_uses(
    obj: KubeObject, entry: FieldEntry, pod: Mapping[str, Any] | None
) -> list[tuple[str, int | None]]:
    """How ``obj`` uses the field entry, in words, with the line when it is known (the
    manifest collector's ``field_lines``); empty: it does not."""
    content = obj.content
    if content is None:
        return []
    lines = obj.field_lines
    if entry.what == "annotation":
        on_pod = pod is not None and POD in entry.on
        meta = _mapping((pod if on_pod and pod is not None else content).get("metadata"))
        where = "pod template annotation" if on_pod and obj.kind != "Pod" else "annotation"
        label = "pod.metadata.annotations." if on_pod else "metadata.annotations."
        return [(f"{where} {key}", lines.get(label + key)) for key in _annotation_keys(meta, entry)]
    spec = _mapping(pod.get("spec")) if pod is not None else {}
    if entry.what == "volume":
        return [
            (
                f"volume {_mapping(v).get('name')!r} ({entry.key})",
                lines.get(f"pod.spec.volumes.{i}"),
            )
            for i, v in enumerate(_list(spec.get("volumes")))
            if entry.key in _mapping(v)
        ]
    return [
        (
            f"node label {entry.key} in {use}",
            lines.get(f"pod.spec.nodeSelector.{entry.key}") if use == "nodeSelector" else None,
        )
        for use in _node_label_uses(spec, entry.key)
    ]


def _active_fields(
    table: ApiTable, settings: CheckSettings, kind: str, pod_like: bool, removed: bool
) -> list[tuple[FieldEntry, Release]]:
    """The field entries for ``kind`` that are gone (``removed``) or deprecated and not yet
    gone at their target, each with that target; memoised per table and target."""
    key = (id(table), settings.target_version, kind, pod_like, removed)
    found = _ACTIVE.get(key)
    if found is None:
        found = []
        for entry in table.fields_for(kind, pod_like):
            if entry.reported_by:
                continue
            target = target_release(table, entry.component, settings)
            gone = entry.removed is not None and entry.removed <= target
            deprecated = entry.deprecated is not None and entry.deprecated <= target
            if gone if removed else (deprecated and not gone):
                found.append((entry, target))
        if len(_ACTIVE) > 4096:
            _ACTIVE.clear()
        _ACTIVE[key] = found
    return found


_ACTIVE: dict[tuple[int, str | None, str, bool, bool], list[tuple[FieldEntry, Release]]] = {}
_NODE_SELECTION = ("nodeSelector", "affinity", "topologySpreadConstraints")


def _present(obj: KubeObject, pod: Mapping[str, Any] | None) -> frozenset[str]:
    """Which parts the field entries read the object has (a cheap test before
    :func:`_field_uses`): object or pod annotations, pod volumes, pod node selection."""
    content = obj.content
    assert content is not None
    found = set()
    if _mapping(content.get("metadata")).get("annotations"):
        found.add("annotation")
    if pod is not None:
        if _mapping(pod.get("metadata")).get("annotations"):
            found.add("pod-annotation")
        spec = _mapping(pod.get("spec"))
        if spec.get("volumes"):
            found.add("volume")
        if any(spec.get(k) for k in _NODE_SELECTION):
            found.add("node-label")
    return frozenset(found)


def _part(entry: FieldEntry, pod: Mapping[str, Any] | None) -> str:
    if entry.what == "annotation" and pod is not None and POD in entry.on:
        return "pod-annotation"
    return entry.what


def _field_violations(
    obj: KubeObject, settings: CheckSettings, *, removed: bool
) -> Iterator[Violation]:
    if obj.content is None:
        return
    table = table_for(settings)
    pod = _pod_template(obj)
    active = _active_fields(table, settings, obj.kind, pod is not None, removed)
    if not active:
        return
    present = _present(obj, pod)
    for entry, target in active:
        if _part(entry, pod) not in present:
            continue
        uses = _field_uses(obj, entry, pod)
        if not uses:
            continue
        at = f"(target {show(target)})"
        if removed:
            assert entry.removed is not None
            state = f"stops working in {_release_name(entry.component, entry.removed)} {at}"
        else:
            assert entry.deprecated is not None
            state = f"is deprecated since {_release_name(entry.component, entry.deprecated)} {at}"
        fix = f": use {entry.replacement}" if entry.replacement else ""
        note = f" ({entry.note})" if entry.note else ""
        where = f" in {obj.source}" if obj.origin == ORIGIN_HELM else ""
        for use, line in uses:
            location = None
            if line is not None and obj.file is not None:
                location = Location(obj.file, obj.document_index, line)
            yield Violation(f"{use}{where} {state}{fix}{note}", location=location)


@check(
    "I8S-API-FIELD-REMOVED",
    title="Object uses an annotation, volume plugin or node label that stopped working",
    severity=Severity.HIGH,
    scope=Scope.OBJECT,
)
def field_removed(obj: KubeObject, settings: CheckSettings) -> Iterator[Violation]:
    """The object (or its pod template) relies on something the target release ignores or
    no longer supports, although the API still accepts it: the in-tree volume plugins
    removed since 1.16 (scaleIO 1.22; flocker, quobyte, storageos 1.25; glusterfs 1.26;
    cephfs and rbd 1.31), the ``scheduler.alpha.kubernetes.io/critical-pod`` and sysctl
    annotations, and the ``node-role.kubernetes.io/master`` node label kubeadm no longer
    sets from 1.24. The seccomp alpha annotations (non-functional in 1.27) are reported by
    I8S-WL-SECCOMP-ANN.

    Source: the API server's own warnings (kubernetes/kubernetes pkg/api/pod/warnings.go,
    "non-functional in v1.N+"; pkg/api/node/util.go), KEP-2067 for the master label, as
    tabulated in ``inspect8s/audit/data/api-versions.yaml`` (``fields``).
    """
    yield from _field_violations(obj, settings, removed=True)


@check(
    "I8S-API-FIELD-DEPRECATED",
    title="Object uses a deprecated annotation, volume plugin or node label",
    severity=Severity.LOW,
    scope=Scope.OBJECT,
)
def field_deprecated(obj: KubeObject, settings: CheckSettings) -> Iterator[Violation]:
    """The object uses an annotation, volume plugin or node label that still works at the
    target release but is deprecated in favour of a field: the AppArmor annotations
    (``container.apparmor.security.beta.kubernetes.io/<c>``, deprecated in 1.30 for
    ``securityContext.appArmorProfile``), ``kubernetes.io/ingress.class`` (1.18,
    ``spec.ingressClassName``), ``volume.beta.kubernetes.io/storage-class``
    (``spec.storageClassName``), the ``beta.kubernetes.io/*`` and ``failure-domain.beta``
    node labels, and volume plugins in their deprecation window.

    Source: as I8S-API-FIELD-REMOVED; the ingress class annotation from the Kubernetes
    Ingress page ("Deprecated annotation").
    """
    yield from _field_violations(obj, settings, removed=False)


# --------------------------------------------------------------------------- served versions


@check(
    "I8S-API-SERVED",
    title="API server serves versions the target release removes",
    severity=Severity.LOW,
    scope=Scope.CLUSTER,
)
def served_removed(snapshot: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """The API server still serves a group/version/kind that the target release removes
    (read from discovery, ``/api`` and ``/apis``). Any client, controller or pipeline that
    still reads or writes it (including ones no manifest shows, and Helm releases this tool
    could not read) breaks at the upgrade; the API server's
    ``apiserver_requested_deprecated_apis`` metric and audit log show who calls it.

    Source: the API version table (``inspect8s/audit/data/api-versions.yaml``); the metric
    from the Kubernetes deprecation guide ("Locate use of deprecated APIs").
    """
    server = snapshot.api_server
    if server is None or server.served is None:
        reason = server.served_error if server is not None else None
        raise Skip(f"API discovery was not read: {reason or 'no API server'}")
    table = table_for(settings)
    for resource in server.served:
        entry = table.lookup(resource.api_version, resource.kind)
        if entry is None or entry.removed is None:
            continue
        target = target_release(table, entry.component, settings)
        if entry.removed > target:
            continue
        yield Violation(
            f"the API server serves {resource.api_version} {resource.kind} "
            f"({resource.name}), which {_release_name(entry.component, entry.removed)} removes "
            f"(target {show(target)}): whatever still uses it breaks at the upgrade; "
            f"{_move_to(table, entry, target, resource.kind)}",
            subject=f"{resource.api_version}/{resource.kind}",
        )
