"""Read Kubernetes manifests (YAML and JSON files, directories, standard input) as objects.

``inspect8s audit --manifests PATH...`` audits what is about to be deployed, offline: plain
manifests, ``kubectl get -o yaml|json`` dumps, ``List`` objects and rendered Helm or
kustomize output (``helm template ... | inspect8s audit --manifests -``: ``---``
separators, ``# Source:`` comments, empty documents).

The object API (what checks and other readers build on)
-------------------------------------------------------

:func:`read_objects` streams every Kubernetes object found under some paths as a
:class:`ManifestObject`, in file order; :class:`ManifestReader` is the same with the
bookkeeping (files, documents, errors) kept for the caller::

    reader = ManifestReader(["deploy/", "-"], stdin=sys.stdin.buffer)
    for obj in reader:
        obj.kind, obj.api_version, obj.namespace, obj.name   # as written (None: not set)
        obj.file, obj.document_index, obj.item_index, obj.line
        obj.data                                             # the object: dicts and lists
        obj.line_of("apiVersion")                            # 1-based line of a field
        obj.location("spec", "template", "spec", "containers", 0, "image")
    reader.errors, reader.files, reader.documents, reader.skipped

* An object is a mapping whose ``kind`` is a non-empty string. ``List`` kinds (``kind: List``,
  ``PodList``, ... with ``items:``) are not objects themselves: each item is, with
  ``item_index`` set. Empty documents are counted in ``documents`` only; documents that are
  not mappings or have no ``kind`` (a Helm values file) are counted in ``skipped``.
* ``line_of(*path)`` is the line of the field at ``path`` (mapping keys and list indexes);
  None when the path does not exist or the file gave no lines. ``location(*path)`` is a
  :class:`~inspect8s.audit.results.Location` pointing at the deepest part of ``path`` that
  exists, so a missing field points at the entry that lacks it (a container without a
  ``securityContext`` at its ``- name:`` line), and never at nothing.
* YAML is read the way Kubernetes reads it (YAML 1.1 through ``sigs.k8s.io/yaml``): a bare
  ``=`` and timestamps stay strings, merge keys (``<<``) merge, non-string keys become
  strings. Anchors are shared; a recursive alias or an alias bomb is an error.

Limits and failures
-------------------

Only regular files are read (a FIFO, socket or device named or found among manifests is an
error, never opened for reading); ``-`` is standard input. A file, or standard input,
larger than ``max_file_bytes`` (default 256 MiB, ``--max-manifest-size``) stops with an error
at the cap. YAML is streamed: one document is held at a time, so memory stays bounded
whatever the file size; JSON files are parsed whole (they are one document). Nesting
deeper than 1,000 levels is an error (no Kubernetes object comes close). Every problem is a
:class:`~inspect8s.errors.ProbeError` in ``errors`` naming the file (and document and line);
documents before it still count and the other files are read.

Workloads
---------

:func:`workload_pod` turns a workload into the pod its template describes: Deployment,
StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job (``spec.template``), CronJob
(``spec.jobTemplate.spec.template``), PodTemplate (``template``) and Pod itself. The pod is
named after the workload and owned by it (``Pod.owner`` = ``Deployment/web``); its namespace
is the workload's, or ``default`` when the manifest sets none (as ``kubectl apply`` without
``-n`` would). :class:`PodFields` maps fields of that pod (``spec.containers[0].image``) back
to lines of the workload. :func:`load_manifests` collects the pods of all files at once.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import field, replace
from typing import IO, Any

import yaml

from inspect8s.audit.results import Location
from inspect8s.errors import ErrorKind, NotFoundError, ProbeError, ProbeFailed, kind_from_oserror
from inspect8s.model import Pod
from inspect8s.model.frozen import frozen

MANIFEST_SUFFIXES: tuple[str, ...] = (".yaml", ".yml", ".json")
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 1000  # libyaml's own flow-nesting limit; JSON is held to the same
MAX_NODES_PER_DOCUMENT = 10_000_000  # values a document may expand to through aliases
STDIN_NAME = "<stdin>"

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

Path = tuple[str | int, ...]
Progress = Callable[[str, int, int | None, int], None]  # file, bytes read, size, documents


# --------------------------------------------------------------------------- objects


@frozen
class ManifestObject:
    """One Kubernetes object read from a manifest file (see the module docstring)."""

    kind: str
    api_version: str | None  # None: no apiVersion (or not a string)
    name: str | None  # metadata.name, else metadata.generateName; None: neither
    namespace: str | None  # metadata.namespace as written; None: not set
    file: str  # the path as given or found; "<stdin>" for "-"
    document_index: int  # 0-based YAML document in the file (JSON: 0)
    item_index: int | None  # position in a List's items; None: the document itself
    line: int | None  # 1-based line where the object starts; None: unknown
    data: Mapping[str, Any] = field(repr=False)
    node: yaml.Node | None = field(default=None, repr=False, compare=False)  # for lines

    @property
    def source(self) -> str:
        """``manifest:<file>#<document>``, the ``Pod.source`` of what it describes."""
        return f"manifest:{self.file}#{self.document_index}"

    def line_of(self, *path: str | int) -> int | None:
        """The 1-based line of the field at ``path`` (its key); None: no such field or line."""
        found = _find(self.node, path)
        return found[1] if found is not None and found[0] == len(path) else None

    def location(self, *path: str | int) -> Location:
        """Where ``path`` is in the file: the line of its deepest existing part."""
        found = _find(self.node, path)
        line = found[1] if found is not None else self.line
        return Location(file=self.file, document_index=self.document_index, line=line)


def _node_line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _find(node: yaml.Node | None, path: Sequence[str | int]) -> tuple[int, int] | None:
    """(parts of ``path`` found, line of the deepest found part); None without a node."""
    if node is None:
        return None
    line = _node_line(node)
    depth = 0
    for part in path:
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == part:
                    line = _node_line(key_node)
                    nxt = value_node
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            nxt = node.value[part]
            line = _node_line(nxt)
        if nxt is None:
            break
        node = nxt
        depth += 1
    return depth, line


# --------------------------------------------------------------------------- files


def manifest_files(paths: Sequence[str]) -> list[str]:
    """Expand files and directories (recursively: *.yaml, *.yml, *.json, sorted).

    A file named explicitly is read whatever its suffix; ``-`` stands for standard input.
    Hidden files and directories are left out of directory walks. A path that does not
    exist is a usage error (:class:`NotFoundError`, exit code 2); what kind of file a path
    is gets checked when it is opened.
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
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                found.extend(
                    os.path.join(dirpath, name)
                    for name in filenames
                    if name.lower().endswith(MANIFEST_SUFFIXES) and not name.startswith(".")
                )
            for path in sorted(found):
                add(path)
        elif os.path.lexists(raw):
            add(raw)
        else:
            raise NotFoundError(
                f"manifest path {raw}: no such file or directory", param="manifests"
            )
    return out


_FILE_TYPES: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _not_regular(mode: int) -> str:
    for test, name in _FILE_TYPES:
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str) -> tuple[IO[bytes], int]:
    """Open a regular file for reading without blocking on FIFOs; (file, size in bytes).

    The file is opened with O_NONBLOCK (opening a FIFO for reading would otherwise wait
    for a writer) and checked with fstat, so a path swapped for a FIFO or device between a
    check and the open is refused too. Raises ProbeFailed.
    """
    source = f"manifest:{path}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ProbeFailed(kind_from_oserror(exc), source, exc.strerror or str(exc)) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _not_regular(info.st_mode)
            raise ProbeFailed(ErrorKind.MALFORMED, source, f"is {kind}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), info.st_size
    except BaseException:
        os.close(fd)
        raise


class FileTooLarge(Exception):
    """Raised inside a read when a file passes its size cap."""


class _CappedReader:
    """A binary stream that refuses to read past ``cap`` bytes and reports progress."""

    def __init__(
        self,
        raw: IO[bytes],
        cap: int,
        report: Callable[[int], None] | None = None,
    ) -> None:
        self.raw = raw
        self.cap = cap
        self.done = 0
        self.report = report

    def read(self, size: int = -1) -> bytes:
        want = self.cap + 1 - self.done
        if want <= 0:
            raise FileTooLarge
        chunk: bytes | str = self.raw.read(want if size is None or size < 0 else min(size, want))
        if isinstance(chunk, str):  # a text stream without a buffer (io.StringIO)
            chunk = chunk.encode("utf-8")
        self.done += len(chunk)
        if self.done > self.cap:
            raise FileTooLarge
        if self.report is not None:
            self.report(self.done)
        return chunk


def _size_text(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


def parse_size(text: str) -> int:
    """A byte count as written on the command line: ``512M``, ``1G``, ``64Ki``, ``1000``.

    K/M/G/T (and Ki/Mi/Gi/Ti) are powers of 1024; raises ValueError otherwise.
    """
    cleaned = text.strip().replace("_", "")
    units = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    number = cleaned.rstrip("bB").rstrip("iI")
    suffix = ""
    if number and number[-1].lower() in units:
        suffix = number[-1].lower()
        number = number[:-1]
    if not number.isdigit() or int(number) <= 0:
        raise ValueError(f"not a size: {text!r} (e.g. 512M, 1G)")
    return int(number) * units[suffix]


# --------------------------------------------------------------------------- YAML -> data

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_AS_TEXT = frozenset(
    {
        _STR,
        "tag:yaml.org,2002:timestamp",  # sigs.k8s.io/yaml keeps dates as the text written
        "tag:yaml.org,2002:value",  # a bare "=" (YAML 1.1 value key type): just a string
        "tag:yaml.org,2002:binary",  # base64 text, as a JSON string would carry it
    }
)
_BOOL = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}


class _Construct(yaml.constructor.SafeConstructor):
    """Only for its YAML 1.1 int and float parsers (no state is used)."""


_CONSTRUCT = _Construct()


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    if tag in _SCALAR_AS_TEXT:
        return node.value
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return _BOOL.get(str(node.value).lower(), node.value)
    if tag == "tag:yaml.org,2002:int":
        return _CONSTRUCT.construct_yaml_int(node)
    if tag == "tag:yaml.org,2002:float":
        return _CONSTRUCT.construct_yaml_float(node)
    return node.value  # custom tags (!Ref, !!python/...): the text, never an object


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, int | float):
        return str(key)
    raise ValueError("a mapping key is a mapping or a list")


class _Malformed(Exception):
    def __init__(self, node: yaml.Node, problem: str) -> None:
        super().__init__(problem)
        self.line = _node_line(node)
        self.problem = problem


class _Aliased(Exception):
    """The document uses an alias: build it again with the careful constructor."""


def _fast(node: yaml.Node, seen: set[int]) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return node.value if node.tag == _STR else _scalar(node)
    ident = id(node)
    if ident in seen:
        raise _Aliased
    seen.add(ident)
    if isinstance(node, yaml.SequenceNode):
        return [_fast(child, seen) for child in node.value]
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            raise _Aliased  # merges usually come with anchors: the careful path handles both
        key = _fast(key_node, seen)
        out[key if isinstance(key, str) else _key_text(key)] = _fast(value_node, seen)
    return out


def construct(root: yaml.Node) -> Any:
    """Plain data (dicts, lists, scalars) from a composed YAML node.

    Documents without aliases and merge keys (nearly all manifests) are built by a direct
    recursive walk; the others by :func:`construct_careful`. Raises _Malformed.
    """
    try:
        return _fast(root, set())
    except _Aliased:
        return construct_careful(root)
    except RecursionError:
        raise _Malformed(root, f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise _Malformed(root, str(exc)) from None


def construct_careful(root: yaml.Node) -> Any:
    """Plain data (dicts, lists, scalars) from a composed YAML node, without recursion.

    Aliases share the value built for their anchor; a node that contains itself, an
    expansion past MAX_NODES_PER_DOCUMENT or a mapping used as a key raises _Malformed.
    """
    built: dict[int, tuple[Any, int]] = {}  # id(node) -> (value, expanded size)
    active: set[int] = set()
    values: list[tuple[Any, int]] = []
    stack: list[tuple[yaml.Node, bool, int]] = [(root, False, 1)]
    while stack:
        node, ready, depth = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            values.append((_scalar(node), 1))
            continue
        ident = id(node)
        if not ready:
            seen = built.get(ident)
            if seen is not None:
                values.append(seen)
                continue
            if ident in active:
                raise _Malformed(node, "a recursive alias (the node contains itself)")
            if depth > MAX_DEPTH:
                raise _Malformed(node, f"nested deeper than {MAX_DEPTH} levels")
            active.add(ident)
            stack.append((node, True, depth))
            children: list[yaml.Node] = []
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    children.append(key_node)
                    children.append(value_node)
            else:
                children = list(node.value)
            for child in reversed(children):
                stack.append((child, False, depth + 1))
            continue
        active.discard(ident)
        count = len(node.value) * (2 if isinstance(node, yaml.MappingNode) else 1)
        parts = values[len(values) - count :] if count else []
        del values[len(values) - count :]
        size = 1 + sum(s for _, s in parts)
        if size > MAX_NODES_PER_DOCUMENT:
            raise _Malformed(node, "the document expands to too many values (alias bomb)")
        if isinstance(node, yaml.SequenceNode):
            value: Any = [v for v, _ in parts]
        else:
            value = {}
            merged: list[Mapping[str, Any]] = []
            for i in range(0, count, 2):
                key_node = node.value[i // 2][0]
                raw_key, item = parts[i][0], parts[i + 1][0]
                if key_node.tag == _MERGE:
                    if isinstance(item, Mapping):
                        merged.append(item)
                    elif isinstance(item, list) and all(isinstance(m, Mapping) for m in item):
                        merged.extend(item)
                    else:
                        raise _Malformed(key_node, "a merge key (<<) whose value is no mapping")
                    continue
                try:
                    value[_key_text(raw_key)] = item
                except ValueError as exc:
                    raise _Malformed(key_node, str(exc)) from None
            for extra in merged:
                for k, v in extra.items():
                    value.setdefault(k, v)
        built[ident] = (value, size)
        values.append((value, size))
    return values[-1][0]


def _loader_class() -> type[yaml.SafeLoader]:
    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return _loaders.setdefault(base, _fast_resolving(base))


_loaders: dict[type[yaml.SafeLoader], type[yaml.SafeLoader]] = {}


def _fast_resolving(base: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """``base`` with the same implicit tags resolved faster: the safe loader has no path
    resolvers, so descending and ascending are no-ops, and the tag of a plain scalar
    depends only on its text, so it is remembered (manifests repeat the same keys)."""
    resolvers = base.yaml_implicit_resolvers
    cache: dict[str, str] = {}

    class Loader(base):  # type: ignore[valid-type,misc]
        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            return None

        def ascend_resolver(self) -> None:
            return None

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is yaml.ScalarNode:
                if not implicit[0]:
                    return _STR
                tag = cache.get(value)
                if tag is not None:
                    return tag
                tag = _STR
                for candidate, regexp in resolvers.get(value[:1] if value else "", ()):
                    if regexp.match(value):
                        tag = candidate
                        break
                if len(cache) > 200_000:
                    cache.clear()
                cache[value] = tag
                return tag
            return "tag:yaml.org,2002:seq" if kind is yaml.SequenceNode else "tag:yaml.org,2002:map"

    return Loader


def _yaml_error_text(exc: yaml.YAMLError) -> tuple[int | None, str]:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = int(mark.line) + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return line, str(problem)


# --------------------------------------------------------------------------- reader


class ManifestReader:
    """Every object under ``paths``, streamed; files, documents and errors counted.

    Iterate it once. ``stdin`` is a binary stream for ``-`` (``sys.stdin.buffer``);
    ``progress(file, bytes_read, file_size_or_None, documents_so_far)`` is called as a file
    is read (at most every 64 KiB read); ``max_file_bytes`` caps each file and standard
    input. Raises NotFoundError (before reading anything) for a path that does not exist.
    """

    def __init__(
        self,
        paths: Sequence[str],
        *,
        stdin: IO[Any] | None = None,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        progress: Progress | None = None,
    ) -> None:
        self.paths = manifest_files(paths)
        self.stdin = stdin
        self.max_file_bytes = max_file_bytes
        self.progress = progress
        self.errors: list[ProbeError] = []
        self.files = len(self.paths)
        self.documents = 0
        self.skipped: dict[str, int] = {}

    def __iter__(self) -> Iterator[ManifestObject]:
        for path in self.paths:
            yield from self._file(path)

    # -- one file

    def _skip(self, what: str) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + 1

    def _error(self, file: str, detail: str, kind: ErrorKind = ErrorKind.MALFORMED) -> None:
        self.errors.append(ProbeError(kind, f"manifest:{file}", detail))

    def _file(self, path: str) -> Iterator[ManifestObject]:
        name = STDIN_NAME if path == "-" else path
        size: int | None = None
        if path == "-":
            if self.stdin is None:
                self._error(name, "no standard input", ErrorKind.MISSING)
                return
            # a text stream (sys.stdin) is read through its bytes
            raw: IO[bytes] = getattr(self.stdin, "buffer", self.stdin)
        else:
            try:
                raw, size = open_regular(path)
            except ProbeFailed as exc:
                self.errors.append(exc.record())
                return
        report = None
        if self.progress is not None:
            progress = self.progress
            last = [0]

            def report(done: int) -> None:
                if done - last[0] >= 65536 or done == size:
                    last[0] = done
                    progress(name, done, size, self.documents)

        reader = _CappedReader(raw, self.max_file_bytes, report)
        try:
            if name.lower().endswith(".json"):
                yield from self._json(name, reader)
            else:
                yield from self._yaml(name, reader)
        except FileTooLarge:
            self._error(
                name,
                f"larger than {_size_text(self.max_file_bytes)}: not read past that "
                "(raise the cap with --max-manifest-size)",
            )
        except OSError as exc:
            self._error(name, exc.strerror or str(exc), kind_from_oserror(exc))
        finally:
            if path != "-":
                raw.close()

    def _json(self, name: str, reader: _CappedReader) -> Iterator[ManifestObject]:
        blob = reader.read()
        while True:
            more = reader.read(1 << 20)
            if not more:
                break
            blob += more
        try:
            text = blob.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self._error(name, f"not UTF-8 text (byte {exc.start}): not a manifest")
            return
        del blob
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self._error(name, f"line {exc.lineno}: invalid JSON: {exc.msg}")
            return
        except RecursionError:  # the C decoder's own depth guard (about 1,000 levels)
            self._error(name, f"invalid JSON: nested deeper than {MAX_DEPTH} levels")
            return
        node: yaml.Node | None = None
        try:
            # JSON is (nearly) YAML: compose it once more, only to learn the lines.
            node = yaml.compose(text, Loader=_loader_class())
        except yaml.YAMLError:
            node = None  # lines unknown; the data itself parsed fine
        self.documents += 1
        yield from self._objects(data, node, name, 0, 1, None)

    def _yaml(self, name: str, reader: _CappedReader) -> Iterator[ManifestObject]:
        loader = _loader_class()(reader)
        index = 0
        try:
            while True:
                try:
                    if not loader.check_node():
                        break
                    node = loader.get_node()
                except yaml.reader.ReaderError as exc:
                    # bytes that are no text at all: binary data, a wrong encoding
                    self._error(name, f"not YAML text (byte {exc.position}: {exc.reason})")
                    return
                except yaml.YAMLError as exc:
                    line, problem = _yaml_error_text(exc)
                    where = f"line {line}: " if line is not None else ""
                    self._error(name, f"document {index}: {where}invalid YAML: {problem}")
                    return
                self.documents += 1
                if node is None:
                    index += 1
                    continue
                try:
                    data = construct(node)
                except _Malformed as exc:
                    self._error(
                        name, f"document {index}: line {exc.line}: invalid YAML: {exc.problem}"
                    )
                    index += 1
                    continue
                yield from self._objects(data, node, name, index, _node_line(node), None)
                index += 1
        finally:
            loader.dispose()

    def _objects(
        self,
        data: Any,
        node: yaml.Node | None,
        name: str,
        index: int,
        line: int | None,
        item: int | None,
    ) -> Iterator[ManifestObject]:
        if data is None:  # an empty document (Helm renders them for disabled templates)
            return
        if not isinstance(data, Mapping):
            self._skip("(not an object)")
            return
        kind = data.get("kind")
        if not isinstance(kind, str) or not kind:
            self._skip("(no kind)")
            return
        items = data.get("items")
        if kind.endswith("List") and isinstance(items, list):
            items_node = _child(node, "items")
            nodes = items_node.value if isinstance(items_node, yaml.SequenceNode) else []
            for i, entry in enumerate(items):
                entry_node = nodes[i] if i < len(nodes) else None
                entry_line = _node_line(entry_node) if entry_node is not None else line
                yield from self._objects(entry, entry_node, name, index, entry_line, i)
            return
        meta = data.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        api_version = data.get("apiVersion")
        obj_name = meta.get("name") or meta.get("generateName")
        namespace = meta.get("namespace")
        yield ManifestObject(
            kind=kind,
            api_version=api_version if isinstance(api_version, str) else None,
            name=obj_name if isinstance(obj_name, str) else None,
            namespace=namespace if isinstance(namespace, str) and namespace else None,
            file=name,
            document_index=index,
            item_index=item,
            line=line,
            data=data,
            node=node,
        )


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node if isinstance(value_node, yaml.Node) else None
    return None


def read_objects(
    paths: Sequence[str],
    *,
    stdin: IO[Any] | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    errors: list[ProbeError] | None = None,
) -> Iterator[ManifestObject]:
    """Stream the objects under ``paths`` (see :class:`ManifestReader`); problems are
    appended to ``errors`` when given (else dropped)."""
    reader = ManifestReader(paths, stdin=stdin, max_file_bytes=max_file_bytes)
    try:
        yield from reader
    finally:
        if errors is not None:
            errors.extend(reader.errors)


# --------------------------------------------------------------------------- objects -> pods


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _dig(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


_OWN_META = ("name", "namespace")


@frozen
class PodFields:
    """Lines of a workload's pod fields: pod paths (``spec``, ``containers``, 0, ...) are
    looked up under the workload's template (``spec.template.spec.containers[0]``)."""

    obj: ManifestObject
    prefix: Path  # where the pod-shaped part sits in the object: () for a Pod
    # one Location per line: a report of a million findings shares them
    _by_line: dict[int | None, Location] = field(default_factory=dict, repr=False, compare=False)

    def start(self) -> Location:
        """Where the workload object starts (its first line)."""
        found = self.obj.location()
        return self._by_line.setdefault(found.line, found)

    def location(self, path: Sequence[str | int]) -> Location:
        """The Location of the pod field ``path`` (its deepest existing part)."""
        # the pod's name and namespace are the workload's; its labels are the template's
        if self.prefix and len(path) > 1 and path[0] == "metadata" and path[1] in _OWN_META:
            found = self.obj.location(*path)
        else:
            found = self.obj.location(*self.prefix, *path)
        return self._by_line.setdefault(found.line, found)


def _pod_object(obj: ManifestObject) -> dict[str, Any] | None:
    """The Pod-shaped object a workload's template describes; None: not a workload kind."""
    if obj.kind == "Pod":
        return dict(obj.data)
    path = TEMPLATE_PATHS.get(obj.kind)
    if path is None:
        return None
    meta = _mapping(obj.data.get("metadata"))
    template = _mapping(_dig(obj.data, path))
    tmeta = _mapping(template.get("metadata"))
    pod_meta: dict[str, Any] = dict(tmeta)
    pod_meta["name"] = obj.name
    pod_meta["namespace"] = meta.get("namespace") or tmeta.get("namespace")
    pod_meta["ownerReferences"] = [{"kind": obj.kind, "name": str(obj.name), "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": template.get("spec")}


def is_workload(obj: ManifestObject) -> bool:
    """True for the kinds :func:`workload_pod` turns into a pod."""
    return obj.kind == "Pod" or obj.kind in TEMPLATE_PATHS


def workload_pod(obj: ManifestObject) -> tuple[Pod, PodFields] | None:
    """The pod a workload describes and the map of its fields to lines; None: not a workload.

    Raises ProbeFailed(malformed) naming the document and line when the workload has no pod
    spec or a field of the wrong shape (the API server would reject it).
    """
    pod_obj = _pod_object(obj)
    if pod_obj is None:
        return None
    prefix: Path = () if obj.kind == "Pod" else TEMPLATE_PATHS[obj.kind]
    where = f"manifest:{obj.location().text()}"
    from inspect8s.kube.convert import pod_from_json

    try:
        if not isinstance(pod_obj.get("spec"), Mapping):
            raise ProbeFailed(ErrorKind.MALFORMED, obj.source, f"{obj.kind} has no pod spec")
        pod = pod_from_json(pod_obj, source=obj.source)
    except ProbeFailed as exc:
        detail = exc.detail if exc.source == obj.source else f"{exc.source}: {exc.detail}"
        raise ProbeFailed(ErrorKind.MALFORMED, where, f"{obj.kind}: {detail}") from exc
    except (TypeError, AttributeError, ValueError, KeyError) as exc:
        # A field of the wrong type (a string where a list belongs, ...): the API server
        # would reject the object.
        raise ProbeFailed(
            ErrorKind.MALFORMED,
            where,
            f"{obj.kind}: unexpected structure ({type(exc).__name__}: {exc})",
        ) from exc
    return replace(pod, source=obj.source), PodFields(obj, prefix)


# --------------------------------------------------------------------------- all at once


@frozen
class ManifestSet:
    """The pods found in a set of manifest files, with their locations and the errors."""

    pods: tuple[Pod, ...]
    locations: tuple[Location, ...]  # parallel to ``pods``: where each object starts
    errors: tuple[ProbeError, ...]
    files: int  # files read (or tried)
    documents: int  # YAML/JSON documents parsed, empty ones included
    skipped_kinds: dict[str, int] = field(default_factory=dict)  # non-workload kind -> count
    fields: tuple[PodFields, ...] = ()  # parallel to ``pods``: their field lines


def load_manifests(
    paths: Sequence[str],
    *,
    stdin: IO[Any] | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> ManifestSet:
    """Read every manifest under ``paths`` into pods (see the module docstring).

    Raises NotFoundError for a path that does not exist; every other problem (unreadable
    file, invalid YAML/JSON, a workload of the wrong shape) is a ProbeError in the result.
    """
    reader = ManifestReader(paths, stdin=stdin, max_file_bytes=max_file_bytes)
    pods: list[Pod] = []
    locations: list[Location] = []
    fields: list[PodFields] = []
    errors: list[ProbeError] = []
    for obj in reader:
        try:
            found = workload_pod(obj)
        except ProbeFailed as exc:
            errors.append(exc.record())
            continue
        if found is None:
            reader._skip(obj.kind)
            continue
        pods.append(found[0])
        locations.append(obj.location())
        fields.append(found[1])
    return ManifestSet(
        pods=tuple(pods),
        locations=tuple(locations),
        errors=(*reader.errors, *errors),
        files=reader.files,
        documents=reader.documents,
        skipped_kinds=dict(sorted(reader.skipped.items())),
        fields=tuple(fields),
    )
