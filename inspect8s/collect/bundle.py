"""Replay of a bundle written by ``inspect8s record``: host files and runtime answers.

Layout (version 1, documented in docs/output-formats.md, "Recorded bundles")::

    DIR/bundle.json            what, when, from where; sockets; facts such as the kubelet version
    DIR/host/...               every host file and link the collectors read, at its host path
    DIR/host-errors.json       host paths that could not be read, with kind and detail
    DIR/host-stat.json         {host path: {mode, uid, gid, size, kind}} of every file stat'ed
    DIR/runtime/cri.json       {socket path: {call: {"answer": ...} | {"error": {...}}}};
                               PodSandboxStatus and ContainerStatus: {call: {id: {...}}}
    DIR/runtime/docker.json    the same for Docker Engine sockets
    DIR/runtime/unix-peers.json  {socket inode: peer inode} of unix sockets (docker.sock holders)

Replaying reads ``host/`` through :class:`ReplayHostFS` (a :class:`HostFS` whose sockets
and unreadable paths are the recorded ones) and answers runtime calls from ``runtime/``
through :class:`ReplayClients`. A call that was not recorded fails as the runtime being
unavailable, never as a crash.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from inspect8s.errors import ErrorKind, ProbeFailed, UsageError
from inspect8s.host.fs import FileStat, HostFS
from inspect8s.model import SocketInfo
from inspect8s.runtime.clients import CRIAnswers, DockerAnswers

BUNDLE_FORMAT = "inspect8s-bundle"
BUNDLE_VERSION = 1
MANIFEST = "bundle.json"
HOST_DIR = "host"
HOST_ERRORS = "host-errors.json"
HOST_STAT = "host-stat.json"
CRI_ANSWERS = "runtime/cri.json"
DOCKER_ANSWERS = "runtime/docker.json"
UNIX_PEERS = "runtime/unix-peers.json"

JSONDict = dict[str, Any]
Answers = dict[str, dict[str, JSONDict]]  # socket path -> call -> {"answer"} | {"error"}


# The largest bundle file read back (bundle.json, runtime/*.json): a node with a thousand
# containers records a few tens of MB; anything far larger is not a bundle.
MAX_BUNDLE_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Bundle:
    """A bundle read from disk (answers are raw JSON; nothing is parsed into models here)."""

    path: str
    manifest: JSONDict
    cri: Answers = field(default_factory=dict)
    docker: Answers = field(default_factory=dict)
    host_errors: dict[str, JSONDict] = field(default_factory=dict)
    unix_peers: dict[int, int] = field(default_factory=dict)
    host_stat: dict[str, JSONDict] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return f"bundle:{self.path}"

    @property
    def sockets(self) -> tuple[str, ...]:
        return _strings(self.manifest.get("sockets"))

    @property
    def host_root(self) -> str:
        return str(Path(self.path) / HOST_DIR)

    @property
    def cri_endpoints(self) -> tuple[str, ...]:
        """The ``--cri-endpoint`` values given to ``record``; replay asks them again."""
        return _strings(_options(self.manifest).get("criEndpoints"))

    @property
    def docker_hosts(self) -> tuple[str, ...]:
        """The ``--docker-host`` values given to ``record``."""
        return _strings(_options(self.manifest).get("dockerHosts"))

    @property
    def recorder_pid(self) -> int | None:
        """The PID of the ``record`` process on its host (under ``/``): the top of ``host/``
        is what that process saw, in its own mount namespace."""
        pid = self.manifest.get("recorderPid")
        return pid if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 else None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _options(manifest: JSONDict) -> JSONDict:
    options = manifest.get("options")
    return options if isinstance(options, dict) else {}


def _read_json(files: HostFS, name: str, what: str, default: Any) -> Any:
    """A bundle file, read inside the bundle directory (a link in a bundle never leads
    out of it) and at most MAX_BUNDLE_FILE_BYTES."""
    where = f"bundle {files.root}"
    try:
        data = files.read_bytes(f"/{name}", limit=MAX_BUNDLE_FILE_BYTES + 1)
    except ProbeFailed as exc:
        if exc.kind is ErrorKind.MISSING:
            return default
        raise UsageError(
            f"{where}: {what} {name} is unreadable: {exc.detail}", param="bundle"
        ) from None
    if len(data) > MAX_BUNDLE_FILE_BYTES:
        raise UsageError(
            f"{where}: {what} {name} is larger than {MAX_BUNDLE_FILE_BYTES >> 20} MiB; "
            "not a bundle written by `inspect8s record`",
            param="bundle",
        )
    try:
        return json.loads(data)
    except RecursionError:
        raise UsageError(f"{where}: {what} {name} is nested too deeply", param="bundle") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{where}: {what} {name} is unreadable: {exc}", param="bundle") from None


# Manifest fields and the JSON types a bundle may give them (None: absent or null).
_MANIFEST_TYPES: dict[str, tuple[type, ...]] = {
    "sockets": (list,),
    "options": (dict,),
    "kubeletVersion": (dict,),
    "hostname": (str,),
    "root": (str,),
    "notes": (list,),
    "redactions": (dict,),
    "recorderPid": (int,),
}


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type ("object", "array", "number", ...)."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
             float: "number", type(None): "null"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def _check_manifest(path: str, manifest: JSONDict) -> None:
    for key, types in _MANIFEST_TYPES.items():
        value = manifest.get(key)
        if value is not None and not isinstance(value, types):
            raise UsageError(
                f"bundle {path}: {MANIFEST} field {key!r} is a JSON {json_type(value)}, "
                f"not {'an ' if types[0] in (dict, list) else 'a '}{json_type(types[0]())}; "
                "the bundle is damaged",
                param="bundle",
            )
    for key in ("criEndpoints", "dockerHosts"):
        value = _options(manifest).get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise UsageError(
                f"bundle {path}: {MANIFEST} options.{key} is not a list of strings; "
                "the bundle is damaged",
                param="bundle",
            )


def _peers(value: Any) -> dict[int, int]:
    peers: dict[int, int] = {}
    if isinstance(value, dict):
        for key, peer in value.items():
            try:
                peers[int(key)] = int(peer)
            except (TypeError, ValueError):
                continue  # a damaged entry is a peer not known
    return peers


def load_bundle(path: str) -> Bundle:
    """Open a bundle directory; a missing, foreign, damaged or newer bundle is a usage
    error (exit 2). Every file is read inside the directory: links in a bundle are data
    from another machine and never lead out of it."""
    base = Path(path)
    files = HostFS(path)
    if not files.is_dir("/") or not files.is_file(f"/{MANIFEST}"):
        raise UsageError(
            f"{path}: not a bundle written by `inspect8s record` (no {MANIFEST})", param="bundle"
        )
    manifest = _read_json(files, MANIFEST, "manifest", {})
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise UsageError(
            f"bundle {path}: {MANIFEST} is not an {BUNDLE_FORMAT} manifest", param="bundle"
        )
    version = manifest.get("version")
    if not isinstance(version, int) or version < 1 or version > BUNDLE_VERSION:
        raise UsageError(
            f"bundle {path}: format version {version!r} is not supported "
            f"(this inspect8s reads versions 1 to {BUNDLE_VERSION})",
            param="bundle",
        )
    _check_manifest(path, manifest)
    try:
        host_mode = os.lstat(base / HOST_DIR).st_mode
    except OSError:
        host_mode = None
    if host_mode is not None and not stat.S_ISDIR(host_mode):
        raise UsageError(
            f"bundle {path}: {HOST_DIR} is not a directory of the bundle", param="bundle"
        )
    cri = _read_json(files, CRI_ANSWERS, "runtime answers", {})
    docker = _read_json(files, DOCKER_ANSWERS, "runtime answers", {})
    errors = _read_json(files, HOST_ERRORS, "host errors", {})
    peers = _read_json(files, UNIX_PEERS, "unix peers", {})
    stats = _read_json(files, HOST_STAT, "host file modes", {})
    for name, value in (
        ("cri", cri),
        ("docker", docker),
        ("host errors", errors),
        ("host file modes", stats),
    ):
        if not isinstance(value, dict):
            raise UsageError(f"bundle {path}: {name} file is not a JSON object", param="bundle")
    return Bundle(
        path=str(base),
        manifest=manifest,
        cri=cri,
        docker=docker,
        host_errors=errors,
        unix_peers=_peers(peers),
        host_stat={str(k): v for k, v in stats.items() if isinstance(v, dict)},
    )


class ReplayHostFS(HostFS):
    """A HostFS over ``DIR/host`` that reports the recorded sockets and read failures."""

    __slots__ = ("_errors", "_recorder", "_sockets", "_stats")
    direct_reads = False  # every read goes through the methods below

    def __init__(self, bundle: Bundle) -> None:
        super().__init__(bundle.host_root)
        self._recorder = bundle.recorder_pid
        self._sockets = frozenset(bundle.sockets)
        self._stats = bundle.host_stat
        self._errors: dict[str, ProbeFailed] = {}
        for host_path, err in bundle.host_errors.items():
            if not isinstance(err, dict):
                err = {"kind": "malformed", "detail": "a damaged entry of host-errors.json"}
            self._errors[str(host_path)] = ProbeFailed(
                _kind(err.get("kind")), f"host:{host_path}", str(err.get("detail", ""))
            )

    @property
    def own_pid(self) -> int | None:
        return self._recorder

    def _recorded_failure(self, path: str) -> None:
        failure = self._errors.get(path)
        if failure is not None:
            raise ProbeFailed(failure.kind, failure.source, failure.detail)

    def read_bytes(self, path: str, *, limit: int | None = None) -> bytes:
        self._recorded_failure(path)
        return super().read_bytes(path, limit=limit)

    def readlink(self, path: str) -> str:
        self._recorded_failure(path)
        return super().readlink(path)

    def listdir(self, path: str) -> list[str]:
        self._recorded_failure(path)
        return super().listdir(path)

    def _apply(
        self,
        dir_path: str,
        names: Sequence[str],
        found: dict[str, Any],
        failures: dict[str, ProbeFailed],
        prefix: str = "",
    ) -> None:
        """Put the recorded failure in place of what the bundle holds (or lacks) for each
        of ``names``; failure keys get ``prefix``."""
        base = dir_path.rstrip("/")
        for name in names:
            failure = self._errors.get(f"{base}/{name}")
            if failure is not None:
                found.pop(name, None)
                failures[prefix + name] = ProbeFailed(failure.kind, failure.source, failure.detail)

    def readlinks(
        self, dir_path: str, names: Sequence[str]
    ) -> tuple[dict[str, str], dict[str, ProbeFailed]]:
        self._recorded_failure(dir_path)
        targets, failures = super().readlinks(dir_path, names)
        self._apply(dir_path, names, targets, failures)
        return targets, failures

    def read_many(
        self, dir_path: str, names: Sequence[str], *, single_read: bool = False
    ) -> tuple[dict[str, bytes], dict[str, ProbeFailed]]:
        self._recorded_failure(dir_path)
        contents, failures = super().read_many(dir_path, names, single_read=single_read)
        self._apply(dir_path, names, contents, failures)
        return contents, failures

    def read_proc_dir(
        self, dir_path: str, files: Sequence[str], link_dir: str, links: Sequence[str]
    ) -> tuple[dict[str, bytes], dict[str, str], dict[str, ProbeFailed]]:
        self._recorded_failure(dir_path)
        contents, targets, failures = super().read_proc_dir(dir_path, files, link_dir, links)
        self._apply(dir_path, files, contents, failures)
        link_path = f"{dir_path.rstrip('/')}/{link_dir}"
        if link_path in self._errors:
            failure = self._errors[link_path]
            failures[link_dir] = ProbeFailed(failure.kind, failure.source, failure.detail)
        before = len(failures)
        self._apply(link_path, links, targets, failures, prefix=f"{link_dir}/")
        if len(failures) > before and link_path not in self._errors:
            failures.pop(link_dir, None)  # the links were recorded as unreadable, not absent
        return contents, targets, failures

    def stat(self, path: str) -> FileStat:
        """The recorded mode and owner: the files in ``host/`` carry the modes of wherever
        the bundle was unpacked, not the node's. A path stat'ed at record time but absent
        then is in ``host-errors.json`` or absent from ``host/``; one never stat'ed is
        "unavailable", never guessed."""
        self._recorded_failure(path)
        entry = self._stats.get(path)
        if entry is None:
            if not self.exists(path):
                return super().stat(path)  # absent on the node too: the MISSING error
            raise ProbeFailed(
                ErrorKind.UNAVAILABLE, f"host:{path}", "file mode not recorded in the bundle"
            )
        try:
            return FileStat(
                int(entry["mode"]),
                int(entry["uid"]),
                int(entry["gid"]),
                int(entry.get("size", 0)),
                str(entry.get("kind", "file")),
            )
        except (KeyError, TypeError, ValueError):
            raise ProbeFailed(
                ErrorKind.MALFORMED, f"host:{path}", "bad entry in the bundle's host-stat.json"
            ) from None

    def socket_kind(self, path: str) -> str | None:
        if path in self._sockets:
            return "socket"
        return super().socket_kind(path)

    def is_socket(self, path: str) -> bool:
        return path in self._sockets

    def identity(self, path: str) -> tuple[str, str] | None:
        """A recorded socket's marker file is a socket here, whichever path reaches it."""
        found = super().identity(path)
        if found is None:
            return None
        marks = {super(ReplayHostFS, self).identity(s) for s in self._sockets}
        if any(m is not None and m[0] == found[0] for m in marks):
            return found[0], "socket"
        return found


def _kind(value: Any) -> ErrorKind:
    try:
        return ErrorKind(str(value))
    except ValueError:
        return ErrorKind.UNAVAILABLE


def _replayed(calls: Any, source: str, call: str) -> Any:
    if calls is not None and not isinstance(calls, Mapping):
        raise ProbeFailed(ErrorKind.MALFORMED, source, "damaged in the bundle (not an object)")
    entry = (calls or {}).get(call)
    if entry is None:
        raise ProbeFailed(ErrorKind.UNAVAILABLE, source, "not recorded in the bundle")
    if not isinstance(entry, Mapping):
        raise ProbeFailed(ErrorKind.MALFORMED, source, "damaged in the bundle (not an object)")
    if "error" in entry:
        err = entry["error"]
        if not isinstance(err, Mapping):
            err = {"kind": "malformed", "detail": "a damaged error entry in the bundle"}
        kind = _kind(err.get("kind"))
        raise ProbeFailed(kind, str(err.get("source") or source), str(err.get("detail", "")))
    return entry.get("answer")


def _object(answer: Any, source: str) -> JSONDict:
    """A recorded answer that must be a JSON object (null: an empty answer)."""
    if answer is None:
        return {}
    if not isinstance(answer, dict):
        raise ProbeFailed(
            ErrorKind.MALFORMED, source, f"the recorded answer is a JSON {json_type(answer)}"
        )
    return dict(answer)


class _ReplayBase:
    def close(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None:
        return None


class ReplayCRI(_ReplayBase):
    """CRI answers of one socket, read back from ``runtime/cri.json``."""

    def __init__(self, calls: Mapping[str, JSONDict] | None) -> None:
        self._calls = calls

    def __enter__(self) -> ReplayCRI:
        return self

    def _get(self, call: str) -> JSONDict:
        source = f"cri:{call}"
        return _object(_replayed(self._calls, source, call), source)

    def version(self) -> JSONDict:
        return self._get("Version")

    def api_version(self) -> str:
        source = "cri:ApiVersion"
        answer = _replayed(self._calls, source, "ApiVersion")
        if not isinstance(answer, str):
            raise ProbeFailed(ErrorKind.MALFORMED, source, "the recorded answer is not a string")
        return answer

    def version_v1alpha2(self) -> JSONDict:
        return self._get("VersionV1alpha2")

    def status(self, verbose: bool = True) -> JSONDict:
        return self._get("Status")

    def runtime_config(self) -> JSONDict:
        return self._get("RuntimeConfig")

    def list_pod_sandboxes(self) -> JSONDict:
        return self._get("ListPodSandbox")

    def list_containers(self) -> JSONDict:
        return self._get("ListContainers")

    def _item(self, call: str, key: str) -> JSONDict:
        source = f"cri:{call}"
        if self._calls is not None and not isinstance(self._calls, Mapping):
            raise ProbeFailed(ErrorKind.MALFORMED, source, "damaged in the bundle (not an object)")
        per_key = (self._calls or {}).get(call)
        return _object(_replayed(per_key, source, key), source)

    def pod_sandbox_status(self, sandbox_id: str, verbose: bool = True) -> JSONDict:
        return self._item("PodSandboxStatus", sandbox_id)

    def container_status(self, container_id: str, verbose: bool = True) -> JSONDict:
        return self._item("ContainerStatus", container_id)


class ReplayDocker(_ReplayBase):
    """Docker Engine answers of one socket, read back from ``runtime/docker.json``."""

    def __init__(self, calls: Mapping[str, JSONDict] | None) -> None:
        self._calls = calls

    def __enter__(self) -> ReplayDocker:
        return self

    def version(self) -> JSONDict:
        source = "docker:/version"
        return _object(_replayed(self._calls, source, "/version"), source)

    def containers(self) -> list[JSONDict]:
        source = "docker:/containers/json"
        found = _replayed(self._calls, source, "/containers/json")
        if found is None:
            return []
        if not isinstance(found, list):
            raise ProbeFailed(
                ErrorKind.MALFORMED, source, f"the recorded answer is a JSON {json_type(found)}"
            )
        return list(found)


class ReplayClients:
    """Runtime clients answering from a bundle (``RuntimeOptions.clients``)."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle

    def cri(self, fs: HostFS, socket: SocketInfo, timeout: float) -> CRIAnswers:
        return ReplayCRI(_answers_for(self.bundle.cri, socket))

    def docker(self, fs: HostFS, socket: SocketInfo, timeout: float) -> DockerAnswers:
        return ReplayDocker(_answers_for(self.bundle.docker, socket))


def _answers_for(answers: Answers, socket: SocketInfo) -> dict[str, JSONDict] | None:
    """A socket's recorded answers: filed under its key, or (bundles of one daemon per
    path) under its path or one of its aliases."""
    for name in (socket.ident, socket.path, *socket.aliases):
        if name in answers:
            return answers[name]
    return None
