"""Read Kubernetes manifests (YAML and JSON files, directories) into pods for the spec checks.

``inspect8s audit --manifests PATH...`` audits what is about to be deployed, offline: plain
manifests, ``kubectl get -o yaml`` dumps, ``List`` kinds and rendered Helm output
(``helm template``: ``---`` separators, ``# Source:`` comments, empty documents).

Every pod keeps where it came from: ``Pod.source`` is ``manifest:<file>#<doc index>`` and
the parallel :class:`~inspect8s.results.Location` adds the line, so findings point at the
file, the document (0-based) and the line (1-based) in SARIF and the other renderers.

Workloads are turned into the pod their template describes: Deployment, StatefulSet,
DaemonSet, ReplicaSet, ReplicationController, Job (``spec.template``), CronJob
(``spec.jobTemplate.spec.template``), PodTemplate (``template``) and Pod itself. The pod is
named after the workload and owned by it (``Pod.owner`` = ``Deployment/web``); its
namespace is the workload's, or ``default`` when the manifest sets none (as ``kubectl
apply`` without ``-n`` would). Other kinds are counted and skipped.

A file that cannot be read or parsed is a recorded :class:`ProbeError` naming the file
(and line); documents before the error still count, and the other files are read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import yaml

from inspect8s.audit.results import Location
from inspect8s.errors import ErrorKind, NotFoundError, ProbeError, ProbeFailed
from inspect8s.model import Pod

MANIFEST_SUFFIXES: tuple[str, ...] = (".yaml", ".yml", ".json")

# kind -> path of the pod template inside the object
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "PodTemplate": ("template",),
}


@dataclass(frozen=True, slots=True)
class ManifestSet:
    """The pods found in a set of manifest files, with their locations and the errors."""

    pods: tuple[Pod, ...]
    locations: tuple[Location, ...]  # parallel to ``pods``
    errors: tuple[ProbeError, ...]
    files: int  # files read (or tried)
    documents: int  # YAML/JSON documents parsed, empty ones included
    skipped_kinds: dict[str, int] = field(default_factory=dict)  # non-workload kind -> count


# --------------------------------------------------------------------------- files


def manifest_files(paths: Sequence[str]) -> list[str]:
    """Expand files and directories (recursively: *.yaml, *.yml, *.json, sorted).

    A file named explicitly is read whatever its suffix; ``-`` stands for standard input.
    A path that does not exist is a usage error (:class:`NotFoundError`, exit code 2).
    """
    out: list[str] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = path if path == "-" else os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            out.append(path)

    for raw in paths:
        if raw == "-":
            add(raw)
            continue
        if os.path.isdir(raw):
            found: list[str] = []
            for dirpath, dirnames, filenames in os.walk(raw):
                # hidden directories (.git, .helm caches) are not manifests
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                found.extend(
                    os.path.join(dirpath, name)
                    for name in filenames
                    if name.lower().endswith(MANIFEST_SUFFIXES) and not name.startswith(".")
                )
            for path in sorted(found):
                add(path)
        elif os.path.exists(raw):
            add(raw)
        else:
            raise NotFoundError(
                f"manifest path {raw}: no such file or directory", param="manifests"
            )
    return out


def _read_text(path: str, stdin: TextIO | None) -> str:
    source = f"manifest:{path}"
    if path == "-":
        if stdin is None:
            raise ProbeFailed(ErrorKind.MISSING, source, "no standard input")
        return stdin.read()
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError as exc:
        raise ProbeFailed(ErrorKind.MALFORMED, source, "is a directory") from exc
    except OSError as exc:
        from inspect8s.errors import kind_from_oserror

        raise ProbeFailed(kind_from_oserror(exc), source, exc.strerror or str(exc)) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProbeFailed(
            ErrorKind.MALFORMED, source, f"not UTF-8 text (byte {exc.start}): not a manifest"
        ) from exc


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed YAML/JSON document: its index, first line, data and (YAML) node."""

    index: int  # 0-based position in the file
    line: int | None  # 1-based line of its first content; None: unknown
    data: Any
    node: yaml.Node | None = None


def _mark_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def parse_yaml_documents(text: str, source: str) -> Iterator[Document]:
    """The documents of a YAML stream, in order, each with its first line.

    Raises ProbeFailed(malformed) at the first syntax or construction error, with the line;
    documents before it have already been yielded.
    """
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_cls(text)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            data = loader.construct_document(node)
            line = node.start_mark.line + 1 if node is not None else None
            yield Document(index=index, line=line, data=data, node=node)
            index += 1
    except yaml.YAMLError as exc:
        line = _mark_line(exc)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f"line {line}: " if line is not None else ""
        raise ProbeFailed(
            ErrorKind.MALFORMED, source, f"document {index}: {where}invalid YAML: {problem}"
        ) from exc
    finally:
        loader.dispose()


def parse_json_document(text: str, source: str) -> Iterator[Document]:
    """A JSON file as one document (index 0, line 1)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProbeFailed(
            ErrorKind.MALFORMED, source, f"line {exc.lineno}: invalid JSON: {exc.msg}"
        ) from exc
    node: yaml.Node | None = None
    if isinstance(data, Mapping) and isinstance(data.get("items"), list):
        # JSON is (nearly) YAML: compose it once more only to learn each item's line.
        try:
            node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError:
            node = None  # lines of items unknown; the data itself parsed fine
    yield Document(index=0, line=1, data=data, node=node)


def _child_node(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node if isinstance(value_node, yaml.Node) else None
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _dig(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


# --------------------------------------------------------------------------- objects -> pods


def _pod_object(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Pod-shaped object a workload's template describes; None: not a workload kind."""
    kind = obj.get("kind")
    if kind == "Pod":
        return dict(obj)
    path = TEMPLATE_PATHS.get(str(kind))
    if path is None:
        return None
    meta = _mapping(obj.get("metadata"))
    template = _mapping(_dig(obj, path))
    tmeta = _mapping(template.get("metadata"))
    name = meta.get("name") or meta.get("generateName")
    pod_meta: dict[str, Any] = dict(tmeta)
    pod_meta["name"] = name
    pod_meta["namespace"] = meta.get("namespace") or tmeta.get("namespace")
    pod_meta["ownerReferences"] = [{"kind": str(kind), "name": str(name), "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": template.get("spec")}


class _Collector:
    def __init__(self) -> None:
        self.pods: list[Pod] = []
        self.locations: list[Location] = []
        self.errors: list[ProbeError] = []
        self.skipped: dict[str, int] = {}
        self.documents = 0

    def skip(self, kind: str) -> None:
        self.skipped[kind] = self.skipped.get(kind, 0) + 1

    def add_object(
        self, obj: Any, file: str, doc: Document, line: int | None, node: yaml.Node | None
    ) -> None:
        if obj is None:
            return
        if not isinstance(obj, Mapping):
            self.skip("(not an object)")
            return
        kind = obj.get("kind")
        if not isinstance(kind, str) or not kind:
            self.skip("(no kind)")
            return
        items = obj.get("items")
        if kind.endswith("List") and isinstance(items, list):
            items_node = _child_node(node, "items")
            item_nodes = items_node.value if isinstance(items_node, yaml.SequenceNode) else []
            for i, item in enumerate(items):
                item_node = item_nodes[i] if i < len(item_nodes) else None
                item_line = item_node.start_mark.line + 1 if item_node is not None else line
                self.add_object(item, file, doc, item_line, item_node)
            return
        pod_obj = _pod_object(obj)
        if pod_obj is None:
            self.skip(kind)
            return
        source = f"manifest:{file}#{doc.index}"
        location = Location(file=file, document_index=doc.index, line=line)
        from inspect8s.kube.convert import pod_from_json

        try:
            if not isinstance(pod_obj.get("spec"), Mapping):
                raise ProbeFailed(ErrorKind.MALFORMED, source, f"{kind} has no pod spec")
            pod = pod_from_json(pod_obj, source=source)
        except ProbeFailed as exc:
            detail = exc.detail if exc.source == source else f"{exc.source}: {exc.detail}"
            self.errors.append(
                ProbeError(ErrorKind.MALFORMED, f"manifest:{location.text()}", f"{kind}: {detail}")
            )
            return
        except (TypeError, AttributeError, ValueError, KeyError) as exc:
            # A field of the wrong type (a string where a list belongs, ...): the API server
            # would reject the object; record it and read on.
            self.errors.append(
                ProbeError(
                    ErrorKind.MALFORMED,
                    f"manifest:{location.text()}",
                    f"{kind}: unexpected structure ({type(exc).__name__}: {exc})",
                )
            )
            return
        self.pods.append(replace(pod, source=source))
        self.locations.append(location)

    def add_file(self, file: str, text: str) -> None:
        source = f"manifest:{file}"
        is_json = file.lower().endswith(".json")
        docs = parse_json_document(text, source) if is_json else parse_yaml_documents(text, source)
        try:
            for doc in docs:
                self.documents += 1
                self.add_object(doc.data, file, doc, doc.line, doc.node)
        except ProbeFailed as exc:
            self.errors.append(exc.record())


def load_manifests(
    paths: Sequence[str],
    *,
    stdin: TextIO | None = None,
    on_progress: Callable[[str, int, int | None], None] | None = None,
) -> ManifestSet:
    """Read every manifest under ``paths`` into pods (see the module docstring).

    Raises NotFoundError for a path that does not exist; every other problem (unreadable
    file, invalid YAML/JSON, a workload of the wrong shape) is a ProbeError in the result.
    ``on_progress`` is told the files read so far (with the documents in them).
    """
    files = manifest_files(paths)
    collector = _Collector()
    for n, file in enumerate(files):
        if on_progress is not None:
            on_progress(f"manifests ({collector.documents} documents): files", n, len(files))
        name = "<stdin>" if file == "-" else file
        try:
            text = _read_text(file, stdin)
        except ProbeFailed as exc:
            collector.errors.append(exc.record())
            continue
        collector.add_file(name, text)
    if on_progress is not None:
        on_progress(f"manifests ({collector.documents} documents): files", len(files), len(files))
    return ManifestSet(
        pods=tuple(collector.pods),
        locations=tuple(collector.locations),
        errors=tuple(collector.errors),
        files=len(files),
        documents=collector.documents,
        skipped_kinds=dict(sorted(collector.skipped.items())),
    )
