"""Node checks from the Kubernetes API (scope node): Node objects and RuntimeClasses.

They read ``Snapshot.kube_nodes`` and ``Snapshot.runtime_classes``, which ``inspect8s audit
--cluster`` lists for the whole cluster and a node audit with ``--kubeconfig`` lists for its
node. Each finding names its node (``node/<name>``). Sources: the project's runtime-facts
reference, section 4.5 (S2, S5) and "What no existing tool does" 9.
"""

from __future__ import annotations

from collections.abc import Iterator

from inspect8s.audit.registry import Scope, Skip, Violation, check
from inspect8s.audit.results import Severity
from inspect8s.model import KubeNode, Snapshot


def _nodes(snapshot: Snapshot) -> tuple[KubeNode, ...]:
    if not snapshot.kube_nodes:
        raise Skip("no Node objects (needs the Kubernetes API: --cluster or --kubeconfig)")
    return snapshot.kube_nodes


@check(
    "I8S-NODE-RT-LABEL",
    title="Node reports Docker Engine as its container runtime",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
)
def node_runtime_docker(snapshot: Snapshot) -> Iterator[Violation]:
    """The Node's ``status.nodeInfo.containerRuntimeVersion`` starts with ``docker://``
    (the CONTAINER-RUNTIME column of ``kubectl get nodes -o wide``). Before 1.24 that is
    the kubelet's built-in dockershim, removed in 1.24; from 1.24 on it can only be
    cri-dockerd in front of Docker Engine, which must then be kept in step with every
    upgrade (CRI v1 since 1.26). Either way the node depends on Docker: check the CRI
    endpoint the kubelet really uses (``inspect8s node``).

    Source: runtime-facts 4.5 S5 (website find-out-runtime-you-use.md), 4.1 K3.
    """
    for node in _nodes(snapshot):
        runtime = node.container_runtime_version or ""
        if runtime.startswith("docker://"):
            kubelet = node.kubelet_version or "unknown kubelet version"
            yield Violation(
                f"containerRuntimeVersion is {runtime} (kubelet {kubelet}): dockershim "
                "before 1.24, cri-dockerd after",
                subject=f"node/{node.name}",
            )


@check(
    "I8S-KUBEADM-CRISOCK",
    title="kubeadm cri-socket annotation still names dockershim",
    severity=Severity.HIGH,
    scope=Scope.NODE,
)
def kubeadm_cri_socket(snapshot: Snapshot) -> Iterator[Violation]:
    """kubeadm stores each node's CRI socket in the Node annotation
    ``kubeadm.alpha.kubernetes.io/cri-socket`` and uses it on ``kubeadm upgrade``. After a
    move off Docker it must name the new runtime's socket; a value of
    ``/var/run/dockershim.sock`` makes kubeadm talk to a socket that no longer exists.
    Fix it with ``kubectl annotate node <name> --overwrite
    kubeadm.alpha.kubernetes.io/cri-socket=unix:///run/containerd/containerd.sock``.

    Source: runtime-facts 4.5 S2 (website migrating-from-dockershim/change-runtime-containerd.md).
    """
    for node in _nodes(snapshot):
        value = node.cri_socket_annotation
        if value and value.rstrip("/").endswith("dockershim.sock"):
            yield Violation(
                f"annotation kubeadm.alpha.kubernetes.io/cri-socket is {value}",
                subject=f"node/{node.name}",
            )


def offered_handlers(snapshot: Snapshot) -> tuple[str, set[str]] | None:
    """(runtime, handler names) the node's runtime configuration offers; None: unknown."""
    config = snapshot.node_config
    names = {r.name for r in snapshot.node.runtimes} if snapshot.node is not None else set()
    if config is not None and config.containerd is not None:
        return "containerd", set(config.containerd.runtimes) or {"runc"}
    if config is not None and config.crio is not None:
        return "CRI-O", set(config.crio.runtimes) or {"runc", "crun"}
    if config is not None and "containerd" in names and "dockerd" not in names:
        return "containerd", {"runc"}  # no config file: containerd's built-in runtime only
    return None


@check(
    "I8S-RUNTIMECLASS-HANDLER",
    title="RuntimeClass handler not offered by the node's runtime",
    severity=Severity.HIGH,
    scope=Scope.NODE,
)
def runtime_class_handler(snapshot: Snapshot) -> Iterator[Violation]:
    """A RuntimeClass (``node.k8s.io/v1``) names a ``handler`` that the node's runtime does
    not configure (containerd ``plugins...cri.containerd.runtimes.<handler>``, CRI-O
    ``[crio.runtime.runtimes.<handler>]``). Pods with that ``runtimeClassName`` that land
    on this node fail in RunPodSandbox ("no runtime for ... is configured") and stay in
    ContainerCreating.

    Needs both the RuntimeClasses (Kubernetes API) and the runtime's configuration (the
    node audit, or ``--cluster --agents``); skipped otherwise.

    Source: runtime-facts "What no existing tool does" 9 (RuntimeClass <-> runtime-handler
    validation).
    """
    if snapshot.runtime_classes is None:
        raise Skip("RuntimeClasses were not listed (no API access, or node.k8s.io/v1 absent)")
    if not snapshot.runtime_classes:
        return
    offered = offered_handlers(snapshot)
    if offered is None:
        raise Skip("the handlers the runtime offers are known only from the node's configuration")
    runtime, handlers = offered
    for rc in snapshot.runtime_classes:
        if rc.handler not in handlers:
            yield Violation(
                f"RuntimeClass {rc.name!r} uses handler {rc.handler!r}, which {runtime} here "
                f"does not configure (it has: {', '.join(sorted(handlers))})"
            )
