"""crictl's configuration, ``/etc/crictl.yaml`` or the file named by ``$CRI_CONFIG_FILE``.

Keys: ``runtime-endpoint``, ``image-endpoint``, ``timeout``, ``debug``,
``pull-image-on-create`` (cri-tools docs/crictl.md). With no runtime endpoint crictl
tries a built-in list; older releases started that list with the dockershim socket,
which fails with ``dial unix /var/run/dockershim.sock`` once dockershim is gone
(kubernetes-sigs/cri-tools#868, #1041, #1089).
"""

from __future__ import annotations

from inspect8s.errors import ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model import ConfigValue, CrictlConfig
from inspect8s.nodeconfig._parse import load_yaml_mapping, read_config

DEFAULT_CONFIG = "/etc/crictl.yaml"

# The default endpoint list of crictl releases that still knew dockershim.
LEGACY_DEFAULT_ENDPOINTS: tuple[str, ...] = (
    "unix:///var/run/dockershim.sock",
    "unix:///run/containerd/containerd.sock",
    "unix:///run/crio/crio.sock",
    "unix:///var/run/cri-dockerd.sock",
)


def parse_crictl_config(text: str, path: str) -> CrictlConfig:
    """Parse crictl.yaml into its model. Pure."""
    data, lines = load_yaml_mapping(text, path)
    settings = {k: ConfigValue(k, v, path, lines.get((k,))) for k, v in data.items()}
    runtime = settings.get("runtime-endpoint")
    if runtime is not None and (runtime.value is None or not str(runtime.value).strip()):
        runtime = None
    image = settings.get("image-endpoint")
    if image is not None and (image.value is None or not str(image.value).strip()):
        image = None
    return CrictlConfig(
        path=path,
        runtime_endpoint=runtime,
        image_endpoint=image,
        settings=settings,
        default_endpoints=LEGACY_DEFAULT_ENDPOINTS if runtime is None else (),
    )


def collect_crictl_config(
    fs: HostFS, errors: list[ProbeFailed], *, config_file: str | None = None
) -> CrictlConfig | None:
    """Read crictl's config (``config_file`` is ``$CRI_CONFIG_FILE`` when set); None when
    absent."""
    path = config_file or DEFAULT_CONFIG
    if not path.startswith("/"):
        path = "/" + path
    try:
        text = read_config(fs, path)
        return parse_crictl_config(text, path) if text is not None else None
    except ProbeFailed as exc:
        errors.append(exc)
        return None
