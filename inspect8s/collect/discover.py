"""Discovery, before any runtime is asked: daemons, the sockets each serves, shims, the kubelet.

A socket is a file, however many paths lead to it (``/var/run`` is a link to ``/run``), and
a path means what it means *to the process that names it*: a daemon in a private mount
namespace binds ``/run/containerd/containerd.sock`` in its own ``/run``, which may not be
the root's. So every path a process names is resolved in that process's view
(``/proc/<pid>/root``, symlinks followed inside it: ``host/resolve.py``), and sockets are
told apart by the identity of the file reached (device and inode), never by the path.

Where sockets come from, for each one the list of who named it (``SocketInfo.named_by``):

* the listening unix sockets each runtime daemon holds: its ``/proc/<pid>/fd`` socket
  inodes that ``/proc/<pid>/net/unix`` lists as listeners (proc(5); flag
  ``__SO_ACCEPTCON``), with the path they were bound to;
* the daemons' own flags and configuration files (containerd ``--address`` /
  ``[grpc] address``, CRI-O ``--listen`` / ``[crio.api] listen``, dockerd ``-H`` /
  ``hosts``, cri-dockerd ``--container-runtime-endpoint``), else their default paths;
* who talks to them: the kubelet's endpoint (flag, config file, default), dockerd's
  ``--containerd``, each containerd shim's ``-address``;
* the well-known default paths under the root, and the endpoints the user gave.

Cost: two small reads per runtime daemon (its ``fd`` directory and its network
namespace's ``net/unix``, once per namespace), a few ``readlink``/``stat`` calls per
socket path; nothing per container or per other process.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from inspect8s.collect.errors import Errors
from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import FileStat, HostFS
from inspect8s.host.resolve import TooManyLinks, resolve_under
from inspect8s.model import KubeletProcess, ProcessInfo, RuntimeDaemon, Shim, SocketInfo
from inspect8s.nodeconfig import flags as daemon_flags
from inspect8s.runtime.endpoint import parse_endpoint

# Where runtimes put their sockets by default. /var/run is a link to /run on current
# distributions; a mounted host or a fixture tree may hold either, and both lead to one
# socket when they are the same file.
KNOWN_SOCKETS: tuple[tuple[str, str], ...] = (
    ("/run/containerd/containerd.sock", "containerd"),
    ("/var/run/containerd/containerd.sock", "containerd"),
    ("/run/k3s/containerd/containerd.sock", "containerd"),
    # containerd's ttrpc socket (shims talk to it); listed for exposure checks, never asked.
    ("/run/containerd/containerd.sock.ttrpc", "containerd-ttrpc"),
    ("/var/run/containerd/containerd.sock.ttrpc", "containerd-ttrpc"),
    ("/run/crio/crio.sock", "crio"),
    ("/var/run/crio/crio.sock", "crio"),
    ("/run/cri-dockerd.sock", "cri-dockerd"),
    ("/var/run/cri-dockerd.sock", "cri-dockerd"),
    ("/run/docker.sock", "dockerd"),
    ("/var/run/docker.sock", "dockerd"),
    ("/run/dockershim.sock", "dockershim"),
    ("/var/run/dockershim.sock", "dockershim"),
    ("/run/podman/podman.sock", "podman"),
)

# Daemon executable name -> runtime name.
DAEMONS: Mapping[str, str] = {
    "containerd": "containerd",
    "docker-containerd": "containerd",  # Docker <= 17.x shipped containerd under this name
    "dockerd": "dockerd",
    "crio": "crio",
    "cri-dockerd": "cri-dockerd",
}

# Which API a runtime's socket speaks.
CRI_RUNTIMES = ("containerd", "crio", "cri-dockerd", "dockershim")
ASKED_RUNTIMES = ("containerd", "crio", "cri-dockerd", "dockerd")

_SOCKET_LINK = re.compile(r"^socket:\[(\d+)\]$")
_SLASHES = re.compile(r"/{2,}")
_ACCEPTCON = 0x10000  # __SO_ACCEPTCON in /proc/net/unix "Flags": a listening socket


# --------------------------------------------------------------------------- processes


def find_daemons(processes: Mapping[int, ProcessInfo]) -> list[RuntimeDaemon]:
    """Runtime daemon processes, with the configuration file each was started with."""
    daemons: list[RuntimeDaemon] = []
    for pid in sorted(processes):
        proc = processes[pid]
        name = DAEMONS.get(proc.exe_name) or DAEMONS.get(proc.comm)
        if name is None:
            continue
        config, config_source = daemon_flags.config_file(name, proc.cmdline)
        daemons.append(
            RuntimeDaemon(
                name=name,
                pid=pid,
                version=None,
                config_file=config,
                cmdline=proc.cmdline,
                config_source=config_source if config else None,
                mount_ns=proc.namespaces.get("mnt"),
            )
        )
    return daemons


def _shim_kind(proc: ProcessInfo) -> str | None:
    name = proc.exe_name
    if name.startswith(("containerd-shim", "docker-containerd-shim")) or name == "conmon":
        return name
    return None


# conmon's options that take a value (conmon src/cli.c, GLib option entries): their values
# are never options, however they look (podman passes ``--exit-command-arg --runtime``).
CONMON_VALUED: frozenset[str] = frozenset(
    {
        "--api-version", "-b", "--bundle", "-c", "--cid", "-P", "--conmon-pidfile",
        "-p", "--container-pidfile", "-u", "--cuuid", "--exit-command", "--exit-command-arg",
        "--exit-delay", "--exit-dir", "--exec-process-spec", "--log-level", "-l",
        "--log-path", "--log-size-max", "--log-global-size-max", "--log-tag", "-n", "--name",
        "--persist-dir", "--restore", "--restore-arg", "-r", "--runtime", "--runtime-arg",
        "--runtime-opt", "--sdnotify-socket", "--seccomp-notify-plugins",
        "--seccomp-notify-socket", "--socket-dir-path", "-T", "--timeout",
    }
)  # fmt: skip


def conmon_option(argv: Sequence[str], names: tuple[str, ...]) -> list[str]:
    """The values of conmon option ``names`` in its ``argv`` (without argv[0])."""
    return daemon_flags.option_values(argv, names, CONMON_VALUED)


# The short-lived invocations of a shim v2 binary: containerd runs ``<shim> ... start``,
# which starts the long-lived shim and exits, and ``<shim> ... delete`` to clean up after a
# task (containerd runtime/v2 README, "Commands"). Neither monitors anything.
_SHIM_ACTIONS = frozenset({"start", "delete"})


def find_shims(processes: Mapping[int, ProcessInfo]) -> list[Shim]:
    """containerd shims and conmon monitors, with their direct children.

    A shim process run for ``start`` or ``delete``, and one with no command line (exiting,
    a zombie: its name then comes from the 15-character ``comm``, ``containerd-shim``) and
    no child, is caught between two moments of a container's life and is left out: it would
    be a monitor of nothing."""
    children: dict[int, list[int]] = {}
    for proc in processes.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    shims: list[Shim] = []
    for pid in sorted(processes):
        proc = processes[pid]
        kind = _shim_kind(proc)
        if kind is None:
            continue
        if proc.cmdline and proc.cmdline[-1] in _SHIM_ACTIONS:
            continue
        if (not proc.cmdline or proc.state == "Z") and not children.get(pid):
            continue
        argv = proc.cmdline[1:]
        address = None
        if kind == "conmon":
            cids = conmon_option(argv, ("-c", "--cid"))
            ident = cids[-1] if cids else None
            namespace = None
        else:
            ident = daemon_flags.last_flag(argv, ("-id", "--id"))
            namespace = daemon_flags.last_flag(argv, ("-namespace", "--namespace"))
            address = daemon_flags.last_flag(argv, ("-address", "--address"))
        shims.append(
            Shim(
                pid=pid,
                kind=kind,
                namespace=namespace,
                id=ident,
                child_pids=tuple(sorted(children.get(pid, ()))),
                address=address,
            )
        )
    return shims


def find_kubelet(processes: Mapping[int, ProcessInfo]) -> KubeletProcess | None:
    """The kubelet process (the first, if several), with its flags."""
    for pid in sorted(processes):
        proc = processes[pid]
        argv = proc.cmdline
        if proc.exe_name == "kubelet" or proc.comm == "kubelet":
            flags = daemon_flags.parse_flags(argv[1:])
            return KubeletProcess(pid=pid, version=None, cmdline=argv, flags=flags)
        # hyperkube kubelet ...
        if proc.exe_name == "hyperkube" and len(argv) > 1 and argv[1] == "kubelet":
            flags = daemon_flags.parse_flags(argv[2:])
            return KubeletProcess(pid=pid, version=None, cmdline=argv, flags=flags)
    return None


# --------------------------------------------------------------------------- views


class Views:
    """Where each process's paths are read: its own root (``/proc/<pid>/root``) when it runs
    in another mount namespace than the root's reference process and that view is readable
    (a live node or a mounted host), else the root itself (fixture trees and bundles hold
    one filesystem)."""

    def __init__(
        self, fs: HostFS, processes: Mapping[int, ProcessInfo], reference_mnt: int | None
    ) -> None:
        self._fs = fs
        self._processes = processes
        self._reference_mnt = reference_mnt
        self._bases: dict[int, str] = {}

    def base(self, pid: int | None) -> str:
        """``""`` (the root) or ``/proc/<pid>/root``."""
        if pid is None:
            return ""
        if pid not in self._bases:
            proc = self._processes.get(pid)
            mnt = proc.namespaces.get("mnt") if proc else None
            base = ""
            if mnt is not None and mnt != self._reference_mnt:
                candidate = f"/proc/{pid}/root"
                if self._fs.is_dir(candidate + "/"):
                    base = candidate
            self._bases[pid] = base
        return self._bases[pid]

    def resolve(self, path: str, pid: int | None = None) -> str:
        """The host path (under the root) of ``path`` as process ``pid`` means it."""
        return resolve_under(self.base(pid), path, self._fs.readlink_or_none)

    def fs_of(self, pid: int | None) -> HostFS:
        """A HostFS reading ``pid``'s view (the root itself when that is the same)."""
        base = self.base(pid)
        return self._fs if not base else ViewFS(self._fs, base)


class ViewFS(HostFS):
    """The filesystem as one process sees it, read through the root's HostFS: every path is
    resolved inside ``base`` (``/proc/<pid>/root``) and read with the parent's methods, so
    recording and replay see the same reads as everything else."""

    __slots__ = ("_base", "_parent")

    def __init__(self, parent: HostFS, base: str) -> None:
        super().__init__(parent.root)
        self._parent = parent
        self._base = base

    def _map(self, path: str) -> str:
        try:
            return resolve_under(self._base, path, self._parent.readlink_or_none)
        except TooManyLinks as exc:
            raise ProbeFailed(ErrorKind.MALFORMED, f"host:{self._base}{path}", str(exc)) from None

    def real(self, path: str) -> str:
        return self._parent.real(self._map(path))

    def read_bytes(self, path: str, *, limit: int | None = None) -> bytes:
        return self._parent.read_bytes(self._map(path), limit=limit)

    def read_text(self, path: str, *, limit: int | None = None) -> str:
        return self._parent.read_text(self._map(path), limit=limit)

    def read_text_or_none(self, path: str) -> str | None:
        return self._parent.read_text_or_none(self._map(path))

    def iter_chunks(self, path: str, *, chunk: int = 1 << 16) -> Iterator[bytes]:
        return self._parent.iter_chunks(self._map(path), chunk=chunk)

    def listdir(self, path: str) -> list[str]:
        return self._parent.listdir(self._map(path))

    def glob_dir(self, path: str, suffix: str = "") -> list[str]:
        names = self._parent.glob_dir(self._map(path), suffix)
        base = path.rstrip("/")
        return [f"{base}/{n.rsplit('/', 1)[-1]}" for n in names]

    def exists(self, path: str) -> bool:
        return self._parent.exists(self._map(path))

    def is_dir(self, path: str) -> bool:
        return self._parent.is_dir(self._map(path))

    def is_file(self, path: str) -> bool:
        return self._parent.is_file(self._map(path))

    def is_socket(self, path: str) -> bool:
        return self._parent.is_socket(self._map(path))

    def socket_kind(self, path: str) -> str | None:
        return self._parent.socket_kind(self._map(path))

    def stat(self, path: str) -> FileStat:
        return self._parent.stat(self._map(path))


# --------------------------------------------------------------------------- listeners


def parse_proc_net_unix(text: str) -> list[tuple[int, int, int, str]]:
    """``/proc/net/unix`` -> (inode, flags, state, path) for sockets with a path. Pure.

    Columns: Num RefCount Protocol Flags Type St Inode Path (proc(5)); flags 0x10000 is
    __SO_ACCEPTCON (a listener); st 1 unconnected, 3 connected. Abstract sockets (``@``)
    name no file and are left out.
    """
    out: list[tuple[int, int, int, str]] = []
    for line in text.splitlines()[1:]:
        parts = line.split(None, 7)
        if len(parts) < 8:
            continue
        try:
            flags, state, inode = int(parts[3], 16), int(parts[5], 16), int(parts[6])
        except ValueError:
            continue
        path = parts[7].strip()
        if path.startswith("/"):
            # The path as given to bind(2): "///run/x.sock" is /run/x.sock (path_resolution(7)).
            out.append((inode, flags, state, _SLASHES.sub("/", path)))
    return out


def socket_inodes(targets: Iterable[str]) -> set[int]:
    """Inodes of ``socket:[N]`` fd link targets. Pure."""
    out: set[int] = set()
    for target in targets:
        match = _SOCKET_LINK.match(target)
        if match:
            out.add(int(match.group(1)))
    return out


def daemon_listeners(
    fs: HostFS,
    daemons: Sequence[RuntimeDaemon],
    processes: Mapping[int, ProcessInfo],
    errors: Errors,
) -> dict[int, list[str]]:
    """The paths each daemon's listening unix sockets were bound to, by daemon PID.

    A daemon whose descriptors cannot be read (a fixture tree, or not root) is left out
    (its flags and configuration still name its sockets); a permission error is recorded.
    """
    tables: dict[int | None, dict[int, str]] = {}
    found: dict[int, list[str]] = {}
    for daemon in daemons:
        if daemon.pid is None:
            continue
        proc = processes.get(daemon.pid)
        netns = proc.namespaces.get("net") if proc else None
        fd_dir = f"/proc/{daemon.pid}/fd"
        try:
            names = fs.listdir(fd_dir)
            targets, _failures = fs.readlinks(fd_dir, names)
        except ProbeFailed as exc:
            if exc.kind is ErrorKind.PERMISSION:
                errors.add(exc)
            continue
        if netns not in tables:
            try:
                text = fs.read_text(f"/proc/{daemon.pid}/net/unix")
            except ProbeFailed as exc:
                errors.add(exc)
                text = ""
            tables[netns] = {
                inode: path
                for inode, flags, _state, path in parse_proc_net_unix(text)
                if flags & _ACCEPTCON
            }
        listeners = tables[netns]
        held = socket_inodes(targets.values())
        found[daemon.pid] = sorted({listeners[i] for i in held if i in listeners})
    return found


# --------------------------------------------------------------------------- the book


@dataclass
class _Entry:
    path: str  # the first path it was known by (a daemon's listening path wins)
    host_path: str  # resolved, under the root
    kind: str  # "socket" | "file" | "dir"
    runtime: str
    daemon_pid: int | None = None
    aliases: list[str] = field(default_factory=list)
    named_by: list[str] = field(default_factory=list)
    listening: bool = False


@dataclass
class SocketBook:
    """Every socket named on the node, one entry per file (device and inode)."""

    fs: HostFS
    views: Views
    errors: Errors
    entries: dict[str, _Entry] = field(default_factory=dict)  # identity -> entry
    missing: list[tuple[str, str]] = field(default_factory=list)  # (path, who named it)
    infos: dict[str, SocketInfo] = field(default_factory=dict)  # identity -> built by sockets()

    def identity(self, host_path: str) -> tuple[str, str] | None:
        """(identity, kind) of the file at ``host_path``; None when absent."""
        return self.fs.identity(host_path)

    def add(
        self,
        path: str,
        named_by: str,
        *,
        pid: int | None = None,
        runtime: str = "unknown",
        daemon_pid: int | None = None,
        listening: bool = False,
    ) -> str | None:
        """Note that ``named_by`` names ``path`` (as process ``pid`` sees it); returns the
        socket's identity, or None when nothing is there."""
        try:
            host_path = self.views.resolve(path, pid)
        except TooManyLinks as exc:
            self.errors.add(ProbeFailed(ErrorKind.MALFORMED, f"host:{path}", str(exc)))
            return None
        found = self.identity(host_path)
        if found is None:
            self.missing.append((path, named_by))
            return None
        ident, kind = found
        # Named by where it really is (no symlink on the way) unless its daemon said.
        base = self.views.base(pid)
        canonical = host_path[len(base) :] if base and host_path.startswith(base) else host_path
        entry = self.entries.get(ident)
        if entry is None:
            entry = self.entries[ident] = _Entry(
                path if listening else canonical or path, host_path, kind, runtime
            )
        elif listening and not entry.listening:
            # The daemon's own listening path is the socket's name; others become aliases.
            entry.aliases.append(entry.path)
            entry.path, entry.host_path = path, host_path
        if path != entry.path and path not in entry.aliases:
            entry.aliases.append(path)
        if named_by not in entry.named_by:
            entry.named_by.append(named_by)
        if entry.runtime == "unknown" or (listening and runtime != "unknown"):
            entry.runtime = runtime
        if daemon_pid is not None and entry.daemon_pid is None:
            entry.daemon_pid = daemon_pid
        entry.listening = entry.listening or listening
        return ident

    def sockets(self) -> list[SocketInfo]:
        """The book as SocketInfo, each with a key unique on the node."""
        entries = sorted(self.entries.items(), key=lambda i: (i[1].path, i[1].daemon_pid or 0))
        counts: dict[str, int] = {}
        for _, e in entries:
            counts[e.path] = counts.get(e.path, 0) + 1
        out: list[SocketInfo] = []
        for identity, e in entries:
            key = e.path if counts[e.path] == 1 else f"{e.path}@pid:{e.daemon_pid or '?'}"
            out.append(
                SocketInfo(
                    path=e.path,
                    runtime=e.runtime,
                    kind=e.kind,
                    aliases=tuple(sorted(set(e.aliases))),
                    daemon_pid=e.daemon_pid,
                    named_by=tuple(e.named_by),
                    address=e.host_path if e.host_path != e.path else None,
                    key="" if key == e.path else key,
                )
            )
            self.infos[identity] = out[-1]
        return out

    def ident_of(self, path: str, pid: int | None = None) -> str | None:
        """The identity of an already-noted socket as ``pid`` names it; None if unknown."""
        try:
            found = self.identity(self.views.resolve(path, pid))
        except TooManyLinks:
            return None
        return found[0] if found and found[0] in self.entries else None


_API_SOCKET_NAMES = {
    "containerd": "containerd.sock",
    "crio": "crio.sock",
    "cri-dockerd": "cri-dockerd.sock",
    "dockerd": "docker.sock",
}


def note_daemon_sockets(
    book: SocketBook,
    daemons: Sequence[RuntimeDaemon],
    listeners: Mapping[int, Sequence[str]],
    config_sockets: Mapping[int, Sequence[tuple[str, str]]],
) -> None:
    """Each daemon's API socket and its other listening sockets.

    A daemon listens on more than its API: containerd on ``<sock>.ttrpc`` (its shims) and a
    debug socket, dockerd on ``libnetwork/*.sock`` and ``metrics.sock``. The API socket is
    the listener its flags or configuration name (else its default path); with nothing
    named, the listener with the runtime's usual file name. The others are kept (they are
    runtime sockets a container should not mount) as ``<daemon>-internal`` and never asked.
    Without readable descriptors (a fixture tree, a bundle of an older version), what the
    flags and configuration name, else the default path, is taken as the API socket.
    """
    for d in daemons:
        if d.pid is None:
            continue
        who = f"{d.name} (PID {d.pid})"
        table = daemon_flags.DAEMON_FLAGS.get(d.name)
        named = list(config_sockets.get(d.pid, ()))
        if table is not None:
            for value in daemon_flags.flag_values(d.cmdline[1:], table.socket_flags):
                named.append((value, f"{who} {table.socket_flags[0]}"))
        named_paths = [(p, by) for p, by in ((parse_endpoint(v).path, by) for v, by in named) if p]
        if not named_paths and table is not None and table.default_socket:
            # No path given (or only fd:// socket activation, whose unit binds the default):
            # the default socket, under /var/run or /run (one directory on current systems,
            # two in a tree that does not keep the link).
            default = table.default_socket
            for path in dict.fromkeys((default, default.replace("/var/run/", "/run/", 1))):
                named_paths.append((path, f"{who} default socket"))
        heard = listeners.get(d.pid)
        if heard is None:
            for path, by in named_paths:
                book.add(path, by, pid=d.pid, runtime=d.name, daemon_pid=d.pid)
            continue
        wanted: set[str] = set()
        for path, _by in named_paths:
            found = book.identity(book.views.resolve(path, d.pid))
            if found is not None:
                wanted.add(found[0])
        usual = _API_SOCKET_NAMES.get(d.name)
        for bound in heard:
            found = book.identity(book.views.resolve(bound, d.pid))
            api = found is not None and found[0] in wanted
            if not wanted and usual and bound.rsplit("/", 1)[-1] == usual:
                api = True
            kind = d.name if api else f"{d.name}-internal"
            if bound.endswith(".ttrpc") and d.name == "containerd":
                kind = "containerd-ttrpc"
            book.add(bound, f"{who} listens", pid=d.pid, runtime=kind, daemon_pid=d.pid,
                     listening=True)  # fmt: skip
        for path, by in named_paths:
            # Named but not listened on: noted (a stale path), not the daemon's.
            book.add(path, by, pid=d.pid, runtime=d.name)


def note_known_sockets(book: SocketBook) -> None:
    """The runtimes' well-known default paths under the root."""
    for path, runtime in KNOWN_SOCKETS:
        book.add(path, "default path", runtime=runtime)


def owners(daemons: Sequence[RuntimeDaemon], sockets: Sequence[SocketInfo]) -> list[RuntimeDaemon]:
    """``daemons`` with the paths of the API sockets each serves filled in (its other
    listening sockets, ttrpc and internal ones, stay in the node's socket list)."""
    out = []
    for d in daemons:
        paths = [
            s.path
            for s in sockets
            if d.pid is not None and s.daemon_pid == d.pid and s.runtime == d.name
        ]
        out.append(replace(d, sockets=tuple(paths)))
    return out


def shim_daemons(
    shims: Sequence[Shim],
    book: SocketBook,
    daemons: Sequence[RuntimeDaemon],
    processes: Mapping[int, ProcessInfo],
) -> list[Shim]:
    """Each shim with the daemon it belongs to: a containerd shim's ``-address`` socket (as
    the shim sees it), a conmon's CRI-O (the one in its mount namespace, or the only one)."""
    by_ident = {ident: e.daemon_pid for ident, e in book.entries.items()}
    out = []
    for s in shims:
        pid: int | None = None
        if s.address:
            found = book.ident_of(s.address, s.pid)
            pid = by_ident.get(found) if found else None
            if pid is None:
                named = [d for d in daemons if d.name == "containerd" and s.address in d.sockets]
                pid = named[0].pid if len(named) == 1 else None
        elif s.kind == "conmon":
            crio = [d for d in daemons if d.name == "crio"]
            mnt = processes[s.pid].namespaces.get("mnt") if s.pid in processes else None
            same = [d for d in crio if d.mount_ns is not None and d.mount_ns == mnt]
            pick = same if len(same) == 1 else crio
            pid = pick[0].pid if len(pick) == 1 else None
        out.append(replace(s, daemon_pid=pid))
    return out
