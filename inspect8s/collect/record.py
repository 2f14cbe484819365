"""``inspect8s record DIR``: run the node audit's collection and keep everything it read.

Host files and links go to ``DIR/host/<host path>`` as the collectors read them (through
:class:`RecordingHostFS`); runtime answers to ``DIR/runtime/*.json`` (through
:class:`RecordingClients`); the layout is in :mod:`inspect8s.collect.bundle` and
docs/output-formats.md. Credentials are redacted on the way in
(:mod:`inspect8s.collect.redact`: every environment value, every value of a secret-looking
key, flag or variable, URL passwords), keeping every line where it was so findings still
point at the right line. The bundle is private: directories 0700, files 0600, whatever the
umask. Host paths are read inside ``--root`` (:class:`HostFS`), so a link in the tree
never copies this machine's files into the bundle.
"""

from __future__ import annotations

import errno
import json
import os
import posixpath
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from inspect8s.collect.bundle import (
    BUNDLE_FORMAT,
    BUNDLE_VERSION,
    CRI_ANSWERS,
    DOCKER_ANSWERS,
    HOST_DIR,
    HOST_ERRORS,
    HOST_STAT,
    MANIFEST,
    UNIX_PEERS,
)
from inspect8s.collect.redact import redact_file, redact_json, redact_line
from inspect8s.errors import ErrorKind, ExitStatus, Inspect8sError, ProbeFailed, UsageError
from inspect8s.host.fs import FileStat, HostFS
from inspect8s.model import SocketInfo
from inspect8s.runtime.clients import LIVE, CRIAnswers, DockerAnswers, RuntimeClients

# --------------------------------------------------------------------------- recording sources


# Errors that make every later write fail too: the bundle cannot be completed.
_FATAL_WRITE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})
DIR_MODE = 0o700
FILE_MODE = 0o600


class BundleWriteError(Inspect8sError):
    """The bundle could not be written to the end (a full disk, a read-only filesystem)."""

    exit_code = ExitStatus.TOOL_ERROR


def bundle_path(path: str) -> str:
    """A host path as it is kept in a bundle: ``.`` and ``..`` taken out lexically (``..``
    stops at the root, as when it was read), so that no kept file lands outside ``host/``."""
    return posixpath.normpath("/" + path.lstrip("/")).lstrip("/")


def make_private_dirs(directory: Path, below: Path | None = None) -> None:
    """Create ``directory`` and its missing parents with mode 0700 (never looser, whatever
    the umask); stop at ``below``, which exists."""
    missing: list[Path] = []
    current = directory
    while current != below and not os.path.lexists(current):
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        os.mkdir(path, DIR_MODE)
        os.chmod(path, DIR_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Write a new bundle file with mode 0600, never through a link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


class RecordingHostFS(HostFS):
    """A HostFS that copies every file and link it reads into ``DIR/host`` (redacted),
    and notes sockets and read failures for the bundle manifest."""

    __slots__ = ("_dest", "errors", "notes", "redactions", "sockets", "stats")
    direct_reads = False  # every read goes through the methods below

    def __init__(self, root: str, dest: str) -> None:
        super().__init__(root)
        self._dest = Path(dest) / HOST_DIR
        make_private_dirs(self._dest, Path(dest))
        self.sockets: set[str] = set()
        self.errors: dict[str, dict[str, str]] = {}
        self.redactions: dict[str, int] = {}
        self.notes: list[str] = []
        self.stats: dict[str, dict[str, int | str]] = {}

    # -- writing into the bundle ---------------------------------------------------------

    def _target(self, path: str) -> Path | None:
        """Where a host path goes; None when a parent in the bundle is a symlink or a
        file (a path read through a link that was also recorded as a link)."""
        rel = bundle_path(path)
        if not rel:
            return None  # the root itself
        current = self._dest
        for part in rel.split("/")[:-1]:
            current = current / part
            if current.is_symlink() or (current.exists() and not current.is_dir()):
                self.notes.append(f"{path}: not kept (a parent was recorded as a link)")
                return None
        return self._dest / rel

    def _not_kept(self, path: str, exc: OSError, what: str = "not kept") -> None:
        if exc.errno in _FATAL_WRITE:
            raise BundleWriteError(
                f"record: writing the bundle failed at {path}: {exc.strerror or exc}; "
                f"the bundle under {self._dest.parent} is incomplete"
            ) from None
        self.notes.append(f"{path}: {what} ({exc.strerror or exc})")

    def _save(self, path: str, data: bytes) -> None:
        dest = self._target(path)
        if dest is None or dest.is_symlink() or dest.is_dir():
            return
        data, count = redact_file(path, data)
        if count:
            key = "/" + bundle_path(path)
            self.redactions[key] = self.redactions.get(key, 0) + count
        try:
            make_private_dirs(dest.parent, self._dest)
            write_private(dest, data)
        except OSError as exc:
            self._not_kept(path, exc)

    def _save_link(self, path: str, target: str) -> None:
        dest = self._target(path)
        if dest is None or os.path.lexists(dest):
            return
        try:
            make_private_dirs(dest.parent, self._dest)
            os.symlink(target, dest)
        except OSError as exc:
            self._not_kept(path, exc)

    def _save_dir(self, path: str) -> None:
        dest = self._target(path)
        if dest is None or os.path.lexists(dest):
            return
        try:
            make_private_dirs(dest, self._dest)
        except OSError as exc:
            self._not_kept(path, exc)

    def _failed(self, failure: ProbeFailed) -> None:
        if failure.kind is ErrorKind.MISSING:
            return  # absent in the bundle too
        path = failure.source.removeprefix("host:")
        self.errors[path] = {"kind": failure.kind.value, "detail": failure.detail}

    # -- HostFS --------------------------------------------------------------------------

    def read_bytes(self, path: str, *, limit: int | None = None) -> bytes:
        try:
            data = super().read_bytes(path, limit=limit)
        except ProbeFailed as exc:
            self._failed(exc)
            raise
        self._save(path, data)
        return data

    def readlink(self, path: str) -> str:
        try:
            target = super().readlink(path)
        except ProbeFailed as exc:
            self._failed(exc)
            raise
        self._save_link(path, target)
        return target

    def listdir(self, path: str) -> list[str]:
        try:
            names = super().listdir(path)
        except ProbeFailed as exc:
            self._failed(exc)
            raise
        self._save_dir(path)
        return names

    def glob_dir(self, path: str, suffix: str = "") -> list[str]:
        try:
            found = super().glob_dir(path, suffix)
        except ProbeFailed as exc:
            self._failed(exc)
            raise
        if self.is_dir(path):
            self._save_dir(path)
        return found

    def readlinks(
        self, dir_path: str, names: Sequence[str]
    ) -> tuple[dict[str, str], dict[str, ProbeFailed]]:
        try:
            targets, failures = super().readlinks(dir_path, names)
        except ProbeFailed as exc:
            self._failed(exc)
            raise
        base = dir_path.rstrip("/")
        for name, target in targets.items():
            self._save_link(f"{base}/{name}", target)
        for failure in failures.values():
            self._failed(failure)
        return targets, failures

    def read_many(
        self, dir_path: str, names: Sequence[str], *, single_read: bool = False
    ) -> tuple[dict[str, bytes], dict[str, ProbeFailed]]:
        try:
            contents, failures = super().read_many(dir_path, names, single_read=single_read)
        except ProbeFailed as exc:
            self._failed(exc)
            raise
        base = dir_path.rstrip("/")
        for name, data in contents.items():
            self._save(f"{base}/{name}", data)
        for failure in failures.values():
            self._failed(failure)
        return contents, failures

    def read_proc_dir(
        self, dir_path: str, files: Sequence[str], link_dir: str, links: Sequence[str]
    ) -> tuple[dict[str, bytes], dict[str, str], dict[str, ProbeFailed]]:
        try:
            contents, targets, failures = super().read_proc_dir(dir_path, files, link_dir, links)
        except ProbeFailed as exc:
            self._failed(exc)
            raise
        base = dir_path.rstrip("/")
        for name, data in contents.items():
            self._save(f"{base}/{name}", data)
        for name, target in targets.items():
            self._save_link(f"{base}/{link_dir}/{name}", target)
        for failure in failures.values():
            self._failed(failure)
        return contents, targets, failures

    def stat(self, path: str) -> FileStat:
        try:
            found = super().stat(path)
        except ProbeFailed as exc:
            self._failed(exc)
            raise
        self.stats[path] = {
            "mode": found.mode,
            "uid": found.uid,
            "gid": found.gid,
            "size": found.size,
            "kind": found.kind,
        }
        return found

    def socket_kind(self, path: str) -> str | None:
        kind = super().socket_kind(path)
        if kind == "socket":
            self.sockets.add(path)
            dest = self._target(path)
            if dest is not None and not os.path.lexists(dest):
                try:
                    make_private_dirs(dest.parent, self._dest)
                    write_private(dest, b"")
                except OSError as exc:
                    self._not_kept(path, exc, "marker not kept")
        elif kind == "dir":
            self._save_dir(path)
        return kind

    def is_socket(self, path: str) -> bool:
        return self.socket_kind(path) == "socket"

    def identity(self, path: str) -> tuple[str, str] | None:
        self.socket_kind(path)  # keeps a marker (or the directory) for replay
        return super().identity(path)

    def is_file(self, path: str) -> bool:
        found = super().is_file(path)
        if found:
            dest = self._target(path)
            if dest is not None and not os.path.lexists(dest):
                self._save(path, b"")  # a placeholder; a later read replaces it
        return found

    def is_dir(self, path: str) -> bool:
        found = super().is_dir(path)
        if found:
            self._save_dir(path)
        return found


class _Recorder:
    """Wraps a runtime client; keeps each answer (or failure) under its socket and call."""

    def __init__(self, inner: Any, calls: dict[str, Any], store: RecordingClients) -> None:
        self._inner = inner
        self._calls = calls
        self._store = store

    def _keep(self, call: str, fn: Any, key: str | None = None) -> Any:
        """Ask ``fn`` and keep its answer or failure under ``calls[call]``, or under
        ``calls[call][key]`` for a call asked once per object (verbose statuses)."""
        into = self._calls if key is None else self._calls.setdefault(call, {})
        slot = call if key is None else key
        try:
            answer = fn()
        except ProbeFailed as exc:
            detail, count = redact_line(exc.detail)
            self._store.redacted_answers += count
            into[slot] = {"error": {"kind": exc.kind.value, "source": exc.source, "detail": detail}}
            raise
        redacted, count = redact_json(answer)
        self._store.redacted_answers += count
        into[slot] = {"answer": redacted}
        return answer

    def close(self) -> None:
        self._inner.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None:
        self._inner.close()


class RecordingCRI(_Recorder):
    def __enter__(self) -> RecordingCRI:
        return self

    def version(self) -> dict[str, Any]:
        return dict(self._keep("Version", self._inner.version))

    def api_version(self) -> str:
        return str(self._keep("ApiVersion", self._inner.api_version))

    def version_v1alpha2(self) -> dict[str, Any]:
        from inspect8s.runtime.clients import version_v1alpha2

        return dict(self._keep("VersionV1alpha2", lambda: version_v1alpha2(self._inner)))

    def status(self, verbose: bool = True) -> dict[str, Any]:
        return dict(self._keep("Status", lambda: self._inner.status(verbose=True)))

    def runtime_config(self) -> dict[str, Any]:
        return dict(self._keep("RuntimeConfig", self._inner.runtime_config))

    def list_pod_sandboxes(self) -> dict[str, Any]:
        return dict(self._keep("ListPodSandbox", self._inner.list_pod_sandboxes))

    def list_containers(self) -> dict[str, Any]:
        return dict(self._keep("ListContainers", self._inner.list_containers))

    def pod_sandbox_status(self, sandbox_id: str, verbose: bool = True) -> dict[str, Any]:
        call = lambda: self._inner.pod_sandbox_status(sandbox_id, verbose=True)  # noqa: E731
        return dict(self._keep("PodSandboxStatus", call, key=sandbox_id))

    def container_status(self, container_id: str, verbose: bool = True) -> dict[str, Any]:
        call = lambda: self._inner.container_status(container_id, verbose=True)  # noqa: E731
        return dict(self._keep("ContainerStatus", call, key=container_id))


class RecordingDocker(_Recorder):
    def __enter__(self) -> RecordingDocker:
        return self

    def version(self) -> dict[str, Any]:
        return dict(self._keep("/version", self._inner.version))

    def containers(self) -> list[dict[str, Any]]:
        return list(self._keep("/containers/json", self._inner.containers))


class RecordingClients:
    """Live runtime clients whose answers are kept for ``runtime/*.json``."""

    def __init__(self, inner: RuntimeClients = LIVE) -> None:
        self.inner = inner
        self.cri_answers: dict[str, dict[str, Any]] = {}
        self.docker_answers: dict[str, dict[str, Any]] = {}
        self.redacted_answers = 0

    def cri(self, fs: HostFS, socket: SocketInfo, timeout: float) -> CRIAnswers:
        calls = self.cri_answers.setdefault(socket.ident, {})
        return RecordingCRI(self.inner.cri(fs, socket, timeout), calls, self)

    def docker(self, fs: HostFS, socket: SocketInfo, timeout: float) -> DockerAnswers:
        calls = self.docker_answers.setdefault(socket.ident, {})
        return RecordingDocker(self.inner.docker(fs, socket, timeout), calls, self)


# --------------------------------------------------------------------------- record


def _write_json(path: Path, data: Any) -> None:
    try:
        make_private_dirs(path.parent)
        write_private(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
    except OSError as exc:
        raise BundleWriteError(
            f"record: writing {path} failed: {exc.strerror or exc}; the bundle is incomplete"
        ) from None


def _prepare(directory: str) -> Path:
    """The bundle directory, new or empty, created private (0700); a directory that cannot
    be used is a usage error naming why."""
    out = Path(directory)
    try:
        if os.path.lexists(out):
            if not out.is_dir() or any(out.iterdir()):
                raise UsageError(f"record: {directory} exists and is not an empty directory")
            os.chmod(out, DIR_MODE)
        else:
            make_private_dirs(out)
        probe = out / ".inspect8s-write-test"
        write_private(probe, b"")
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(
            f"record: cannot write a bundle to {directory}: {exc.strerror or exc}"
        ) from None
    return out


def record_node(
    directory: str,
    *,
    root: str = "/",
    cri_endpoints: Sequence[str] = (),
    docker_hosts: Sequence[str] = (),
    timeout: float = 5.0,
    kubelet_version: str | None = None,
    tool_version: str = "",
) -> dict[str, Any]:
    """Collect the node as ``inspect8s audit`` does and write the bundle to ``directory``
    (which must be absent or empty). Returns the manifest written."""
    from inspect8s.collect.nodeaudit import collect_node_audit, unix_socket_peers
    from inspect8s.model import KubeletVersion

    out = _prepare(directory)
    try:
        fs = RecordingHostFS(root, directory)
    except OSError as exc:
        raise UsageError(
            f"record: cannot write a bundle to {directory}: {exc.strerror or exc}"
        ) from None
    clients = RecordingClients()
    peers: dict[int, int] = {}
    peer_error: str | None = None
    if fs.is_live:
        try:
            peers = unix_socket_peers()
        except ProbeFailed as exc:
            peer_error = exc.detail
    given = KubeletVersion(kubelet_version, "option") if kubelet_version else None
    snapshot = collect_node_audit(
        fs,
        clients=clients,
        cri_endpoints=cri_endpoints,
        docker_hosts=docker_hosts,
        timeout=timeout,
        kubelet_version=given,
        peers=peers,
        trace_pods=True,  # the bundle keeps what `pod --trace-runtime --from` reads
    )
    # Keep only the peer pairs of sockets somebody was found holding (the bundle stays small
    # and says nothing about unrelated connections).
    held = {h for h in _held_inodes(fs, snapshot)}
    kept_peers = {str(k): v for k, v in sorted(peers.items()) if k in held}
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tool": f"inspect8s {tool_version}".strip(),
        "root": fs.root,
        "hostname": snapshot.node.node.hostname if snapshot.node else None,
        "sockets": sorted(fs.sockets),
        "options": {"criEndpoints": list(cri_endpoints), "dockerHosts": list(docker_hosts)},
        "kubeletVersion": (
            {"version": snapshot.kubelet_version.version, "source": snapshot.kubelet_version.source}
            if snapshot.kubelet_version
            else None
        ),
        "redactions": {
            "files": dict(sorted(fs.redactions.items())),
            "runtimeAnswers": clients.redacted_answers,
        },
        "notes": fs.notes + ([f"unix socket peers not read: {peer_error}"] if peer_error else []),
        "recorderPid": fs.own_pid,
    }
    _write_json(out / MANIFEST, manifest)
    if fs.errors:
        _write_json(out / HOST_ERRORS, dict(sorted(fs.errors.items())))
    if fs.stats:
        _write_json(out / HOST_STAT, dict(sorted(fs.stats.items())))
    _write_json(out / CRI_ANSWERS, clients.cri_answers)
    _write_json(out / DOCKER_ANSWERS, clients.docker_answers)
    if kept_peers:
        _write_json(out / UNIX_PEERS, kept_peers)
    return manifest


def _held_inodes(fs: RecordingHostFS, snapshot: Any) -> set[int]:
    """Inodes of the docker sockets' server ends (listener and accepted connections)."""
    from inspect8s.collect.nodeaudit import parse_proc_net_unix

    if snapshot.docker_socket_holders is None:
        return set()
    wanted = {h.socket for h in snapshot.docker_socket_holders} | {
        e.endpoint for e in snapshot.docker_engines
    }
    found: set[int] = set()
    for path in Path(fs._dest / "proc").glob("*/net/unix"):
        try:
            rows = parse_proc_net_unix(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        found.update(inode for inode, _f, _s, p in rows if p in wanted)
    net = fs._dest / "proc" / "net" / "unix"
    if net.is_file():
        rows = parse_proc_net_unix(net.read_text(encoding="utf-8", errors="replace"))
        found.update(inode for inode, _f, _s, p in rows if p in wanted)
    return found
