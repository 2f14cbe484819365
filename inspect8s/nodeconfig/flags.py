"""Command-line flags of the node's daemons: one reader, one table per daemon.

Every daemon inspect8s reads parses its flags with Go's pflag (kubelet, containerd,
dockerd, cri-dockerd) or urfave/cli (CRI-O, conmon, containerd's shims use Go's ``flag``):
all accept ``--name=value`` and ``--name value``, and one or two dashes alike for long
names. The tables below name the flags that say where a daemon listens and which
configuration it reads, with each daemon's default paths when the flag is absent.

Sources: ``containerd --help`` (``--address/-a``, ``--config/-c``; default config
``/etc/containerd/config.toml``, socket ``/run/containerd/containerd.sock``); ``dockerd
--help`` (``--host/-H``, ``--config-file``, ``--containerd``, ``--exec-root``; default
``/etc/docker/daemon.json``, ``/var/run/docker.sock``); ``crio --help`` (``--listen``,
``--config/-c``, ``--config-dir/-d``; ``/etc/crio/crio.conf``, ``/etc/crio/crio.conf.d``,
``/var/run/crio/crio.sock``); cri-dockerd ``--help`` (``--container-runtime-endpoint``,
``--docker-endpoint``; ``unix:///var/run/cri-dockerd.sock``); containerd's
``runtime/v2/shim`` (``-namespace``, ``-id``, ``-address``); conmon ``--help`` (``-c/--cid``,
``-r/--runtime``, ``--runtime-arg``, ``-b/--bundle``, ``-n/--name``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from inspect8s.model.frozen import frozen


def flag_values(argv: Sequence[str], names: Iterable[str]) -> list[str]:
    """Every value given for any of ``names`` in ``argv`` (``--f=v``, ``--f v``, ``-f v``),
    in command-line order (the last one is the one a pflag program uses)."""
    wanted = set(names)
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if eq and name in wanted:
            out.append(value)
        elif arg in wanted and i + 1 < len(argv):
            out.append(argv[i + 1])
            i += 1
        i += 1
    return out


def option_values(argv: Sequence[str], names: Iterable[str], valued: Iterable[str]) -> list[str]:
    """Every value given for any of ``names`` in ``argv`` by a program whose options in
    ``valued`` (``names`` included) each take the next word as their value, whatever it
    looks like (GLib's option parser, conmon's: ``--exit-command-arg --runtime`` is a value,
    not the ``--runtime`` option); ``--opt=value`` works too."""
    wanted = set(names)
    takes = set(valued) | wanted
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if eq and name.startswith("-") and name in takes:
            if name in wanted:
                out.append(value)
        elif arg in takes and i + 1 < len(argv):
            if arg in wanted:
                out.append(argv[i + 1])
            i += 1
        i += 1
    return out


def last_flag(argv: Sequence[str], names: Iterable[str]) -> str | None:
    """The value a pflag program uses for ``names`` (the last given); None: not given."""
    found = flag_values(argv, names)
    return found[-1] if found else None


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


@frozen
class DaemonFlags:
    """Where one daemon listens and what it reads, as its flags and defaults say."""

    socket_flags: tuple[str, ...]  # flags naming the socket it serves (repeatable for dockerd)
    config_flags: tuple[str, ...]  # flags naming its main configuration file
    config_dir_flags: tuple[str, ...] = ()  # flags naming a drop-in directory
    default_config: str | None = None  # None: the daemon has no configuration file
    default_config_dir: str | None = None
    default_socket: str | None = None  # where it listens with no flag and no config key
    api: str = "cri"  # what the socket speaks: "cri" | "docker"


DAEMON_FLAGS: Mapping[str, DaemonFlags] = {
    "containerd": DaemonFlags(
        socket_flags=("--address", "-a"),
        config_flags=("--config", "-c"),
        default_config="/etc/containerd/config.toml",
        default_socket="/run/containerd/containerd.sock",
    ),
    "crio": DaemonFlags(
        socket_flags=("--listen",),
        config_flags=("--config", "-c"),
        config_dir_flags=("--config-dir", "-d"),
        default_config="/etc/crio/crio.conf",
        default_config_dir="/etc/crio/crio.conf.d",
        default_socket="/var/run/crio/crio.sock",
    ),
    "cri-dockerd": DaemonFlags(
        socket_flags=("--container-runtime-endpoint",),
        config_flags=(),
        default_socket="/var/run/cri-dockerd.sock",
    ),
    "dockerd": DaemonFlags(
        socket_flags=("--host", "-H"),
        config_flags=("--config-file",),
        default_config="/etc/docker/daemon.json",
        default_socket="/var/run/docker.sock",
        api="docker",
    ),
}


def absolute(path: str) -> str:
    """A daemon's relative path taken from ``/`` (daemons started by systemd run there)."""
    return path if path.startswith("/") else "/" + path


def config_file(daemon: str, cmdline: Sequence[str] | None) -> tuple[str | None, str]:
    """The configuration file ``daemon`` (a :data:`DAEMON_FLAGS` key) reads and what says so:
    ``(path, "--config")`` from its command line, else ``(default, "default path")``."""
    table = DAEMON_FLAGS.get(daemon)
    if table is None:
        return None, "none"
    given = last_flag(list(cmdline or ())[1:], table.config_flags) if table.config_flags else None
    if given:
        return absolute(given), next(f for f in table.config_flags if f.startswith("--"))
    return table.default_config, "default path"


def config_dir(daemon: str, cmdline: Sequence[str] | None) -> str | None:
    """The drop-in directory ``daemon`` reads (CRI-O's ``--config-dir``), else its default."""
    table = DAEMON_FLAGS.get(daemon)
    if table is None or not table.config_dir_flags:
        return None
    given = last_flag(list(cmdline or ())[1:], table.config_dir_flags)
    return absolute(given) if given else table.default_config_dir
