"""What the kubelet (1.26) sends over CRI, rebuilt: cgroup parents, sandbox and container
configs, pod cgroup limits.

Values follow the kubelet's code (k8s.io/kubernetes, pkg/kubelet/kuberuntime and
pkg/kubelet/cm) and what a real 1.26 node sent (the recorded CRI answers in
shared/fixtures/real-cluster-1.26/cri/).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import host

# The kubelet's defaults for a non-privileged container (k8s.io/kubernetes
# pkg/securitycontext: defaultMaskedPaths / defaultReadonlyPaths, Kubernetes 1.26).
KUBELET_MASKED_PATHS = (
    "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
)  # fmt: skip
KUBELET_READONLY_PATHS = (
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
)  # fmt: skip

QOS_CLASSES = ("guaranteed", "burstable", "besteffort")


@dataclass(frozen=True, slots=True)
class ContainerRequest:
    """One container of a pod, in the kubelet's CRI terms (0 means "not set")."""

    name: str
    command: Sequence[str] = ("/bin/sleep", "infinity")
    memory_limit_bytes: int = 0
    cpu_quota: int = 0
    cpu_period: int = 100_000  # the kubelet always sends the CFS period
    cpu_shares: int = 2  # the kubelet's value for a container without a CPU request
    privileged: bool = False
    # (host path, container path, read-only[, CRI MountPropagation name]); the kubelet's
    # default propagation is PROPAGATION_PRIVATE.
    mounts: Sequence[tuple[str, str, bool] | tuple[str, str, bool, str]] = ()
    image: str | None = None  # an image reference the bed's containerd holds; None: busybox
    env: Sequence[tuple[str, str]] | None = None  # None: PATH=/bin (busybox)


def qos_parent(qos: str, uid: str) -> str:
    if qos == "guaranteed":
        return f"/kubepods/pod{uid}"
    if qos in ("burstable", "besteffort"):
        return f"/kubepods/{qos}/pod{uid}"
    raise ValueError(f"qos must be one of {QOS_CLASSES}, not {qos!r}")


def oom_score_adj(qos: str, memory_bytes: int) -> int:
    # The kubelet's policy (pkg/kubelet/qos/policy.go): -997 guaranteed, 1000 best effort,
    # burstable 1000 - 1000 * request / capacity, kept within [2, 999].
    if qos == "guaranteed":
        return -997
    if qos == "besteffort":
        return 1000
    capacity = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return min(999, max(2, 1000 - (1000 * memory_bytes) // capacity))


def namespace_option(pb: Any, host_network: bool, host_pid: bool, host_ipc: bool) -> Any:
    """NamespaceOption: NODE for host namespaces; PID per container otherwise (v1 pods)."""
    return pb.NamespaceOption(
        network=pb.NODE if host_network else pb.POD,
        pid=pb.NODE if host_pid else pb.CONTAINER,
        ipc=pb.NODE if host_ipc else pb.POD,
    )


def sandbox_config(
    pb: Any,
    *,
    name: str,
    namespace: str,
    uid: str,
    cgroup_parent: str,
    log_directory: str,
    ns: Any,
    host_network: bool,
    privileged: bool,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
) -> Any:
    """The PodSandboxConfig of a pod, with the kubelet's labels and annotations."""
    pod_labels = {
        **labels,
        "io.kubernetes.pod.name": name,
        "io.kubernetes.pod.namespace": namespace,
        "io.kubernetes.pod.uid": uid,
    }
    pod_annotations = {
        **annotations,
        "kubernetes.io/config.seen": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "kubernetes.io/config.source": "api",
    }
    sandbox_config = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace=namespace),
        # runc cannot set a hostname without a private UTS namespace (host network).
        hostname="" if host_network else name,
        log_directory=log_directory,
        labels=pod_labels,
        annotations=pod_annotations,
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=cgroup_parent,
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=ns,
                privileged=privileged,
                seccomp=pb.SecurityProfile(profile_type=pb.SecurityProfile.RuntimeDefault),
            ),
            overhead=pb.LinuxContainerResources(),
            resources=pb.LinuxContainerResources(cpu_period=100_000, cpu_shares=2),
        ),
    )
    return sandbox_config


def container_config(
    pb: Any,
    request: ContainerRequest,
    *,
    pod_name: str,
    pod_namespace: str,
    pod_uid: str,
    qos: str,
    image: str,
    mounts: Sequence[Any],
    ns: Any,
    privileged: bool,
    uid: int | None,
) -> Any:
    """The ContainerConfig of one container, with the kubelet's labels and annotations."""
    security = pb.LinuxContainerSecurityContext(
        privileged=privileged,
        namespace_options=ns,
        seccomp=pb.SecurityProfile(profile_type=pb.SecurityProfile.Unconfined),
    )
    if uid is not None:
        security.run_as_user.value = uid
    if not privileged:
        security.masked_paths.extend(KUBELET_MASKED_PATHS)
        security.readonly_paths.extend(KUBELET_READONLY_PATHS)
    config = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=request.name, attempt=0),
        image=pb.ImageSpec(image=image),
        command=list(request.command),
        envs=[
            pb.KeyValue(key=k, value=v)
            for k, v in (request.env if request.env is not None else [("PATH", "/bin")])
        ],
        mounts=mounts,
        labels={
            "io.kubernetes.container.name": request.name,
            "io.kubernetes.pod.name": pod_name,
            "io.kubernetes.pod.namespace": pod_namespace,
            "io.kubernetes.pod.uid": pod_uid,
        },
        annotations={
            "io.kubernetes.container.hash": secrets.token_hex(4),
            "io.kubernetes.container.restartCount": "0",
            "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
            "io.kubernetes.container.terminationMessagePolicy": "File",
            "io.kubernetes.pod.terminationGracePeriod": "30",
        },
        log_path=f"{request.name}/0.log",
        linux=pb.LinuxContainerConfig(
            resources=pb.LinuxContainerResources(
                cpu_period=request.cpu_period,
                cpu_quota=request.cpu_quota,
                cpu_shares=request.cpu_shares,
                memory_limit_in_bytes=request.memory_limit_bytes,
                oom_score_adj=oom_score_adj(qos, request.memory_limit_bytes),
                hugepage_limits=[
                    pb.HugepageLimit(page_size="2MB"),
                    pb.HugepageLimit(page_size="1GB"),
                ],
            ),
            security_context=security,
        ),
    )
    return config


def write_pod_cgroup(qos: str, cgroup_parent: str, containers: Sequence[ContainerRequest]) -> None:
    """Make and limit the pod cgroup as the kubelet does before RunPodSandbox.

    The kubelet limits the pod cgroup with the sum of its containers' limits when every
    container has one (pkg/kubelet/cm ResourceConfigForPod); best-effort pods get
    cpu.shares 2. Other hierarchies are left to runc.
    """
    rel = cgroup_parent.strip("/")
    memory = host.hierarchy_of("memory")
    cpu = host.hierarchy_of("cpu")
    shares = 2 if qos == "besteffort" else max(2, sum(c.cpu_shares for c in containers))
    if cpu is not None:
        (cpu / rel).mkdir(parents=True, exist_ok=True)
        (cpu / rel / "cpu.shares").write_text(str(shares))
        if qos != "besteffort" and all(c.cpu_quota > 0 for c in containers):
            (cpu / rel / "cpu.cfs_period_us").write_text("100000")
            (cpu / rel / "cpu.cfs_quota_us").write_text(str(sum(c.cpu_quota for c in containers)))
    if memory is not None:
        (memory / rel).mkdir(parents=True, exist_ok=True)
        if qos != "besteffort" and all(c.memory_limit_bytes > 0 for c in containers):
            total = sum(c.memory_limit_bytes for c in containers)
            (memory / rel / "memory.limit_in_bytes").write_text(str(total))


# Pod mountPropagation -> CRI MountPropagation (kubelet pkg/kubelet/kubelet_pods.go).
_PROPAGATION = {
    None: "PROPAGATION_PRIVATE",
    "None": "PROPAGATION_PRIVATE",
    "HostToContainer": "PROPAGATION_HOST_TO_CONTAINER",
    "Bidirectional": "PROPAGATION_BIDIRECTIONAL",
}


def pod_request(
    pod: Mapping[str, Any], host_paths: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``TestBed.run_pod`` keyword arguments for a Pod object, as the kubelet would run it.

    Takes what the kubelet turns into CRI calls: name (``generateName`` plus a suffix, as
    the API server does), namespace, labels and annotations (the sandbox's), QoS class,
    host namespaces, and per container the image, command, env, privileged, resources
    (CPU shares from the request, quota from the limit, memory limit) and hostPath volume
    mounts with their propagation. Other volume kinds are not supported here.
    ``host_paths`` replaces hostPath paths (``{"/": root}`` with ``TestBed.host_root()``).
    """
    from inspect8s.kube.convert import compute_qos, cpu_millicores, quantity_bytes

    meta = pod.get("metadata") or {}
    spec = pod["spec"]
    replace = host_paths or {}
    host_paths = {
        v["name"]: replace.get(v["hostPath"]["path"], v["hostPath"]["path"])
        for v in spec.get("volumes") or ()
        if "hostPath" in v
    }
    containers = []
    for c in spec["containers"]:
        resources = c.get("resources") or {}
        limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
        cpu_request = requests.get("cpu", limits.get("cpu"))
        mounts: list[tuple[str, str, bool, str]] = []
        for m in c.get("volumeMounts") or ():
            if m["name"] not in host_paths:
                raise ValueError(f"volume {m['name']!r} is not a hostPath volume")
            mounts.append(
                (
                    host_paths[m["name"]],
                    m["mountPath"],
                    bool(m.get("readOnly")),
                    _PROPAGATION[m.get("mountPropagation")],
                )
            )
        containers.append(
            ContainerRequest(
                c["name"],
                command=tuple(c.get("command") or ()) + tuple(c.get("args") or ()),
                memory_limit_bytes=quantity_bytes(limits["memory"]) if "memory" in limits else 0,
                cpu_quota=cpu_millicores(limits["cpu"]) * 100 if "cpu" in limits else 0,
                cpu_shares=max(2, cpu_millicores(cpu_request) * 1024 // 1000)
                if cpu_request is not None
                else 2,
                privileged=bool((c.get("securityContext") or {}).get("privileged")),
                mounts=mounts,
                image=c["image"],
                env=tuple((e["name"], str(e.get("value", ""))) for e in c.get("env") or ()),
            )
        )
    name = meta.get("name") or meta["generateName"] + secrets.token_hex(3)[:5]
    return {
        "name": name,
        "namespace": meta.get("namespace") or "default",
        "qos": str(compute_qos(spec)).lower(),
        "containers": containers,
        "host_network": bool(spec.get("hostNetwork")),
        "host_pid": bool(spec.get("hostPID")),
        "host_ipc": bool(spec.get("hostIPC")),
        "labels": dict(meta.get("labels") or {}),
        "annotations": dict(meta.get("annotations") or {}),
        "pod_uid": meta.get("uid"),
    }
