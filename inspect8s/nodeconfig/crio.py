"""CRI-O's ``crio.conf`` and its drop-in directory ``crio.conf.d``.

CRI-O reads ``/etc/crio/crio.conf`` (``--config``/``-c``) and then every file of
``/etc/crio/crio.conf.d`` (``--config-dir``/``-d``) in lexical order; each later file
overrides the values it sets and leaves the others (crio.conf.d(5), crio.conf(5)). Here
tables merge key by key and any other value (lists included) is replaced whole.
Settings of interest: ``[crio.runtime]`` ``cgroup_manager`` (default ``systemd``),
``conmon_cgroup``, ``default_runtime``, ``[crio.runtime.runtimes.<name>]``
``runtime_path``/``runtime_type``/``runtime_root``, and ``[crio.image]`` ``pause_image``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inspect8s.errors import ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model import ConfigValue, CrioConfig, CrioRuntime
from inspect8s.model.frozen import frozen
from inspect8s.nodeconfig._parse import line_of, load_toml, read_config, toml_key_lines

DEFAULT_CONFIG = "/etc/crio/crio.conf"
DEFAULT_CONFIG_DIR = "/etc/crio/crio.conf.d"

ParsedFile = tuple[str, dict[str, Any], dict[tuple[str, ...], int]]


def parse_crio_file(text: str, path: str) -> ParsedFile:
    """Parse one CRI-O TOML file: (path, data, line index). Pure."""
    return path, load_toml(text, path), toml_key_lines(text)


def _leaves(
    data: dict[str, Any], prefix: tuple[str, ...], out: list[tuple[tuple[str, ...], object]]
) -> None:
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, dict) and value:
            _leaves(value, path, out)
        else:
            out.append((path, value))


def merge_crio_files(files: Sequence[ParsedFile]) -> CrioConfig:
    """Merge parsed CRI-O files in order (later wins per key). Pure."""
    settings: dict[str, ConfigValue] = {}
    tables: dict[tuple[str, ...], tuple[str, int | None]] = {}
    for path, data, index in files:
        leaves: list[tuple[tuple[str, ...], object]] = []
        _leaves(data, (), leaves)
        for keys, value in leaves:
            dotted = ".".join(keys)
            previous = settings.get(dotted)
            chain = () if previous is None else (previous, *previous.overrides)
            settings[dotted] = ConfigValue(dotted, value, path, line_of(index, keys), chain)
        runtimes = data.get("crio")
        for step in ("runtime", "runtimes"):
            runtimes = runtimes.get(step) if isinstance(runtimes, dict) else None
        if isinstance(runtimes, dict):
            for name in runtimes:
                key: tuple[str, ...] = ("crio", "runtime", "runtimes", str(name))
                tables[key] = (path, line_of(index, key))

    def get(dotted: str) -> ConfigValue | None:
        return settings.get(dotted)

    runtimes_out: dict[str, CrioRuntime] = {}
    for key, (path, line) in tables.items():
        name = key[-1]
        base = ".".join(key)
        runtimes_out[name] = CrioRuntime(
            name=name,
            runtime_path=get(f"{base}.runtime_path"),
            runtime_type=get(f"{base}.runtime_type"),
            runtime_root=get(f"{base}.runtime_root"),
            source=path,
            line=line,
            monitor_path=get(f"{base}.monitor_path"),
        )
    return CrioConfig(
        files=tuple(f[0] for f in files),
        settings=settings,
        runtimes=runtimes_out,
        cgroup_manager=get("crio.runtime.cgroup_manager"),
        conmon_cgroup=get("crio.runtime.conmon_cgroup"),
        default_runtime=get("crio.runtime.default_runtime"),
        pause_image=get("crio.image.pause_image"),
    )


def _flag(cmdline: Sequence[str] | None, names: tuple[str, ...]) -> str | None:
    if not cmdline:
        return None
    args = list(cmdline)
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def collect_crio_config(
    fs: HostFS, cmdline: Sequence[str] | None, errors: list[ProbeFailed]
) -> CrioConfig | None:
    """Read crio.conf and crio.conf.d through ``fs``; None when neither has a file.
    A malformed file is an error and is left out of the merge."""
    main = _flag(cmdline, ("--config", "-c")) or DEFAULT_CONFIG
    directory = _flag(cmdline, ("--config-dir", "-d")) or DEFAULT_CONFIG_DIR
    candidates = [main]
    try:
        candidates.extend(fs.glob_dir(directory, ".conf"))
    except ProbeFailed as exc:
        errors.append(exc)
    files: list[ParsedFile] = []
    for path in candidates:
        try:
            text = read_config(fs, path)
            if text is not None:
                files.append(parse_crio_file(text, path))
        except ProbeFailed as exc:
            errors.append(exc)
    return merge_crio_files(files) if files else None


# --------------------------------------------------------------------------- handlers

# CRI-O's default handler when ``default_runtime`` is not set: runc until 1.30, crun from
# 1.31 (cri-o 1.31 release notes, "crun is the default runtime").
_CRUN_DEFAULT_FROM = (1, 31)


@frozen
class CrioHandler:
    """What a CRI runtime handler name means to one CRI-O: its ``[crio.runtime.runtimes]``
    table, with where each value was set."""

    asked: str  # the handler as CRI names it; "" is the default handler
    name: str  # the table it resolves to ("runc" for "" with default_runtime = "runc")
    resolved_by: str | None  # how "" became ``name`` ("default_runtime (FILE:LINE)"); None: named
    runtime_path: str | None  # None: not set (CRI-O looks ``name`` up in $PATH)
    runtime_type: str  # "oci" (conmon runs the OCI runtime) | "vm" (a shim v2) | "pod"
    runtime_root: str | None  # None: not set (the OCI runtime's own default root)
    monitor_path: str | None  # None: not set (conmon from $PATH)
    defined_at: str | None  # "FILE:LINE" of its table; None: no table (CRI-O's built-in)
    sources: tuple[str, ...]  # every file and line that said something, in order


def _version_tuple(version: str | None) -> tuple[int, int] | None:
    parts = (version or "").lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def resolve_handler(config: CrioConfig | None, asked: str, version: str | None) -> CrioHandler:
    """The table CRI-O uses for handler ``asked`` (crio.conf(5): ``default_runtime`` names the
    handler of pods that ask for none; each ``[crio.runtime.runtimes.<name>]`` gives
    ``runtime_path`` (default: ``<name>`` in $PATH), ``runtime_type`` (default ``oci``),
    ``runtime_root`` and ``monitor_path`` (default: ``[crio.runtime] conmon``, then $PATH)).
    Pure; ``version`` (CRI-O's) decides the built-in default handler."""
    sources: list[str] = []
    name, resolved_by = asked, None
    if not asked:
        value = config.default_runtime if config is not None else None
        if value is not None and isinstance(value.value, str) and value.value:
            name = value.value
            resolved_by = f"default_runtime ({value.where()})"
            sources.append(f"host:{value.where()}")
        else:
            minor = _version_tuple(version)
            name = "crun" if minor is not None and minor >= _CRUN_DEFAULT_FROM else "runc"
            resolved_by = (
                f"CRI-O {version or '(version unknown)'}'s default handler "
                "(runc before 1.31, crun from 1.31)"
            )
    table = config.runtimes.get(name) if config is not None else None

    def text(value: ConfigValue | None) -> str | None:
        if value is None or not isinstance(value.value, str) or not value.value:
            return None
        sources.append(f"host:{value.where()}")
        return value.value

    defined_at = None
    if table is not None:
        defined_at = f"{table.source}:{table.line}" if table.line else table.source
        if f"host:{defined_at}" not in sources:
            sources.append(f"host:{defined_at}")
    runtime_path = text(table.runtime_path) if table else None
    runtime_type = (text(table.runtime_type) if table else None) or "oci"
    runtime_root = text(table.runtime_root) if table else None
    monitor = text(table.monitor_path) if table else None
    if monitor is None and config is not None:
        monitor = text(config.settings.get("crio.runtime.conmon"))
    return CrioHandler(
        asked=asked,
        name=name,
        resolved_by=resolved_by,
        runtime_path=runtime_path,
        runtime_type=runtime_type,
        runtime_root=runtime_root,
        monitor_path=monitor,
        defined_at=defined_at,
        sources=tuple(dict.fromkeys(sources)),
    )


def namespaces_dir(config: CrioConfig | None) -> str:
    """Where CRI-O's pinns pins a pod's namespaces (``[crio.runtime] namespaces_dir``,
    default ``/var/run``; files ``<dir>/{net,ipc,uts,user}ns/<id>``)."""
    value = config.settings.get("crio.runtime.namespaces_dir") if config is not None else None
    if value is not None and isinstance(value.value, str) and value.value:
        return value.value.rstrip("/")
    return "/var/run"
