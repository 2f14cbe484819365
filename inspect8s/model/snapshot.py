"""Everything one run collected: what checks read and renderers show."""

from __future__ import annotations

from inspect8s.errors import ProbeError
from inspect8s.model.chain import RuntimeChain
from inspect8s.model.config import KubeletConfigz, NodeConfig
from inspect8s.model.frozen import frozen
from inspect8s.model.kube import KubeNode, Pod, RuntimeClass
from inspect8s.model.node import (
    DockerEngineStatus,
    KubeletVersion,
    NodeReport,
    RuntimeStatus,
    SocketHolder,
)
from inspect8s.model.objects import ApiServerInfo, KubeObject


@frozen
class UnreadSource:
    """A source of objects that could not be read, so object checks cannot pass on it."""

    name: str  # "Helm release secrets", "Ingress objects", ...
    reason: str  # why: the probe error, in one line


@frozen
class Snapshot:
    """Everything collected for one run: what checks read and renderers show.

    A part is ``None`` / empty when it was not collected (no API access, no node probe);
    why is in ``errors`` or in the command's options, never guessed.
    """

    node: NodeReport | None = None
    pods: tuple[Pod, ...] = ()
    kube_nodes: tuple[KubeNode, ...] = ()
    traces: tuple[RuntimeChain, ...] = ()
    errors: tuple[ProbeError, ...] = ()
    node_config: NodeConfig | None = None  # None: node configuration not collected
    # Node audit (inspect8s/collect/nodeaudit.py); empty / None when not collected:
    runtime_status: tuple[RuntimeStatus, ...] = ()  # one per CRI endpoint that was asked
    docker_engines: tuple[DockerEngineStatus, ...] = ()  # one per Docker socket that was asked
    kubelet_version: KubeletVersion | None = None  # None: not determined
    docker_socket_holders: tuple[SocketHolder, ...] | None = None  # None: not scanned
    # Whether the client ends of docker.sock connections could be named (the kernel's
    # sock_diag answers only for this machine); None: no Docker socket, nothing to name.
    socket_peers_known: bool | None = None
    runtime_classes: tuple[RuntimeClass, ...] | None = None  # None: not listed / no API
    # Objects of any kind for the API version checks (manifests, the API, Helm releases):
    objects: tuple[KubeObject, ...] = ()
    unread_sources: tuple[UnreadSource, ...] = ()  # sources of objects that failed
    api_server: ApiServerInfo | None = None  # None: no API server was asked
    kubelet_configz: KubeletConfigz | None = None  # None: not asked (no --kubeconfig)
