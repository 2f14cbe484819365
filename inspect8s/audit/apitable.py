"""The API version table: which apiVersions, annotations and fields stop working, and when.

The built-in table is package data (``inspect8s/audit/data/api-versions.yaml``, sources in
its header); ``--versions-file FILE`` adds entries of the same shape, typically for CRDs
(cert-manager, Istio, ...). :func:`load_table` parses both once per set of files and gives
an :class:`ApiTable` the I8S-API-* checks (``audit/checks/apis.py``) look objects up in.

A versions file::

    targets:                 # optional: the release of each component to judge against
      cert-manager: "1.6"
    apis:
      - group: cert-manager.io
        version: v1alpha2
        kind: Certificate
        component: cert-manager   # optional; default kubernetes (the --target-version)
        deprecated: "1.4"
        removed: "1.6"
        replacement: cert-manager.io/v1
    fields: [...]            # optional, as in the built-in table

An entry of a versions file replaces a built-in entry with the same group, version and kind
(or the same field key). A file that cannot be read or does not have this shape is a usage
error (exit 2) naming the file and the entry.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import field
from importlib import resources
from pathlib import Path
from typing import Any

from inspect8s.errors import UsageError
from inspect8s.model.frozen import frozen

Release = tuple[int, int]  # (major, minor): (1, 22) for Kubernetes 1.22

KUBERNETES = "kubernetes"
TABLE_RESOURCE = "api-versions.yaml"
_RELEASE = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")
WHATS = ("annotation", "volume", "node-label")
POD = "pod"  # FieldEntry.on: Pods and the pod template of every workload kind


class TableError(UsageError):
    """A versions file (or the built-in table) has an entry of the wrong shape: exit 2."""

    def __init__(self, message: str, *, param: str | None = "versions_files") -> None:
        super().__init__(message, param=param)


def parse_release(text: object) -> Release | None:
    """``"1.22"``, ``"v1.22"``, ``"v1.22.3"`` -> (1, 22); None for anything else."""
    match = _RELEASE.match(str(text).strip()) if isinstance(text, str | int | float) else None
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def show(release: Release) -> str:
    return f"{release[0]}.{release[1]}"


FieldPath = tuple[str, ...]  # field path parts; "[]" walks every list item, "**" any depth


@frozen
class Change:
    """Something else to change with the apiVersion, shown when the object has one of the
    ``when`` fields (empty: always) and none of the ``unless`` fields."""

    text: str
    when: tuple[FieldPath, ...] = ()
    unless: tuple[FieldPath, ...] = ()


@frozen
class ApiEntry:
    """One group/version/kind that is deprecated or removed."""

    group: str  # "" for the core group
    version: str
    kind: str
    api_class: str  # workload, networking, policy, storage, ... (free text for files)
    namespaced: bool
    deprecated: Release | None  # first release that warns; None: not given
    removed: Release | None  # first release that no longer serves it; None: not planned
    replacement: str | None  # the next apiVersion ("apps/v1"); None: no replacement
    replacement_kind: str  # the kind in the replacement (usually the same)
    available: Release | None  # release the replacement is served from; None: not given
    changes: tuple[Change, ...] = ()
    no_replacement: str | None = None  # what to do instead, when replacement is None
    source: str = ""
    component: str = KUBERNETES  # whose releases deprecated/removed/available count in
    origin: str = "built-in"  # "built-in" or the versions file

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@frozen
class FieldEntry:
    """An annotation, volume plugin or node label that stops working."""

    what: str  # "annotation" | "volume" | "node-label"
    key: str  # the annotation key (a trailing "*" makes it a prefix), volume or label name
    on: tuple[str, ...]  # ``applies_to``: (POD,) or kinds
    deprecated: Release | None
    removed: Release | None  # first release it no longer works in; None: still works
    replacement: str | None
    note: str | None = None
    reported_by: str | None = None  # another check that reports it (the I8S-API-FIELD-* skip it)
    source: str = ""
    component: str = KUBERNETES
    origin: str = "built-in"

    @property
    def prefix(self) -> str | None:
        """The prefix for a key ending in ``*``; None: an exact key."""
        return self.key[:-1] if self.key.endswith("*") else None


@frozen
class ReviewedRelease:
    release: Release
    removes: str  # the guide section that lists its removals, or "none"


@frozen
class ApiTable:
    """The built-in table plus any versions files, indexed for the checks."""

    releases: tuple[ReviewedRelease, ...]
    apis: tuple[ApiEntry, ...]
    fields: tuple[FieldEntry, ...]
    targets: Mapping[str, Release] = field(default_factory=dict)  # component -> release
    files: tuple[str, ...] = ()  # the versions files merged in
    _by_gvk: dict[tuple[str, str], ApiEntry] = field(default_factory=dict, repr=False)
    _by_kind: dict[str, tuple[FieldEntry, ...]] = field(default_factory=dict, repr=False)

    @property
    def newest(self) -> Release:
        """The newest Kubernetes release the table was reviewed against."""
        return max(r.release for r in self.releases)

    def lookup(self, api_version: str, kind: str) -> ApiEntry | None:
        return self._by_gvk.get((api_version, kind))

    def fields_for(self, kind: str, pod_like: bool) -> tuple[FieldEntry, ...]:
        """The field entries that apply to objects of ``kind`` (pod_like: it is a Pod or
        holds a pod template)."""
        found = self._by_kind.get(kind, ())
        return (*self._by_kind.get(POD, ()), *found) if pod_like else found

    def newest_for(self, component: str) -> Release:
        """The release to judge a component's entries against without a target: the newest
        release the table names for it (Kubernetes: the newest reviewed release)."""
        if component in self.targets:
            return self.targets[component]
        if component == KUBERNETES:
            return self.newest
        entries: list[ApiEntry | FieldEntry] = [*self.apis, *self.fields]
        named = [
            r
            for e in entries
            if e.component == component
            for r in (e.deprecated, e.removed)
            if r is not None
        ]
        return max(named) if named else self.newest

    def is_namespaced(self, kind: str) -> bool | None:
        """Whether ``kind`` is namespaced, as far as the table knows; None: unknown kind."""
        for entry in self.apis:
            if entry.kind == kind:
                return entry.namespaced
        return CLUSTER_SCOPED.get(kind)

    def replacement_at(self, entry: ApiEntry, target: Release) -> Replacement | None:
        """The apiVersion and kind to move to for ``target``: the replacement chain followed
        while the next step is itself gone at ``target``, or deprecated there with its own
        replacement already served. None: there is no replacement (the chain ends in a
        version that is gone too, see :meth:`no_replacement`)."""
        if entry.replacement is None:
            return None
        step = Replacement(entry.replacement, entry.replacement_kind, entry.available)
        seen = {(entry.api_version, entry.kind)}
        while (step.api_version, step.kind) not in seen:
            seen.add((step.api_version, step.kind))
            nxt = self.lookup(step.api_version, step.kind)
            if nxt is None:
                return step
            gone = nxt.removed is not None and nxt.removed <= target
            if nxt.replacement is None:
                return None if gone else step
            deprecated = nxt.deprecated is not None and nxt.deprecated <= target
            served_next = nxt.available is None or nxt.available <= target
            if not (gone or (deprecated and served_next)):
                return step
            step = Replacement(nxt.replacement, nxt.replacement_kind, nxt.available)
        return step

    def no_replacement(self, entry: ApiEntry) -> str | None:
        """What to do instead, from the entry or the first one down its chain that says."""
        seen: set[tuple[str, str]] = set()
        current: ApiEntry | None = entry
        while current is not None and (current.api_version, current.kind) not in seen:
            if current.no_replacement:
                return current.no_replacement
            seen.add((current.api_version, current.kind))
            if current.replacement is None:
                return None
            current = self.lookup(current.replacement, current.replacement_kind)
        return None


@frozen
class Replacement:
    """Where to move an object: apiVersion, kind, and the release that serves it from."""

    api_version: str
    kind: str
    available: Release | None  # None: not given


# Kinds outside the table whose scope the subjects need (namespaced ones default to
# "default" in a manifest without a namespace, as kubectl apply would use).
CLUSTER_SCOPED: dict[str, bool] = {
    "PersistentVolume": False,
    "PersistentVolumeClaim": True,
    "Namespace": False,
    "Node": False,
}


# --------------------------------------------------------------------------- parsing


def _release(entry: Mapping[str, Any], key: str, where: str, *, required: bool) -> Release | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise TableError(f"{where}: '{key}' is required (a release like \"1.22\")")
        return None
    release = parse_release(value)
    if release is None:
        raise TableError(f"{where}: '{key}' is {value!r}, not a release like \"1.22\"")
    return release


def _text(entry: Mapping[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise TableError(f"{where}: '{key}' is required")
        return None
    if not isinstance(value, str):
        raise TableError(f"{where}: '{key}' must be a string, not {type(value).__name__}")
    return value


def _changes(raw: Any, where: str) -> tuple[Change, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise TableError(f"{where}: 'changes' must be a list")
    out = []
    for n, item in enumerate(raw, start=1):
        if isinstance(item, str):
            out.append(Change(item))
            continue
        if not isinstance(item, Mapping) or not isinstance(item.get("text"), str):
            raise TableError(f"{where}: change {n} needs a 'text'")
        paths = {}
        for key in ("when", "unless"):
            value = item.get(key)
            if value is not None and not isinstance(value, str):
                raise TableError(f"{where}: change {n}: '{key}' must be field paths (a|b)")
            paths[key] = tuple(_path(p) for p in value.split("|")) if value else ()
        out.append(Change(item["text"], paths["when"], paths["unless"]))
    return tuple(out)


def _path(text: str) -> FieldPath:
    """``spec.metrics[].resource`` -> ("spec", "metrics", "[]", "resource")."""
    parts: list[str] = []
    for part in text.split("."):
        if part.endswith("[]"):
            parts.extend((part[:-2], "[]"))
        else:
            parts.append(part)
    return tuple(p for p in parts if p)


def _api_entry(raw: Any, where: str, origin: str) -> ApiEntry:
    if not isinstance(raw, Mapping):
        raise TableError(f"{where}: expected a mapping")
    unknown = set(raw) - _API_KEYS
    if unknown:
        raise TableError(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    group = raw.get("group", "")
    if not isinstance(group, str):
        raise TableError(f"{where}: 'group' must be a string")
    version = _text(raw, "version", where, required=True)
    kind = _text(raw, "kind", where, required=True)
    assert version is not None and kind is not None
    where = f"{where} ({group + '/' if group else ''}{version} {kind})"
    deprecated = _release(raw, "deprecated", where, required=False)
    removed = _release(raw, "removed", where, required=False)
    if deprecated is None and removed is None:
        raise TableError(f"{where}: give 'deprecated', 'removed' or both")
    if deprecated is not None and removed is not None and removed < deprecated:
        raise TableError(f"{where}: removed before it was deprecated")
    replacement = _text(raw, "replacement", where, required=False)
    if replacement is not None and (replacement.count("/") > 1 or " " in replacement):
        raise TableError(f"{where}: 'replacement' must be an apiVersion like apps/v1")
    namespaced = raw.get("namespaced", True)
    if not isinstance(namespaced, bool):
        raise TableError(f"{where}: 'namespaced' must be true or false")
    return ApiEntry(
        group=group,
        version=version,
        kind=kind,
        api_class=_text(raw, "class", where, required=False) or "other",
        namespaced=namespaced,
        deprecated=deprecated,
        removed=removed,
        replacement=replacement,
        replacement_kind=_text(raw, "replacement_kind", where, required=False) or kind,
        available=_release(raw, "available", where, required=False),
        changes=_changes(raw.get("changes"), where),
        no_replacement=_text(raw, "no_replacement", where, required=False),
        source=_text(raw, "source", where, required=origin == "built-in") or origin,
        component=_text(raw, "component", where, required=False) or KUBERNETES,
        origin=origin,
    )


_API_KEYS = {
    "group",
    "version",
    "kind",
    "class",
    "namespaced",
    "deprecated",
    "removed",
    "replacement",
    "replacement_kind",
    "available",
    "changes",
    "no_replacement",
    "source",
    "component",
}
_FIELD_KEYS = {
    "what",
    "key",
    "applies_to",
    "deprecated",
    "removed",
    "replacement",
    "note",
    "reported_by",
    "source",
    "component",
}


def _field_entry(raw: Any, where: str, origin: str) -> FieldEntry:
    if not isinstance(raw, Mapping):
        raise TableError(f"{where}: expected a mapping")
    unknown = set(raw) - _FIELD_KEYS
    if unknown:
        raise TableError(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    what = _text(raw, "what", where, required=True)
    key = _text(raw, "key", where, required=True)
    assert key is not None
    where = f"{where} ({key})"
    if what not in WHATS:
        raise TableError(f"{where}: 'what' must be one of {', '.join(WHATS)}")
    on_raw = raw.get("applies_to", POD)
    on = (on_raw,) if isinstance(on_raw, str) else on_raw
    if not isinstance(on, list | tuple) or not on or not all(isinstance(k, str) for k in on):
        raise TableError(f"{where}: 'applies_to' must be 'pod' or a list of kinds")
    if what != "annotation" and tuple(on) != (POD,):
        raise TableError(f"{where}: volumes and node labels are in pod specs: applies_to: pod")
    deprecated = _release(raw, "deprecated", where, required=False)
    removed = _release(raw, "removed", where, required=False)
    if deprecated is None and removed is None:
        raise TableError(f"{where}: give 'deprecated', 'removed' or both")
    return FieldEntry(
        what=what,
        key=key,
        on=tuple(on),
        deprecated=deprecated,
        removed=removed,
        replacement=_text(raw, "replacement", where, required=False),
        note=_text(raw, "note", where, required=False),
        reported_by=_text(raw, "reported_by", where, required=False),
        source=_text(raw, "source", where, required=origin == "built-in") or origin,
        component=_text(raw, "component", where, required=False) or KUBERNETES,
        origin=origin,
    )


@frozen
class _Parsed:
    releases: tuple[ReviewedRelease, ...]
    apis: tuple[ApiEntry, ...]
    fields: tuple[FieldEntry, ...]
    targets: dict[str, Release]


def parse_table(data: Any, origin: str) -> _Parsed:
    """A table document (the built-in one or a versions file) -> entries; TableError on a
    bad shape. ``releases`` are allowed only in the built-in table."""
    if not isinstance(data, Mapping):
        raise TableError(f"{origin}: expected a mapping with 'apis' and/or 'fields'")
    allowed = {"schema", "releases", "apis", "fields"} if origin == "built-in" else set()
    allowed |= {"apis", "fields", "targets"}
    unknown = set(data) - allowed
    if unknown:
        raise TableError(f"{origin}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    releases = []
    for n, raw in enumerate(data.get("releases") or (), start=1):
        release = parse_release(raw.get("release")) if isinstance(raw, Mapping) else None
        if release is None or not isinstance(raw.get("removes"), str):
            raise TableError(f"{origin}: releases entry {n} needs 'release' and 'removes'")
        releases.append(ReviewedRelease(release, raw["removes"]))
    apis_raw = data.get("apis") or []
    fields_raw = data.get("fields") or []
    if not isinstance(apis_raw, list) or not isinstance(fields_raw, list):
        raise TableError(f"{origin}: 'apis' and 'fields' must be lists")
    apis = tuple(
        _api_entry(raw, f"{origin}: apis entry {n}", origin)
        for n, raw in enumerate(apis_raw, start=1)
    )
    fields = tuple(
        _field_entry(raw, f"{origin}: fields entry {n}", origin)
        for n, raw in enumerate(fields_raw, start=1)
    )
    targets: dict[str, Release] = {}
    raw_targets = data.get("targets") or {}
    if not isinstance(raw_targets, Mapping):
        raise TableError(f"{origin}: 'targets' must map a component to a release")
    for component, value in raw_targets.items():
        release = parse_release(value)
        if release is None:
            raise TableError(f"{origin}: targets: {component}: {value!r} is not a release")
        targets[str(component)] = release
    return _Parsed(tuple(releases), apis, fields, targets)


def _read_yaml(path: str) -> Any:
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TableError(f"versions file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise TableError(f"versions file {path}: not UTF-8 text") from exc
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TableError(f"versions file {path}: invalid YAML: {first}") from exc


def _builtin_data() -> Any:
    import yaml

    text = resources.files("inspect8s.audit").joinpath("data", TABLE_RESOURCE).read_text("utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _index(
    releases: tuple[ReviewedRelease, ...],
    apis: Sequence[ApiEntry],
    fields: Sequence[FieldEntry],
    targets: dict[str, Release],
    files: tuple[str, ...],
) -> ApiTable:
    by_gvk = {(e.api_version, e.kind): e for e in apis}
    by_kind: dict[str, list[FieldEntry]] = {}
    for f in fields:
        for kind in f.on:
            by_kind.setdefault(kind, []).append(f)
    return ApiTable(
        releases=releases,
        apis=tuple(apis),
        fields=tuple(fields),
        targets=targets,
        files=files,
        _by_gvk=by_gvk,
        _by_kind={k: tuple(v) for k, v in by_kind.items()},
    )


@functools.lru_cache(maxsize=8)
def load_table(versions_files: tuple[str, ...] = ()) -> ApiTable:
    """The built-in table with the entries of ``versions_files`` merged in (cached per
    tuple of files). Raises TableError (exit 2) for a file that is missing or malformed."""
    base = parse_table(_builtin_data(), "built-in")
    apis: dict[tuple[str, str], ApiEntry] = {(e.api_version, e.kind): e for e in base.apis}
    fields: dict[tuple[str, str], FieldEntry] = {(f.what, f.key): f for f in base.fields}
    targets: dict[str, Release] = {}
    for path in versions_files:
        try:
            extra = parse_table(_read_yaml(path), path)
        except TableError as exc:
            if str(exc).startswith("versions file "):
                raise
            raise TableError(f"versions file {exc}") from None
        for e in extra.apis:
            apis[(e.api_version, e.kind)] = e
        for f in extra.fields:
            fields[(f.what, f.key)] = f
        targets.update(extra.targets)
    return _index(
        base.releases, list(apis.values()), list(fields.values()), targets, versions_files
    )


def entries_removed_in(table: ApiTable, release: Release) -> Iterator[ApiEntry]:
    """The Kubernetes API entries the table says ``release`` stops serving."""
    for entry in table.apis:
        if entry.component == KUBERNETES and entry.removed == release:
            yield entry
