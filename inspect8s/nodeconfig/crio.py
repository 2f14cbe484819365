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
