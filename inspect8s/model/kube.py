"""Kubernetes objects as the checks read them: pods, their containers, nodes, RuntimeClasses."""

from __future__ import annotations

from dataclasses import field

from inspect8s.model.frozen import frozen
from inspect8s.model.host import QoS

# The label on every pod inspect8s creates (agent pods) or ships (plugins/kubectl/
# daemonset.yaml, job.yaml). Audits leave such pods out: an agent never judges itself.
OWN_POD_LABEL = ("app.kubernetes.io/managed-by", "inspect8s")


@frozen
class ResourceList:
    """Requests or limits of one container in canonical units; None: not set."""

    cpu_millicores: int | None = None
    memory_bytes: int | None = None
    ephemeral_storage_bytes: int | None = None


@frozen
class VolumeMount:
    name: str
    mount_path: str
    read_only: bool = False


@frozen
class Volume:
    name: str
    host_path: str | None  # None: not a hostPath volume
    host_path_type: str | None = None
    kind: str = "other"  # "hostPath" | "emptyDir" | "configMap" | ... first key of the volume


@frozen
class ContainerSpec:
    """A container of a pod spec, plus its status when the pod came from the API."""

    name: str
    image: str
    requests: ResourceList
    limits: ResourceList
    privileged: bool = False
    allow_privilege_escalation: bool | None = None  # None: not set (defaults to true)
    capabilities_add: tuple[str, ...] = ()
    capabilities_drop: tuple[str, ...] = ()
    run_as_non_root: bool | None = None  # effective (container, else pod); None: not set
    read_only_root_filesystem: bool | None = None
    seccomp_profile: str | None = None  # "RuntimeDefault" | "Unconfined" | "Localhost"; None: unset
    host_ports: tuple[int, ...] = ()
    volume_mounts: tuple[VolumeMount, ...] = ()
    init: bool = False
    run_as_user: int | None = None  # effective runAsUser (container, else pod); None: not set
    image_pull_policy: str | None = None  # "Always" | "IfNotPresent" | "Never"; None: not set
    proc_mount: str | None = None  # securityContext.procMount ("Unmasked"); None: not set
    host_process: bool = False  # windowsOptions.hostProcess (container, else pod)
    # status
    container_id: str | None = None  # "containerd://<id>" as the API reports it; None: not started
    restart_count: int = 0
    last_termination_reason: str | None = None
    ready: bool | None = None
    state: str | None = None  # "running" | "waiting" | "terminated"; None: no status (manifest)
    state_reason: str | None = None  # e.g. "CrashLoopBackOff", "OOMKilled"; None: none given


@frozen
class Pod:
    name: str
    namespace: str
    uid: str | None
    node_name: str | None
    phase: str | None
    qos: QoS | None  # status.qosClass, or computed from the spec for manifests
    containers: tuple[ContainerSpec, ...]
    host_network: bool = False
    host_pid: bool = False
    host_ipc: bool = False
    share_process_namespace: bool = False
    seccomp_profile: str | None = None  # pod-level securityContext.seccompProfile.type
    volumes: tuple[Volume, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    runtime_class: str | None = None
    owner: str | None = None  # "ReplicaSet/frontend-abc" of the first ownerReference
    source: str = "api"  # "api" | "manifest:<file>#<doc index>" | "runtime"
    service_account: str | None = None  # spec.serviceAccountName; None: not set ("default")
    automount_service_account_token: bool | None = None  # None: not set (defaults to true)


@frozen
class KubeNode:
    name: str
    kubelet_version: str | None
    container_runtime_version: str | None  # "containerd://1.6.20", "docker://20.10.24"
    os_image: str | None
    kernel_version: str | None
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[dict[str, str], ...] = ()
    addresses: tuple[tuple[str, str], ...] = ()  # (type, address)

    @property
    def cri_socket_annotation(self) -> str | None:
        return self.annotations.get("kubeadm.alpha.kubernetes.io/cri-socket")


@frozen
class RuntimeClass:
    """A node.k8s.io/v1 RuntimeClass: the name pods use and the CRI handler it selects."""

    name: str
    handler: str
