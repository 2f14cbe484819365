"""Pure converters for the API version checks: live objects, Helm 3 releases, discovery.

    list item (any kind)        -> live_object(): KubeObject(origin api) with written_as =
                                   the versions of its last-applied-configuration annotation
                                   and of its metadata.managedFields entries
    Secret sh.helm.release.v1.* -> decode_helm_release(): HelmRelease (the manifest only)
                                -> helm_objects(): KubeObject(origin helm) per document
    /api, /apis, /apis/<g>/<v>  -> served_resources(): ServedResource per kind

Nothing here does I/O; ``collect/apiobjects.py`` asks the API server.

Helm 3 stores each release revision in a Secret of type ``helm.sh/release.v1`` named
``sh.helm.release.v1.<release>.v<revision>`` (labels ``owner=helm``, ``name``, ``status``,
``version``). Its ``data.release`` is, after the API's own base64, the base64 of the gzip of
the release JSON (Helm's ``storage/driver/util.go`` encodeRelease: JSON, gzip, base64). Only
the JSON's ``manifest`` (what Helm installed, ``---``-separated with ``# Source:`` comments),
``name``, ``namespace``, ``version`` and ``info.status`` are kept: the chart's values
(``config``) may hold passwords and are never kept, shown or recorded.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.model import KubeObject, ServedResource, WrittenVersion
from inspect8s.model.frozen import frozen
from inspect8s.model.objects import APPLIED, ORIGIN_API, ORIGIN_HELM

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
HELM_SECRET_TYPE = "helm.sh/release.v1"
HELM_LABEL_SELECTOR = "owner=helm"
# A release manifest is text; more than this after gunzip is not a release (a gzip bomb).
HELM_MAX_BYTES = 64 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# --------------------------------------------------------------------------- any object


def namespace_of(meta: Mapping[str, Any], namespaced: bool | None, default: str) -> str | None:
    """The object's namespace: None for cluster-scoped kinds; else its own, or ``default``
    (namespaced or unknown kinds without one)."""
    if namespaced is False:
        return None  # a namespace on a cluster-scoped object is ignored by the API server
    own = meta.get("namespace")
    return own if isinstance(own, str) and own else default


def object_from_data(
    data: Mapping[str, Any],
    *,
    origin: str,
    source: str,
    namespaced: bool | None,
    default_namespace: str = "default",
    file: str | None = None,
    document_index: int | None = None,
    line: int | None = None,
    field_lines: Mapping[str, int] | None = None,
) -> KubeObject | None:
    """One object mapping -> KubeObject; None when it has no kind (not an object)."""
    kind = data.get("kind")
    if not isinstance(kind, str) or not kind:
        return None
    meta = data.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    name = meta.get("name") or meta.get("generateName") or ""
    api_version = data.get("apiVersion")
    return KubeObject(
        api_version=api_version if isinstance(api_version, str) else "",
        kind=kind,
        name=str(name),
        namespace=namespace_of(meta, namespaced, default_namespace),
        origin=origin,
        source=source,
        file=file,
        document_index=document_index,
        line=line,
        content=data,
        field_lines=dict(field_lines or {}),
    )


# --------------------------------------------------------------------------- live objects


def written_versions(item: Mapping[str, Any], listed: str) -> tuple[WrittenVersion, ...]:
    """The apiVersions clients wrote ``item`` with, other than ``listed`` (the version the
    list was asked in): its last-applied-configuration annotation's and each managedFields
    entry's. A last-applied annotation that is not JSON is ignored (kubectl would too)."""
    meta = _mapping(item.get("metadata"))
    out: list[WrittenVersion] = []
    applied = _mapping(meta.get("annotations")).get(LAST_APPLIED)
    if isinstance(applied, str) and applied.strip():
        try:
            version = _mapping(json.loads(applied)).get("apiVersion")
        except ValueError:
            version = None
        if isinstance(version, str) and version and version != listed:
            out.append(WrittenVersion(version, APPLIED))
    for entry in meta.get("managedFields") or ():
        entry = _mapping(entry)
        version = entry.get("apiVersion")
        if not isinstance(version, str) or not version or version == listed:
            continue
        manager = entry.get("manager") or "unknown manager"
        operation = entry.get("operation") or "write"
        when = f" at {entry['time']}" if entry.get("time") else ""
        out.append(WrittenVersion(version, f"managedFields ({manager}, {operation}{when})"))
    return tuple(out)


def _content(item: Mapping[str, Any]) -> dict[str, Any]:
    """The object without what the checks never read and that can be large: managedFields
    and the last-applied-configuration annotation (a copy of the whole object)."""
    content = dict(item)
    meta = dict(_mapping(item.get("metadata")))
    meta.pop("managedFields", None)
    annotations = _mapping(meta.get("annotations"))
    if LAST_APPLIED in annotations:
        meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    content["metadata"] = meta
    return content


def live_object(item: Mapping[str, Any], api_version: str, kind: str) -> KubeObject:
    """A listed object (``api_version``/``kind`` as listed) -> KubeObject(origin api)."""
    meta = _mapping(item.get("metadata"))
    namespace = meta.get("namespace")
    name = str(meta.get("name") or "")
    where = f"{namespace}/{name}" if namespace else name
    return KubeObject(
        api_version=api_version,
        kind=kind,
        name=name,
        namespace=str(namespace) if namespace else None,
        origin=ORIGIN_API,
        source=f"api:{kind}/{where}",
        content=_content(item),
        written_as=written_versions(item, api_version),
    )


# --------------------------------------------------------------------------- Helm


@frozen
class HelmRelease:
    """One Helm 3 release revision: what it installed, nothing else of the secret."""

    name: str
    namespace: str
    revision: int
    status: str  # "deployed", "superseded", "failed", ... (info.status); "" when absent
    manifest: str
    secret: str  # "<ns>/<secret name>", for messages


def _b64(data: bytes, what: str, source: str) -> bytes:
    try:
        return base64.b64decode(b"".join(data.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProbeFailed(ErrorKind.MALFORMED, source, f"{what} is not base64: {exc}") from exc


def _gunzip(data: bytes, source: str) -> bytes:
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        out = inflater.decompress(data, HELM_MAX_BYTES)
    except zlib.error as exc:
        raise ProbeFailed(ErrorKind.MALFORMED, source, f"release is not gzip: {exc}") from exc
    if inflater.unconsumed_tail:
        raise ProbeFailed(
            ErrorKind.MALFORMED, source, f"release is larger than {HELM_MAX_BYTES} bytes"
        )
    return out


def decode_helm_release(secret: Mapping[str, Any]) -> HelmRelease:
    """A Helm 3 release Secret (as the API returns it) -> HelmRelease.

    Raises ProbeFailed(malformed) naming the secret, never its content, when it is not one.
    """
    meta = _mapping(secret.get("metadata"))
    namespace = str(meta.get("namespace") or "")
    secret_name = str(meta.get("name") or "")
    source = f"helm:secret {namespace}/{secret_name}"
    encoded = _mapping(secret.get("data")).get("release")
    if not isinstance(encoded, str) or not encoded:
        raise ProbeFailed(ErrorKind.MALFORMED, source, "no data.release")
    inner = _b64(encoded.encode("ascii", "replace"), "data.release", source)
    payload = _b64(inner, "the release", source)
    if payload[:2] == _GZIP_MAGIC:
        payload = _gunzip(payload, source)
    try:
        release = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProbeFailed(ErrorKind.MALFORMED, source, "the release is not JSON") from exc
    if not isinstance(release, Mapping) or not isinstance(release.get("manifest", ""), str):
        raise ProbeFailed(ErrorKind.MALFORMED, source, "the release has no manifest")
    labels = _mapping(meta.get("labels"))
    revision = release.get("version", labels.get("version"))
    try:
        number = int(revision) if revision is not None else 0
    except (TypeError, ValueError):
        number = 0
    return HelmRelease(
        name=str(release.get("name") or labels.get("name") or secret_name),
        namespace=str(release.get("namespace") or namespace),
        revision=number,
        status=str(_mapping(release.get("info")).get("status") or labels.get("status") or ""),
        manifest=str(release.get("manifest") or ""),
        secret=f"{namespace}/{secret_name}",
    )


def current_releases(releases: Iterable[HelmRelease]) -> list[HelmRelease]:
    """Per release (namespace, name), the revision ``helm upgrade`` starts from: the newest
    deployed one, else the newest of any status. Sorted by namespace and name."""
    best: dict[tuple[str, str], HelmRelease] = {}
    for rel in releases:
        key = (rel.namespace, rel.name)
        other = best.get(key)
        rank = (rel.status == "deployed", rel.revision)
        if other is None or rank > (other.status == "deployed", other.revision):
            best[key] = rel
    return [best[k] for k in sorted(best)]


def _manifest_documents(manifest: str) -> Iterator[tuple[str | None, str]]:
    """(template from ``# Source:``, text) per ``---``-separated document."""
    template: str | None = None
    lines: list[str] = []
    for line in manifest.splitlines():
        if line.startswith("---"):
            if lines:
                yield template, "\n".join(lines)
            template, lines = None, []
            continue
        if line.startswith("# Source: ") and template is None:
            template = line[len("# Source: ") :].strip()
        lines.append(line)
    if lines:
        yield template, "\n".join(lines)


def helm_objects(
    release: HelmRelease, namespaced: Callable[[str], bool | None]
) -> tuple[list[KubeObject], list[ProbeFailed]]:
    """The objects of a release's manifest, in the release's namespace unless a document
    names its own (cluster-scoped kinds get none, as Helm does). A document that does not
    parse is a ProbeFailed naming the release and template; the others are kept."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    objects: list[KubeObject] = []
    errors: list[ProbeFailed] = []
    where = f"Helm release {release.namespace}/{release.name} revision {release.revision}"
    for template, text in _manifest_documents(release.manifest):
        try:
            data = yaml.load(text, Loader=loader)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or type(exc).__name__
            errors.append(
                ProbeFailed(
                    ErrorKind.MALFORMED,
                    f"helm:{release.namespace}/{release.name}",
                    f"revision {release.revision}, {template or 'a document'}: {problem}",
                )
            )
            continue
        if not isinstance(data, Mapping):
            continue
        if data.get("kind") == "Secret":  # a chart's Secret: its values are not ours to keep
            data = {k: v for k, v in data.items() if k not in ("data", "stringData")}
        obj = object_from_data(
            data,
            origin=ORIGIN_HELM,
            source=f"{where}, template {template}" if template else where,
            namespaced=namespaced(str(data.get("kind"))),
            default_namespace=release.namespace,
        )
        if obj is not None:
            objects.append(obj)
    return objects, errors


# --------------------------------------------------------------------------- discovery


def group_versions(core: Mapping[str, Any], groups: Mapping[str, Any]) -> dict[str, list[str]]:
    """``/api`` and ``/apis`` answers -> {group: [group/version, ...]} with each group's
    preferred version first ("" is the core group: ["v1"])."""
    out: dict[str, list[str]] = {"": [str(v) for v in core.get("versions") or ()]}
    for group in groups.get("groups") or ():
        group = _mapping(group)
        name = str(group.get("name") or "")
        versions = [
            str(_mapping(v).get("groupVersion"))
            for v in group.get("versions") or ()
            if _mapping(v).get("groupVersion")
        ]
        preferred = _mapping(group.get("preferredVersion")).get("groupVersion")
        if preferred in versions:
            versions.remove(preferred)
            versions.insert(0, str(preferred))
        if name:
            out[name] = versions
    return out


def served_resources(resource_list: Mapping[str, Any]) -> list[ServedResource]:
    """An APIResourceList (``/apis/<group>/<version>``) -> its kinds (no subresources)."""
    group_version = str(resource_list.get("groupVersion") or "")
    out = []
    for res in resource_list.get("resources") or ():
        res = _mapping(res)
        name = str(res.get("name") or "")
        kind = res.get("kind")
        if not name or "/" in name or not isinstance(kind, str):
            continue
        out.append(
            ServedResource(
                api_version=group_version,
                kind=kind,
                name=name,
                namespaced=bool(res.get("namespaced")),
                verbs=tuple(str(v) for v in res.get("verbs") or ()),
            )
        )
    return out
