"""Objects of every kind from manifest files, for the API version checks (scope object).

The pod checks get pods from :mod:`inspect8s.collect.manifests`; the API version checks need
every object (Ingress, CRDs, PodSecurityPolicy, ...) with its ``apiVersion``, kind, name,
namespace, file, document and the line of its ``apiVersion:`` field. Items of ``List``
kinds count one by one. Parse errors are the manifest loader's to record (it reads the same
files); here a file stops at its first error.

A namespaced object without a namespace gets ``default``, as ``kubectl apply`` without
``-n`` would; cluster-scoped kinds (as the API version table knows them) get none.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

import yaml

from inspect8s.errors import ProbeFailed
from inspect8s.kube.apiobjects import object_from_data
from inspect8s.model import KubeObject
from inspect8s.model.objects import ORIGIN_MANIFEST


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node if isinstance(value_node, yaml.Node) else None
    return None


def _key_line(node: yaml.Node | None, key: str) -> int | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return int(key_node.start_mark.line) + 1
    return None


def _objects(
    data: Any,
    node: yaml.Node | None,
    file: str,
    index: int,
    line: int | None,
    scope_of: Any,
) -> Iterator[KubeObject]:
    if not isinstance(data, Mapping):
        return
    kind = data.get("kind")
    items = data.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        items_node = _child(node, "items")
        nodes = items_node.value if isinstance(items_node, yaml.SequenceNode) else []
        for i, item in enumerate(items):
            item_node = nodes[i] if i < len(nodes) else None
            item_line = int(item_node.start_mark.line) + 1 if item_node is not None else line
            yield from _objects(item, item_node, file, index, item_line, scope_of)
        return
    obj = object_from_data(
        data,
        origin=ORIGIN_MANIFEST,
        source=f"manifest:{file}#{index}",
        namespaced=scope_of(str(kind)),
        file=file,
        document_index=index,
        line=_key_line(node, "apiVersion") or line,
    )
    if obj is not None:
        yield obj


def manifest_objects(
    paths: Sequence[str], *, stdin: TextIO | None = None, scope_of: Any = None
) -> list[KubeObject]:
    """Every object in the manifests under ``paths`` (files, directories, ``-``).

    ``scope_of(kind)`` says whether a kind is namespaced (None: unknown); by default the
    API version table's answer.
    """
    from inspect8s.collect import manifests as loader

    if scope_of is None:
        from inspect8s.audit.apitable import load_table

        scope_of = load_table().is_namespaced
    out: list[KubeObject] = []
    for path in loader.manifest_files(paths):
        name = "<stdin>" if path == "-" else path
        try:
            text = loader._read_text(path, stdin)
            docs = (
                loader.parse_json_document(text, name)
                if name.lower().endswith(".json")
                else loader.parse_yaml_documents(text, name)
            )
            for doc in docs:
                out.extend(_objects(doc.data, doc.node, name, doc.index, doc.line, scope_of))
        except ProbeFailed:
            continue  # recorded by the manifest loader, which reads the same file
    return out
