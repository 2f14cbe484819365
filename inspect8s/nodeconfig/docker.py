"""dockerd's ``/etc/docker/daemon.json`` (or ``--config-file``).

Keys of interest (dockerd(8), "Daemon configuration file"): ``exec-opts`` (the cgroup
driver as ``native.cgroupdriver=systemd|cgroupfs``; dockerd's default is cgroupfs on
cgroup v1 and systemd on cgroup v2 with systemd), ``registry-mirrors``,
``insecure-registries``, ``data-root`` and ``containerd`` (the address of an external
containerd; absent: dockerd starts its own). json keeps no positions, so a top-level
key's line is found by scanning the text for ``"key":``.
"""

from __future__ import annotations

from collections.abc import Sequence

from inspect8s.errors import ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model import ConfigValue, DockerDaemonConfig
from inspect8s.nodeconfig._parse import json_key_lines, load_json_object, read_config

DEFAULT_CONFIG = "/etc/docker/daemon.json"


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def parse_daemon_json(text: str, path: str) -> DockerDaemonConfig:
    """Parse daemon.json into its model. Pure."""
    data = load_json_object(text, path)
    lines = json_key_lines(text, list(data))
    settings = {key: ConfigValue(key, value, path, lines.get(key)) for key, value in data.items()}
    driver: ConfigValue | None = None
    opts = settings.get("exec-opts")
    if opts is not None:
        for opt in _strings(opts.value):
            name, sep, value = opt.partition("=")
            if sep and name.strip() == "native.cgroupdriver":
                driver = ConfigValue(
                    "exec-opts native.cgroupdriver", value.strip(), path, opts.line
                )
    return DockerDaemonConfig(
        path=path,
        settings=settings,
        cgroup_driver=driver,
        registry_mirrors=_strings(data.get("registry-mirrors")),
        insecure_registries=_strings(data.get("insecure-registries")),
        data_root=settings.get("data-root") or settings.get("graph"),
        containerd_address=settings.get("containerd"),
    )


def config_path_from_cmdline(cmdline: Sequence[str] | None) -> str:
    if cmdline:
        args = list(cmdline)
        for i, arg in enumerate(args):
            if arg == "--config-file" and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith("--config-file="):
                return arg.split("=", 1)[1]
    return DEFAULT_CONFIG


def collect_docker_config(
    fs: HostFS, cmdline: Sequence[str] | None, errors: list[ProbeFailed]
) -> DockerDaemonConfig | None:
    """Read daemon.json through ``fs``; None when it is absent."""
    path = config_path_from_cmdline(cmdline)
    if not path.startswith("/"):
        path = "/" + path
    try:
        text = read_config(fs, path)
        return parse_daemon_json(text, path) if text is not None else None
    except ProbeFailed as exc:
        errors.append(exc)
        return None
