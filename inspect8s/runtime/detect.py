"""Find container runtimes, their sockets, shims and the kubelet from a host scan.

Pure functions over ``ProcessInfo`` (from the one /proc pass) plus socket look-ups through
``HostFS``. Nothing here talks to a runtime; ``inspect8s.collect`` asks the runtimes afterwards.

Socket paths and daemon names: runtime-facts.md "Host-side mapping facts"; kubelet
flag syntax is pflag's (``--flag=value`` or ``--flag value``; booleans may stand alone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from inspect8s.host.fs import HostFS
from inspect8s.model import KubeletProcess, ProcessInfo, RuntimeDaemon, Shim, SocketInfo

# Where runtimes put their sockets by default, most specific first. /var/run is a symlink
# to /run on current distributions, but a mounted host or a fixture tree may hold either.
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

# Flags naming the socket each daemon listens on, and its configuration file.
_SOCKET_FLAGS: Mapping[str, tuple[str, ...]] = {
    "containerd": ("--address", "-a"),
    "dockerd": ("--host", "-H"),
    "crio": ("--listen",),
    "cri-dockerd": ("--container-runtime-endpoint",),
}
_CONFIG_FLAGS: Mapping[str, tuple[str, ...]] = {
    "containerd": ("--config", "-c"),
    "dockerd": ("--config-file",),
    "crio": ("--config",),
}
_DEFAULT_CONFIG: Mapping[str, str] = {
    "containerd": "/etc/containerd/config.toml",
    "dockerd": "/etc/docker/daemon.json",
    "crio": "/etc/crio/crio.conf",
}


def flag_values(argv: Sequence[str], names: Iterable[str]) -> list[str]:
    """Every value given for any of ``names`` in ``argv`` (``--f=v``, ``--f v``, ``-f v``)."""
    wanted = set(names)
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if "=" in arg and arg.split("=", 1)[0] in wanted:
            out.append(arg.split("=", 1)[1])
        elif arg in wanted and i + 1 < len(argv):
            out.append(argv[i + 1])
            i += 1
        i += 1
    return out


def parse_flags(argv: Sequence[str]) -> dict[str, str]:
    """pflag-style flags of a command line: ``--x=y`` -> y; ``--x y`` -> y; bare ``--x`` -> "true".

    A bare flag followed by a word that does not start with ``-`` takes it as its value;
    booleans are almost always written ``--x=true`` by kubeadm, so this is the common reading.
    The last occurrence wins, as in pflag.
    """
    flags: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-") and arg not in ("-", "--"):
            if "=" in arg:
                name, value = arg.split("=", 1)
                flags[name] = value
            elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                flags[arg] = argv[i + 1]
                i += 1
            else:
                flags[arg] = "true"
        i += 1
    return flags


def strip_unix(endpoint: str) -> str:
    """``unix:///run/x.sock`` -> ``/run/x.sock``; other strings unchanged."""
    if endpoint.startswith("unix://"):
        return endpoint[len("unix://") :]
    return endpoint


def find_sockets(fs: HostFS, extra: Iterable[tuple[str, str]] = ()) -> list[SocketInfo]:
    """The known runtime sockets present under the root (plus ``extra`` (path, runtime))."""
    seen: set[str] = set()
    found: list[SocketInfo] = []
    for path, runtime in (*KNOWN_SOCKETS, *extra):
        if path in seen:
            continue
        seen.add(path)
        kind = fs.socket_kind(path)
        if kind is not None:
            found.append(SocketInfo(path=path, runtime=runtime, kind=kind))
    return found


def find_daemons(processes: Mapping[int, ProcessInfo]) -> list[RuntimeDaemon]:
    """Runtime daemon processes, with the sockets and config file their command lines name."""
    daemons: list[RuntimeDaemon] = []
    for pid in sorted(processes):
        proc = processes[pid]
        name = DAEMONS.get(proc.exe_name) or DAEMONS.get(proc.comm)
        if name is None:
            continue
        argv = proc.cmdline[1:]
        # Only unix sockets are kept: "fd://" (systemd socket activation) and tcp:// name
        # no path on the host.
        sockets = tuple(
            path
            for path in (strip_unix(s) for s in flag_values(argv, _SOCKET_FLAGS.get(name, ())))
            if path.startswith("/")
        )
        configs = flag_values(argv, _CONFIG_FLAGS.get(name, ()))
        daemons.append(
            RuntimeDaemon(
                name=name,
                pid=pid,
                version=None,
                sockets=sockets,
                config_file=configs[-1] if configs else _DEFAULT_CONFIG.get(name),
                cmdline=proc.cmdline,
            )
        )
    return daemons


def _shim_kind(proc: ProcessInfo) -> str | None:
    name = proc.exe_name
    if name.startswith(("containerd-shim", "docker-containerd-shim")) or name == "conmon":
        return name
    return None


def find_shims(processes: Mapping[int, ProcessInfo]) -> list[Shim]:
    """containerd shims and conmon monitors, with their direct children."""
    children: dict[int, list[int]] = {}
    for proc in processes.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    shims: list[Shim] = []
    for pid in sorted(processes):
        proc = processes[pid]
        kind = _shim_kind(proc)
        if kind is None:
            continue
        argv = proc.cmdline[1:]
        if kind == "conmon":
            ids = flag_values(argv, ("-c", "--cid"))
            namespace = None
        else:
            ids = flag_values(argv, ("-id", "--id"))
            namespaces = flag_values(argv, ("-namespace", "--namespace"))
            namespace = namespaces[-1] if namespaces else None
        shims.append(
            Shim(
                pid=pid,
                kind=kind,
                namespace=namespace,
                id=ids[-1] if ids else None,
                child_pids=tuple(sorted(children.get(pid, ()))),
            )
        )
    return shims


def find_kubelet(processes: Mapping[int, ProcessInfo]) -> KubeletProcess | None:
    """The kubelet process (the first, if several), with its flags."""
    for pid in sorted(processes):
        proc = processes[pid]
        argv = proc.cmdline
        if proc.exe_name == "kubelet" or proc.comm == "kubelet":
            return KubeletProcess(pid=pid, version=None, cmdline=argv, flags=parse_flags(argv[1:]))
        # hyperkube kubelet ...
        if proc.exe_name == "hyperkube" and len(argv) > 1 and argv[1] == "kubelet":
            return KubeletProcess(pid=pid, version=None, cmdline=argv, flags=parse_flags(argv[2:]))
    return None
