"""Objects of every kind from manifests, for the API version checks (scope object).

The manifest reader (:mod:`inspect8s.collect.manifests`) streams every object once; the pod
checks get the pods of workloads, and :class:`ObjectCollector` (passed to
``load_manifests(on_object=...)``) turns each object into a
:class:`~inspect8s.model.KubeObject`: apiVersion, kind, name, namespace, file, document, the
line of ``apiVersion:`` and the lines of its annotations (keys ``metadata.annotations.<key>``
and, for a pod template, ``template.metadata.annotations.<key>``), without keeping the
reader's YAML nodes.

A namespaced object without a namespace gets ``default``, as ``kubectl apply`` without
``-n`` would; kinds the API version table knows to be cluster-scoped get none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from inspect8s.kube.apiobjects import object_from_data
from inspect8s.model import KubeObject
from inspect8s.model.objects import ORIGIN_MANIFEST, POD_TEMPLATE_PATHS

if TYPE_CHECKING:
    from inspect8s.collect.manifests import ManifestObject


def _annotation_lines(
    obj: ManifestObject, prefix: tuple[str, ...], label: str, out: dict[str, int]
) -> None:
    data: Any = obj.data
    for key in (*prefix, "metadata", "annotations"):
        data = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(data, Mapping):
        return
    for key in data:
        line = obj.line_of(*prefix, "metadata", "annotations", key)
        if line is not None:
            out[f"{label}{key}"] = line


class ObjectCollector:
    """Collects a KubeObject for every object the manifest reader yields."""

    def __init__(self, namespaced: Callable[[str], bool | None] | None = None) -> None:
        if namespaced is None:
            from inspect8s.audit.apitable import load_table

            namespaced = load_table().is_namespaced
        self.namespaced = namespaced
        self.objects: list[KubeObject] = []

    def __call__(self, obj: ManifestObject) -> None:
        lines: dict[str, int] = {}
        _annotation_lines(obj, (), "metadata.annotations.", lines)
        template = POD_TEMPLATE_PATHS.get(obj.kind)
        if template is not None:
            _annotation_lines(obj, template, "template.metadata.annotations.", lines)
        found = object_from_data(
            obj.data,
            origin=ORIGIN_MANIFEST,
            source=obj.source,
            namespaced=self.namespaced(obj.kind),
            file=obj.file,
            document_index=obj.document_index,
            line=obj.line_of("apiVersion") or obj.line,
            field_lines=lines,
        )
        if found is not None:
            self.objects.append(found)
