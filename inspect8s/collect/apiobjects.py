"""Collect what the API version checks read from a live cluster.

    GET /version                       -> ApiServerInfo.version
    GET /api, /apis, /apis/<g>/<v>     -> ApiServerInfo.served (the kinds of every group the
                                          API version table names)
    GET <list> per kind in the table   -> KubeObject(origin api): the versions clients wrote
                                          each object with (last-applied, managedFields)
    GET /api/v1/secrets?labelSelector=owner=helm
                                       -> KubeObject(origin helm) per document of each
                                          release's current revision

Every request carries the API client's deadline. A request that fails is a ProbeError, and
when objects could not be listed (RBAC 403 on secrets, a kind that cannot be listed) an
:class:`UnreadSource` says which, so the object checks are skipped for it with the reason
instead of passing on objects never read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from inspect8s.audit.apitable import POD, ApiTable
from inspect8s.errors import ProbeError, ProbeFailed
from inspect8s.kube import apiobjects as conv
from inspect8s.model import ApiServerInfo, KubeObject, ServedResource, UnreadSource
from inspect8s.model.frozen import frozen
from inspect8s.model.objects import POD_TEMPLATE_PATHS

if TYPE_CHECKING:
    from inspect8s.kube.live import KubeAPI, KubeAPIError

HELM_SOURCE = "Helm release secrets"
# Events are written by components, number in the thousands and expire within an hour
# (the API server's --event-ttl): listing them costs more than the versions they show.
NOT_LISTED = frozenset({"Event"})
HELM_PAGE_SIZE = 50  # release secrets are large (the whole chart, gzipped)

# The groups of kinds the field checks read that the table has no row for.
_FIELD_KIND_GROUPS: dict[str, str] = {
    "Job": "batch",
    "CronJob": "batch",
    "ReplicationController": "",
    "PodTemplate": "",
    "PersistentVolume": "",
    "PersistentVolumeClaim": "",
    "Ingress": "networking.k8s.io",
}


@frozen
class ClusterObjects:
    """What :func:`collect_api_objects` found, ready for the Snapshot."""

    objects: tuple[KubeObject, ...]
    unread: tuple[UnreadSource, ...]
    server: ApiServerInfo
    errors: tuple[ProbeError, ...]


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def kind_groups(table: ApiTable) -> dict[str, set[str]]:
    """Kind -> the API groups it is served in, as the table knows it: each entry's group and
    its replacement's, and the groups of the kinds the field checks read. Pods are left
    out: the pod checks read them already."""
    out: dict[str, set[str]] = {}
    for entry in table.apis:
        groups = out.setdefault(entry.kind, set())
        groups.add(entry.group)
        if entry.replacement and entry.replacement_kind == entry.kind:
            groups.add(_group(entry.replacement))
    for field in table.fields:
        kinds = POD_TEMPLATE_PATHS if POD in field.on else field.on
        for kind in kinds:
            if kind in out:
                continue
            if kind in _FIELD_KIND_GROUPS:
                out[kind] = {_FIELD_KIND_GROUPS[kind]}
            elif kind in POD_TEMPLATE_PATHS:
                out[kind] = {"apps"}
    return out


def choose_listings(
    served: Sequence[ServedResource], table: ApiTable, preferred: Mapping[str, str]
) -> list[ServedResource]:
    """One listable resource per kind the table cares about: in one of the kind's groups,
    preferably a version the table does not list (current), then the group's preferred
    version. The same objects are served in every version of a group, so one list is
    enough; a kind not served at all (PodSecurityPolicy on 1.25+) is not listed, nor are
    Events (:data:`NOT_LISTED`)."""
    by_kind = kind_groups(table)
    field_kinds = {k for f in table.fields for k in (POD_TEMPLATE_PATHS if POD in f.on else f.on)}
    chosen: list[ServedResource] = []
    for kind in sorted(set(by_kind) - NOT_LISTED):
        candidates = [
            r
            for r in served
            if r.kind == kind and _group(r.api_version) in by_kind[kind] and "list" in r.verbs
        ]
        if not candidates:
            continue

        def rank(r: ServedResource) -> tuple[bool, bool, str]:
            listed = table.lookup(r.api_version, r.kind) is not None
            is_preferred = preferred.get(_group(r.api_version)) == r.api_version
            return (listed, not is_preferred, r.api_version)

        best = min(candidates, key=rank)
        # A kind whose table versions are all the one it is listed in (v1 Endpoints) can
        # show no other version: list it only when the field checks read it.
        other = any(e.kind == kind and e.api_version != best.api_version for e in table.apis)
        if other or kind in field_kinds:
            chosen.append(best)
    return chosen


def _list_path(resource: ServedResource) -> str:
    if "/" in resource.api_version:
        return f"/apis/{resource.api_version}/{quote(resource.name, safe='')}"
    return f"/api/{resource.api_version}/{quote(resource.name, safe='')}"


def _record(exc: KubeAPIError, errors: list[ProbeError]) -> str:
    failed = exc.probe_failed()
    errors.append(failed.record())
    return failed.detail


def discover(
    api: KubeAPI, table: ApiTable, errors: list[ProbeError]
) -> tuple[tuple[ServedResource, ...] | None, str | None, dict[str, str]]:
    """The kinds served in every version of the groups the table names; (None, why, {})
    when ``/api`` or ``/apis`` cannot be read. A group version that fails is recorded and
    left out."""
    from inspect8s.kube.live import KubeAPIError

    try:
        groups = conv.group_versions(
            api.request_json("GET", "/api"), api.request_json("GET", "/apis")
        )
    except KubeAPIError as exc:
        return None, _record(exc, errors), {}
    wanted = {e.group for e in table.apis} | {_group(e.replacement or "") for e in table.apis}
    wanted |= {g for gs in kind_groups(table).values() for g in gs}
    preferred = {g: versions[0] for g, versions in groups.items() if versions}
    served: list[ServedResource] = []
    for group in sorted(wanted & set(groups)):
        for group_version in groups[group]:
            path = f"/apis/{group_version}" if group else f"/api/{group_version}"
            try:
                served.extend(conv.served_resources(api.request_json("GET", path)))
            except KubeAPIError as exc:
                _record(exc, errors)
    return tuple(served), None, preferred


def _list_objects(
    api: KubeAPI, resource: ServedResource, page_size: int
) -> Iterable[Mapping[str, Any]]:
    for page in api.list_pages(_list_path(resource), page_size=page_size):
        yield from page.get("items") or ()


def helm_releases(
    api: KubeAPI, errors: list[ProbeError], page_size: int = HELM_PAGE_SIZE
) -> list[conv.HelmRelease]:
    """Every Helm 3 release revision in the cluster (secrets labelled owner=helm of type
    helm.sh/release.v1). Raises KubeAPIError when secrets cannot be listed; a secret that
    does not decode is a ProbeError naming it."""
    releases: list[conv.HelmRelease] = []
    query = {"labelSelector": conv.HELM_LABEL_SELECTOR}
    for page in api.list_pages("/api/v1/secrets", query, page_size=page_size):
        for secret in page.get("items") or ():
            if not isinstance(secret, Mapping) or secret.get("type") != conv.HELM_SECRET_TYPE:
                continue
            try:
                releases.append(conv.decode_helm_release(secret))
            except ProbeFailed as exc:
                errors.append(exc.record())
    return releases


def collect_api_objects(
    api: KubeAPI, table: ApiTable, *, page_size: int = 500, helm: bool = True
) -> ClusterObjects:
    """Ask the API server for its version, what it serves, every object of the kinds the
    table names (with the versions they were written in) and the Helm releases."""
    from inspect8s.kube.live import KubeAPIError

    errors: list[ProbeError] = []
    unread: list[UnreadSource] = []
    version: str | None = None
    try:
        git_version = api.version().get("gitVersion")
        version = str(git_version) if git_version else None
    except KubeAPIError as exc:
        _record(exc, errors)
    served, served_error, preferred = discover(api, table, errors)
    objects: list[KubeObject] = []
    if served is None:
        unread.append(UnreadSource("objects of the API version table's kinds", served_error or ""))
    else:
        for resource in choose_listings(served, table, preferred):
            try:
                objects.extend(
                    conv.live_object(item, resource.api_version, resource.kind)
                    for item in _list_objects(api, resource, page_size)
                    if isinstance(item, Mapping)
                )
            except KubeAPIError as exc:
                unread.append(UnreadSource(f"{resource.kind} objects", _record(exc, errors)))
    if helm:
        try:
            releases = conv.current_releases(helm_releases(api, errors))
        except KubeAPIError as exc:
            unread.append(UnreadSource(HELM_SOURCE, _record(exc, errors)))
        else:
            for release in releases:
                found, failed = conv.helm_objects(release, table.is_namespaced)
                objects.extend(found)
                errors.extend(f.record() for f in failed)
    server = ApiServerInfo(host=api.host, version=version, served=served, served_error=served_error)
    return ClusterObjects(tuple(objects), tuple(unread), server, tuple(errors))
