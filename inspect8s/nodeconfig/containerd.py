"""containerd's ``config.toml`` (versions 1, 2 and 3) merged with its ``imports``.

How containerd loads it (``services/server/config/config.go``, ``LoadConfig``,
``resolveImports`` and ``mergeConfig`` in containerd 1.5 to 2.x):

* the main file is ``--config``/``-c`` or ``/etc/containerd/config.toml``;
* files are loaded breadth-first: the main file, then its ``imports``, then theirs; a
  file already loaded is skipped (no cycles);
* an import containing ``*`` is a glob, matched as given (an absolute pattern in
  practice; a relative one resolves against the daemon's working directory, ``/`` under
  systemd); any other relative import is relative to the importing file's directory;
  a named import that does not exist stops containerd, so it is an error here;
* merging: a later non-empty scalar (``version``, ``root``...) wins; lists
  (``disabled_plugins``, ``imports``) are appended; each ``[plugins."<id>"]`` section of
  a later file **replaces the whole section** of earlier ones (containerd issue #5837:
  "the configuration for the plugin is replaced entirely"), not key by key;
* ``version`` absent means 1 (containerd-config.toml(5)); version 1 uses short plugin
  names (``[plugins.cri]``) that containerd's ``v1Migrate`` maps to full ids.

The CRI plugin lives at ``io.containerd.grpc.v1.cri`` in versions 1 (as ``cri``) and 2,
and is split in version 3 into ``io.containerd.cri.v1.runtime`` (runtimes, cni) and
``io.containerd.cri.v1.images`` (snapshotter, registry, ``pinned_images.sandbox``)
(containerd docs/PLUGINS.md; containerd/containerd#10132).

tomllib keeps no positions, so lines come from
:func:`~inspect8s.nodeconfig._parse.toml_key_lines`, a scan of the text for table headers
and keys (the line of the nearest parent when a key sits in an inline table).
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Sequence
from typing import Any

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model import ConfigValue, ContainerdConfig, ContainerdRuntime, DeprecatedKey
from inspect8s.nodeconfig._parse import line_of, load_toml, malformed, read_config, toml_key_lines

DEFAULT_CONFIG = "/etc/containerd/config.toml"
CRI_V2 = "io.containerd.grpc.v1.cri"
CRI_V3_RUNTIME = "io.containerd.cri.v1.runtime"
CRI_V3_IMAGES = "io.containerd.cri.v1.images"
MAX_IMPORTED_FILES = 256

# containerd's v1Migrate table: version-1 short plugin names -> full ids.
V1_PLUGIN_IDS: dict[str, str] = {
    "cri": CRI_V2,
    "cgroups": "io.containerd.monitor.v1.cgroups",
    "linux": "io.containerd.runtime.v1.linux",
    "scheduler": "io.containerd.gc.v1.scheduler",
    "bolt": "io.containerd.metadata.v1.bolt",
    "task": "io.containerd.runtime.v2.task",
    "opt": "io.containerd.internal.v1.opt",
    "restart": "io.containerd.internal.v1.restart",
    "tracing": "io.containerd.internal.v1.tracing",
    "otlp": "io.containerd.tracing.processor.v1.otlp",
    "aufs": "io.containerd.snapshotter.v1.aufs",
    "btrfs": "io.containerd.snapshotter.v1.btrfs",
    "devmapper": "io.containerd.snapshotter.v1.devmapper",
    "native": "io.containerd.snapshotter.v1.native",
    "overlayfs": "io.containerd.snapshotter.v1.overlayfs",
    "zfs": "io.containerd.snapshotter.v1.zfs",
}

# Keys of io.containerd.grpc.v1.cri that containerd 2.x (config version 3) still reads:
# the CRI gRPC server's own settings. Anything else there belongs to the split plugins.
V3_GRPC_CRI_KEYS = frozenset(
    {
        "disable_tcp_service", "stream_server_address", "stream_server_port",
        "stream_idle_timeout", "enable_tls_streaming", "x509_key_pair_streaming",
    }
)  # fmt: skip

_SECRET_KEYS = frozenset({"password", "auth", "identitytoken", "identity_token", "token"})

# containerd RELEASES.md "Deprecated config properties" and "Deprecated features".
_REMOVED_20 = "2.0"
_REMOVED_22 = "2.2"

ParsedFile = tuple[str, dict[str, Any], dict[tuple[str, ...], int]]


# Config versions containerd reads: 1 and 2 (1.x), 1 to 3 (2.x); 0 counts as absent.
SUPPORTED_VERSIONS = (0, 1, 2, 3)

# Keys whose TOML type containerd's decoder insists on (it refuses to start otherwise:
# "toml: cannot decode ..."), in the CRI sections of each version; "*" is a runtime name.
_CRI_TYPES: tuple[tuple[tuple[str, ...], type], ...] = (
    (("sandbox_image",), str),
    (("systemd_cgroup",), bool),
    (("containerd", "snapshotter"), str),
    (("containerd", "default_runtime_name"), str),
    (("containerd", "runtimes"), dict),
    (("containerd", "runtimes", "*"), dict),
    (("containerd", "runtimes", "*", "runtime_type"), str),
    (("containerd", "runtimes", "*", "options"), dict),
    (("containerd", "runtimes", "*", "options", "SystemdCgroup"), bool),
    (("containerd", "runtimes", "*", "options", "BinaryName"), str),
    (("registry", "config_path"), str),
    (("registry", "mirrors"), dict),
    (("registry", "configs"), dict),
    (("cni", "bin_dir"), str),
    (("cni", "conf_dir"), str),
    (("snapshotter",), str),
    (("pinned_images",), dict),
    (("pinned_images", "sandbox"), str),
)
_CRI_SECTIONS = ("cri", CRI_V2, CRI_V3_RUNTIME, CRI_V3_IMAGES)
_TYPE_NAMES = {str: "a string", bool: "a boolean (true or false)", dict: "a table",
               int: "an integer"}  # fmt: skip
_TOP_TYPES: tuple[tuple[str, type], ...] = (("root", str), ("state", str), ("temp", str))


def _found(
    table: Any, keys: tuple[str, ...], at: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Any]]:
    """Values at ``keys`` below ``table`` (``*`` matches every key), with their paths."""
    if not keys:
        return [(at, table)]
    if not isinstance(table, dict):
        return []
    head, rest = keys[0], keys[1:]
    names = [str(k) for k in table] if head == "*" else [head] if head in table else []
    return [hit for name in names for hit in _found(table[name], rest, (*at, name))]


def _check_types(data: dict[str, Any], text: str, path: str) -> None:
    """Raise ProbeFailed(malformed) for a value of a type containerd would not decode."""
    index: dict[tuple[str, ...], int] | None = None

    def fail(keys: tuple[str, ...], value: Any, wanted: type) -> ProbeFailed:
        nonlocal index
        index = index if index is not None else toml_key_lines(text)
        what = f"{_dotted(keys)} is {value!r}, expected {_TYPE_NAMES[wanted]}"
        return malformed(path, what, line_of(index, keys))

    for key, wanted in _TOP_TYPES:
        if key in data and not isinstance(data[key], wanted):
            raise fail((key,), data[key], wanted)
    plugins = data.get("plugins") or {}
    for section in _CRI_SECTIONS:
        body = plugins.get(section)
        if body is None:
            continue
        if not isinstance(body, dict):
            raise fail(("plugins", section), body, dict)
        for keys, wanted in _CRI_TYPES:
            for at, value in _found(body, keys):
                ok = isinstance(value, wanted) and not (
                    wanted is not bool and isinstance(value, bool)
                )
                if not ok:
                    raise fail(("plugins", section, *at), value, wanted)


def parse_containerd_file(text: str, path: str) -> ParsedFile:
    """Parse one containerd TOML file: (path, data, line index). Pure.

    A ``version`` containerd does not read (``version = 99``) and a key of the wrong
    type (``sandbox_image = 12``) are malformed: containerd refuses such a file."""
    data = load_toml(text, path)
    version = data.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise malformed(path, f"version is {version!r}, expected an integer", 1)
    if version is not None and version not in SUPPORTED_VERSIONS:
        line = toml_key_lines(text).get(("version",))
        raise malformed(
            path, f"version {version} is not a config version containerd reads (1, 2 or 3)", line
        )
    for key in ("imports", "disabled_plugins", "required_plugins"):
        value = data.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            index = toml_key_lines(text)
            raise malformed(path, f"{key} is not a list of strings", index.get((key,)))
    plugins = data.get("plugins")
    if plugins is not None and not isinstance(plugins, dict):
        raise malformed(path, "plugins is not a table", toml_key_lines(text).get(("plugins",)))
    _check_types(data, text, path)
    return path, data, toml_key_lines(text)


def redact(value: object, *, everything: bool = False) -> object:
    """A copy of ``value`` with credentials (password, auth, tokens) replaced by ``***``."""
    if isinstance(value, dict):
        return {
            k: redact(v, everything=everything or str(k).lower() in _SECRET_KEYS)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, everything=everything) for v in value]
    return "***" if everything else value


def _get(table: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(table, dict):
            return None
        table = table.get(key)
    return table


class _Section:
    """A plugin section as merged: the file it came from and the name written there."""

    __slots__ = ("data", "index", "name", "path")

    def __init__(
        self, path: str, name: str, data: dict[str, Any], index: dict[tuple[str, ...], int]
    ) -> None:
        self.path, self.name, self.data, self.index = path, name, data, index

    def value(self, *keys: str) -> ConfigValue | None:
        found = _get(self.data, *keys)
        if found is None:
            return None
        return self.cv(keys, found)

    def cv(self, keys: Sequence[str], value: object) -> ConfigValue:
        tpath = ("plugins", self.name, *keys)
        return ConfigValue(
            key=_dotted(tpath), value=value, source=self.path, line=line_of(self.index, tpath)
        )


def _dotted(parts: Sequence[str]) -> str:
    out = []
    for part in parts:
        bare = part and all(ch.isalnum() or ch in "-_" for ch in part)
        out.append(part if bare else '"' + part.replace('"', '\\"') + '"')
    return ".".join(out)


def merge_containerd_files(files: Sequence[ParsedFile]) -> ContainerdConfig:
    """Merge parsed files (main first, in load order) as containerd does. Pure."""
    if not files:
        raise ValueError("no containerd config files")
    version_value: ConfigValue | None = None
    grpc_address: ConfigValue | None = None
    disabled: list[ConfigValue] = []
    sections: dict[str, _Section] = {}
    for path, data, index in files:
        address = _get(data, "grpc", "address")
        if isinstance(address, str) and address:
            grpc_address = ConfigValue(
                "grpc.address", address, path, index.get(("grpc", "address")), _chain(grpc_address)
            )
        version = data.get("version")
        if isinstance(version, int) and version != 0:
            version_value = ConfigValue(
                "version", version, path, index.get(("version",)), _chain(version_value)
            )
        for name in data.get("disabled_plugins") or ():
            disabled.append(
                ConfigValue("disabled_plugins", name, path, index.get(("disabled_plugins",)))
            )
        for name, section in (data.get("plugins") or {}).items():
            if isinstance(section, dict):
                sections[str(name)] = _Section(path, str(name), section, index)
    version = int(version_value.value) if version_value is not None else 1  # type: ignore[call-overload]
    if version == 1:
        sections = {V1_PLUGIN_IDS.get(n, n): s for n, s in sections.items()}

    plugins = {
        pid: ConfigValue(_dotted(("plugins", s.name)), redact(s.data), s.path,
                         line_of(s.index, ("plugins", s.name)))
        for pid, s in sections.items()
    }  # fmt: skip
    deprecated: list[DeprecatedKey] = []
    grpc_cri = sections.get(CRI_V2)
    if version >= 3:
        runtime_sec, images_sec = sections.get(CRI_V3_RUNTIME), sections.get(CRI_V3_IMAGES)
        cri_ids: tuple[str, ...] = (CRI_V3_RUNTIME, CRI_V3_IMAGES)
        if grpc_cri is not None:
            for key, value in grpc_cri.data.items():
                if key not in V3_GRPC_CRI_KEYS:
                    deprecated.append(
                        DeprecatedKey(
                            "v2-key-in-v3",
                            grpc_cri.cv((key,), redact(value)),
                            _REMOVED_20,
                            f"in a version 3 config, move it under {CRI_V3_RUNTIME} or "
                            f"{CRI_V3_IMAGES}; containerd 2.x ignores it here",
                        )
                    )
        sandbox = images_sec.value("pinned_images", "sandbox") if images_sec else None
        snapshotter = images_sec.value("snapshotter") if images_sec else None
        registry_sec = images_sec
    else:
        runtime_sec = images_sec = grpc_cri
        cri_ids = (CRI_V2,)
        sandbox = grpc_cri.value("sandbox_image") if grpc_cri else None
        snapshotter = grpc_cri.value("containerd", "snapshotter") if grpc_cri else None
        registry_sec = grpc_cri

    runtimes: dict[str, ContainerdRuntime] = {}
    default_name: ConfigValue | None = None
    if runtime_sec is not None:
        default_name = runtime_sec.value("containerd", "default_runtime_name")
        table = _get(runtime_sec.data, "containerd", "runtimes")
        if isinstance(table, dict):
            for name, spec in table.items():
                if isinstance(spec, dict):
                    runtimes[str(name)] = _runtime(runtime_sec, str(name), spec)

    for sec in {id(s): s for s in (grpc_cri, runtime_sec, images_sec) if s is not None}.values():
        if version < 3 or sec is not grpc_cri:
            deprecated.extend(_deprecated_in_cri(sec))
    for pid, sec in sections.items():
        deprecated.extend(_deprecated_plugin(pid, sec))

    mirrors: dict[str, ConfigValue] = {}
    configs: dict[str, ConfigValue] = {}
    auths: dict[str, ConfigValue] = {}
    config_path: ConfigValue | None = None
    if registry_sec is not None:
        config_path = registry_sec.value("registry", "config_path")
        for target, key, secret in ((mirrors, "mirrors", False), (configs, "configs", False),
                                    (auths, "auths", True)):  # fmt: skip
            table = _get(registry_sec.data, "registry", key)
            if isinstance(table, dict):
                for host, spec in table.items():
                    value = _get(spec, "endpoint") if key == "mirrors" else spec
                    target[str(host)] = registry_sec.cv(
                        ("registry", key, str(host)), redact(value, everything=secret)
                    )

    return ContainerdConfig(
        path=files[0][0],
        version=version,
        version_value=version_value,
        files=tuple(f[0] for f in files),
        plugins=plugins,
        disabled_plugins=tuple(disabled),
        runtimes=runtimes,
        default_runtime_name=default_name,
        sandbox_image=sandbox,
        snapshotter=snapshotter,
        registry_config_path=config_path,
        registry_mirrors=mirrors,
        registry_configs=configs,
        registry_auths=auths,
        deprecated_keys=tuple(deprecated),
        cri_plugin_ids=cri_ids,
        grpc_address=grpc_address,
    )


def _chain(previous: ConfigValue | None) -> tuple[ConfigValue, ...]:
    return () if previous is None else (previous, *previous.overrides)


def _runtime(sec: _Section, name: str, spec: dict[str, Any]) -> ContainerdRuntime:
    base = ("containerd", "runtimes", name)
    runtime_type = spec.get("runtime_type")
    options = spec.get("options")
    opts: dict[str, ConfigValue] = {}
    if isinstance(options, dict):
        opts = {str(k): sec.cv((*base, "options", str(k)), v) for k, v in options.items()}
    return ContainerdRuntime(
        name=name,
        runtime_type=sec.cv((*base, "runtime_type"), runtime_type) if runtime_type else None,
        options=opts,
        source=sec.path,
        line=line_of(sec.index, ("plugins", sec.name, *base)),
    )


def _deprecated_in_cri(sec: _Section) -> list[DeprecatedKey]:
    """Removed or deprecated keys inside a CRI plugin section."""
    out: list[DeprecatedKey] = []

    def flag(keys: tuple[str, ...], kid: str, removed: str, replacement: str) -> None:
        found = _get(sec.data, *keys)
        if found is not None:
            out.append(DeprecatedKey(kid, sec.cv(keys, redact(found)), removed, replacement))

    flag(
        ("systemd_cgroup",),
        "systemd_cgroup",
        _REMOVED_20,
        "set SystemdCgroup = true in the runc runtime's options",
    )
    flag(("disable_cgroup",), "disable_cgroup", _REMOVED_20, "remove it (no replacement)")
    flag(
        ("containerd", "default_runtime"),
        "default_runtime",
        _REMOVED_20,
        "use default_runtime_name and a runtimes.<name> table",
    )
    flag(
        ("containerd", "untrusted_workload_runtime"),
        "untrusted_workload_runtime",
        _REMOVED_20,
        "define a runtime handler and select it with a RuntimeClass",
    )
    flag(
        ("registry", "mirrors"),
        "registry.mirrors",
        _REMOVED_22,
        "use registry.config_path with hosts.toml files",
    )
    flag(
        ("registry", "configs"),
        "registry.configs",
        _REMOVED_22,
        "use registry.config_path with hosts.toml files",
    )
    flag(
        ("registry", "auths"),
        "registry.auths",
        _REMOVED_22,
        "use ImagePullSecrets or a credential helper",
    )
    flag(("cni", "bin_dir"), "cni.bin_dir", _REMOVED_22, "use cni.bin_dirs (a list)")
    snap = _get(sec.data, "containerd", "snapshotter")
    if snap == "aufs":
        flag(("containerd", "snapshotter"), "aufs", _REMOVED_20, "use the overlayfs snapshotter")
    tables: list[tuple[tuple[str, ...], object]] = [
        (("containerd", "default_runtime"), _get(sec.data, "containerd", "default_runtime")),
        (("containerd", "untrusted_workload_runtime"),
         _get(sec.data, "containerd", "untrusted_workload_runtime")),
    ]  # fmt: skip
    runtimes = _get(sec.data, "containerd", "runtimes")
    if isinstance(runtimes, dict):
        tables.extend((("containerd", "runtimes", str(n)), s) for n, s in runtimes.items())
    for base, spec in tables:
        if not isinstance(spec, dict):
            continue
        flag(
            (*base, "runtime_engine"),
            "runtime_engine",
            _REMOVED_20,
            "remove it; set the shim with runtime_type",
        )
        flag((*base, "runtime_root"), "runtime_root", _REMOVED_20, "use options.Root")
        flag(
            (*base, "options", "CriuPath"),
            "CriuPath",
            _REMOVED_20,
            "remove it; runc finds criu in $PATH",
        )
        rtype = spec.get("runtime_type")
        if rtype == "io.containerd.runtime.v1.linux":
            flag(
                (*base, "runtime_type"),
                "runtime.v1.linux",
                _REMOVED_20,
                'use runtime_type = "io.containerd.runc.v2"',
            )
        elif rtype == "io.containerd.runc.v1":
            flag(
                (*base, "runtime_type"),
                "runc.v1",
                _REMOVED_20,
                'use runtime_type = "io.containerd.runc.v2"',
            )
    return out


def _deprecated_plugin(pid: str, sec: _Section) -> list[DeprecatedKey]:
    """Whole plugin sections for plugins containerd removed or is removing."""
    known = {
        "io.containerd.runtime.v1.linux": ("runtime.v1.linux", _REMOVED_20,
                                           "use the io.containerd.runc.v2 shim"),
        "io.containerd.snapshotter.v1.aufs": ("aufs", _REMOVED_20, "use overlayfs"),
        "io.containerd.tracing.processor.v1.otlp": ("tracing", _REMOVED_22,
                                                    "use the OTEL_* environment variables"),
        "io.containerd.internal.v1.tracing": ("tracing", _REMOVED_22,
                                              "use the OTEL_* environment variables"),
    }  # fmt: skip
    hit = known.get(pid)
    if hit is None:
        return []
    value = ConfigValue(
        _dotted(("plugins", sec.name)), redact(sec.data), sec.path,
        line_of(sec.index, ("plugins", sec.name)),
    )  # fmt: skip
    return [DeprecatedKey(hit[0], value, hit[1], hit[2])]


# --------------------------------------------------------------------------- collection


def config_path_from_cmdline(cmdline: Sequence[str] | None) -> str:
    """``--config PATH`` / ``-c PATH`` / ``--config=PATH`` of containerd, else the default."""
    if cmdline:
        args = list(cmdline)
        for i, arg in enumerate(args):
            for name in ("--config", "-c"):
                if arg == name and i + 1 < len(args):
                    return _abs(args[i + 1])
                if arg.startswith(name + "="):
                    return _abs(arg.split("=", 1)[1])
    return DEFAULT_CONFIG


def _abs(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _glob(fs: HostFS, pattern: str) -> list[str]:
    """Match an absolute glob pattern component by component through ``fs``, sorted."""
    parts = [p for p in pattern.split("/") if p]
    found = ["/"]
    for part in parts:
        nxt: list[str] = []
        for base in found:
            if any(ch in part for ch in "*?["):
                try:
                    names = sorted(fs.listdir(base))
                except ProbeFailed:
                    continue
                nxt.extend(
                    posixpath.join(base, n)
                    for n in names
                    if fnmatch.fnmatchcase(n, part) and not n.startswith(".")
                )
            else:
                candidate = posixpath.join(base, part)
                if fs.exists(candidate):
                    nxt.append(candidate)
        found = nxt
    return found


def resolve_imports(fs: HostFS, parent: str, imports: Sequence[str]) -> list[str]:
    """containerd's ``resolveImports``, through ``fs``."""
    out: list[str] = []
    for item in imports:
        if "*" in item:
            out.extend(_glob(fs, item if item.startswith("/") else "/" + item))
        else:
            path = posixpath.normpath(item)
            if not path.startswith("/"):
                path = posixpath.join(posixpath.dirname(parent), path)
            out.append(path)
    return out


def collect_containerd_config(
    fs: HostFS, cmdline: Sequence[str] | None, errors: list[ProbeFailed]
) -> ContainerdConfig | None:
    """Load containerd's configuration through ``fs``; None when the main file is absent.

    A malformed main file is an error and gives None; a malformed or missing import is
    an error and is left out of the merge (containerd itself would refuse to start).
    """
    main = config_path_from_cmdline(cmdline)
    pending = [main]
    loaded: set[str] = set()
    files: list[ParsedFile] = []
    while pending and len(loaded) < MAX_IMPORTED_FILES:
        path, pending = pending[0], pending[1:]
        if path in loaded:
            continue
        loaded.add(path)
        try:
            text = read_config(fs, path)
            if text is None:
                if path != main:
                    errors.append(
                        ProbeFailed(
                            ErrorKind.MISSING, f"host:{path}", f"imported by {main} tree, absent"
                        )
                    )
                continue
            parsed = parse_containerd_file(text, path)
        except ProbeFailed as exc:
            errors.append(exc)
            continue
        files.append(parsed)
        pending.extend(resolve_imports(fs, path, parsed[1].get("imports") or ()))
    if not files or files[0][0] != main:
        return None
    return merge_containerd_files(files)
