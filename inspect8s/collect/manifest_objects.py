"""Objects of every kind from manifests, for the API version checks (scope object).

The manifest reader (:mod:`inspect8s.collect.manifests`) streams every object once; the pod
checks get the pods of workloads, and :meth:`ObjectCollector.convert` turns each object into
a :class:`~inspect8s.model.KubeObject` for the object checks: apiVersion, kind, name,
namespace, file, document, the
line of ``apiVersion:`` and the lines of the fields the checks point at (:func:`field_lines`),
without keeping the reader's YAML nodes.

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


def _dig(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data


def _key_lines(obj: ManifestObject, path: tuple[str, ...], label: str, out: dict[str, int]) -> None:
    """The lines of the keys (mapping) or items (list) at ``path``, as ``<label><key>``."""
    data = _dig(obj.data, path)
    if isinstance(data, Mapping):
        keys: list[str | int] = [k for k in data if isinstance(k, str)]
    elif isinstance(data, list):
        keys = list(range(len(data)))
    else:
        return
    for key in keys:
        line = obj.line_of(*path, key)
        if line is not None:
            out[f"{label}{key}"] = line


def field_lines(obj: ManifestObject) -> dict[str, int]:
    """The lines the API version checks point at: ``metadata.annotations.<key>`` of the
    object and, for a Pod or a workload, ``pod.metadata.annotations.<key>``,
    ``pod.spec.volumes.<index>`` and ``pod.spec.nodeSelector.<key>`` of its pod (template)."""
    lines: dict[str, int] = {}
    _key_lines(obj, ("metadata", "annotations"), "metadata.annotations.", lines)
    template = () if obj.kind == "Pod" else POD_TEMPLATE_PATHS.get(obj.kind)
    if template is not None:
        for part in (("metadata", "annotations"), ("spec", "volumes"), ("spec", "nodeSelector")):
            _key_lines(obj, (*template, *part), "pod." + ".".join(part) + ".", lines)
    return lines


class ObjectCollector:
    """Turns what the manifest reader yields into KubeObjects (``convert``); called, it
    also keeps them (``objects``)."""

    def __init__(self, namespaced: Callable[[str], bool | None] | None = None) -> None:
        if namespaced is None:
            from inspect8s.audit.apitable import load_table

            namespaced = load_table().is_namespaced
        self.namespaced = namespaced
        self.objects: list[KubeObject] = []

    def __call__(self, obj: ManifestObject) -> None:
        found = self.convert(obj)
        if found is not None:
            self.objects.append(found)

    def convert(self, obj: ManifestObject) -> KubeObject | None:
        """The KubeObject of one manifest object (None: it has no kind)."""
        return object_from_data(
            obj.data,
            origin=ORIGIN_MANIFEST,
            source=obj.source,
            namespaced=self.namespaced(obj.kind),
            file=obj.file,
            document_index=obj.document_index,
            line=obj.line_of("apiVersion") or obj.line,
            field_lines=field_lines(obj),
        )
