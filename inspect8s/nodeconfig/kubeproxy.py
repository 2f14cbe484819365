"""The kube-proxy on the host and the kubeconfig file it uses (CIS 4.1.3 and 4.1.4).

kube-proxy names its kubeconfig with ``--kubeconfig`` or, in its ``--config`` file (a
KubeProxyConfiguration), ``clientConnection.kubeconfig``; the flag wins (kube-proxy
reference, kubernetes.io). kubeadm runs kube-proxy as a DaemonSet pod whose kubeconfig
comes from a ConfigMap mounted in the container: that file is not on the host, and a
kube-proxy in another mount namespace than the host's is reported as such, not judged
through the host's paths.
"""

from __future__ import annotations

from collections.abc import Mapping

from inspect8s.errors import ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model import ConfigValue, KubeProxyConfig, ProcessInfo
from inspect8s.model.frozen import frozen
from inspect8s.nodeconfig._parse import load_yaml_mapping, read_config
from inspect8s.nodeconfig.kubelet import cmdline_words, kubelet_file, parse_flags


@frozen
class ProxyProcess:
    pid: int
    cmdline: tuple[str, ...]
    on_host: bool | None  # shares the host's mount namespace; None: unknown


def find_kube_proxy(
    processes: Mapping[int, ProcessInfo], host_mnt: int | None
) -> ProxyProcess | None:
    """The first kube-proxy process (lowest PID) with its command line; None: none runs."""
    for pid in sorted(processes):
        proc = processes[pid]
        if proc.exe_name != "kube-proxy" or not proc.cmdline:
            continue
        mnt = proc.namespaces.get("mnt")
        on_host = None if mnt is None or host_mnt is None else mnt == host_mnt
        return ProxyProcess(pid, proc.cmdline, on_host)
    return None


def collect_kube_proxy(
    fs: HostFS, process: ProxyProcess, errors: list[ProbeFailed]
) -> KubeProxyConfig:
    """The kubeconfig of ``process``, with its mode and owner when it is on the host."""
    flags = parse_flags(cmdline_words(process.cmdline))
    named: ConfigValue | None = flags.get("--kubeconfig")
    config = flags.get("--config")
    if process.on_host is False:
        return KubeProxyConfig(
            process.pid,
            None,
            f"kube-proxy (PID {process.pid}) runs in its own mount namespace (a pod): its "
            "kubeconfig is inside the container, typically from a ConfigMap; check who may "
            "read that ConfigMap instead",
        )
    if (named is None or not str(named.value)) and config is not None and str(config.value):
        path = str(config.value)
        try:
            text = read_config(fs, path)
            if text is not None:
                data, lines = load_yaml_mapping(text, path)
                connection = data.get("clientConnection")
                value = connection.get("kubeconfig") if isinstance(connection, dict) else None
                if isinstance(value, str) and value:
                    named = ConfigValue(
                        "clientConnection.kubeconfig",
                        value,
                        path,
                        lines.get(("clientConnection", "kubeconfig")),
                        origin="config",
                    )
        except ProbeFailed as exc:
            errors.append(exc)
    if named is None or not str(named.value):
        return KubeProxyConfig(
            process.pid, None, "kube-proxy runs without a kubeconfig file (in-cluster config)"
        )
    path = str(named.value)
    if not path.startswith("/"):
        return KubeProxyConfig(
            process.pid, None, f"kube-proxy's kubeconfig {path!r} is relative to its own cwd"
        )
    return KubeProxyConfig(process.pid, kubelet_file(fs, path, "proxy-kubeconfig", named))


def kube_proxy_config(
    fs: HostFS, process: ProxyProcess | None, errors: list[ProbeFailed]
) -> KubeProxyConfig | None:
    return collect_kube_proxy(fs, process, errors) if process is not None else None
