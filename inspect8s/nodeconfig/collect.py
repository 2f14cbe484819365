"""``collect_node_config``: every node configuration source, read through one HostFS."""

from __future__ import annotations

from collections.abc import Sequence

from inspect8s.errors import ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model import NodeConfig
from inspect8s.nodeconfig.containerd import collect_containerd_config
from inspect8s.nodeconfig.crictl import collect_crictl_config
from inspect8s.nodeconfig.crio import collect_crio_config
from inspect8s.nodeconfig.docker import collect_docker_config
from inspect8s.nodeconfig.kubelet import collect_kubelet_config
from inspect8s.nodeconfig.kubeproxy import ProxyProcess, kube_proxy_config


def collect_node_config(
    fs: HostFS,
    *,
    kubelet_cmdline: Sequence[str] | None,
    containerd_cmdline: Sequence[str] | None = None,
    crio_cmdline: Sequence[str] | None = None,
    dockerd_cmdline: Sequence[str] | None = None,
    kubelet_version: str | None = None,
    crictl_config_file: str | None = None,
    kube_proxy: ProxyProcess | None = None,
) -> tuple[NodeConfig, list[ProbeFailed]]:
    """Read the kubelet, containerd, CRI-O, dockerd and crictl configuration.

    Command lines are the running daemons' argv (None: not running; the default file
    locations are used). ``kubelet_version`` picks the kubelet's defaults (None: newest).
    ``crictl_config_file`` is ``$CRI_CONFIG_FILE`` when set; ``kube_proxy`` the kube-proxy
    process found on the host (None: none). Never raises ProbeFailed:
    each file that could not be read or parsed is returned in the list, and every other
    source is still read.
    """
    errors: list[ProbeFailed] = []
    config = NodeConfig(
        kubelet=collect_kubelet_config(fs, kubelet_cmdline, errors, version=kubelet_version),
        containerd=collect_containerd_config(fs, containerd_cmdline, errors),
        crio=collect_crio_config(fs, crio_cmdline, errors),
        docker=collect_docker_config(fs, dockerd_cmdline, errors),
        crictl=collect_crictl_config(fs, errors, config_file=crictl_config_file),
        kube_proxy=kube_proxy_config(fs, kube_proxy, errors),
    )
    return config, errors
