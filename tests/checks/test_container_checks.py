"""Container (host-truth) and API node checks on hand-built contexts: each check fires on the
case it names, stays quiet on the matching one, and skips when its data is missing."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from inspect8s.audit.checks import cluster as cl
from inspect8s.audit.checks import containers as cc
from inspect8s.audit.registry import CheckSettings, ContainerContext, Skip, Violation
from inspect8s.host.containertruth import resolve_mounts
from inspect8s.model import (
    CgroupLimits,
    Container,
    ContainerMount,
    ContainerSpec,
    KubeNode,
    Mount,
    NamespaceReference,
    NodeInfo,
    NodeReport,
    Pod,
    QoS,
    ResourceList,
    RuntimeClass,
    Snapshot,
)

MiB = 1 << 20
CID = "c" * 64
CGROUP = f"/kubepods/burstable/pod1234/{CID}"
NS = {"net": 10, "uts": 11, "pid": 12, "ipc": 13, "mnt": 14}
HOST_NS = {"net": 1, "uts": 2, "pid": 3, "ipc": 4, "mnt": 5}
DEFAULT_CAPS = 0xA80425FB  # containerd's default set, as CapEff shows it


def limits(**kw: Any) -> CgroupLimits:
    base: dict[str, Any] = {
        "memory_usage_bytes": 1 * MiB,
        "cpu_period_us": 100_000,
        "pids_current": 1,
        "memory_oom_kills": 0,
        "cpu_nr_periods": 0,
        "cpu_nr_throttled": 0,
    }
    base.update(kw)
    return CgroupLimits(**base)


def container(**kw: Any) -> Container:
    base: dict[str, Any] = dict(
        id=CID,
        runtime="containerd",
        name="app",
        pod_name="web",
        pod_namespace="shop",
        pod_uid="1234",
        qos=QoS.BURSTABLE,
        init_pid=4242,
        shim_pid=4200,
        pids=(4242,),
        cgroup_path=CGROUP,
        cgroup_driver="cgroupfs",
        limits=limits(memory_max_bytes=256 * MiB, cpu_quota_us=50_000, pids_max=None),
        namespaces=dict(NS),
        host_namespaces=(),
        cap_eff=DEFAULT_CAPS,
        seccomp_mode=2,
        no_new_privs=True,
        mounts=(),
        pod_limits=limits(memory_max_bytes=256 * MiB, pids_max=1024),
    )
    base.update(kw)
    return Container(**base)


def spec(**kw: Any) -> ContainerSpec:
    base: dict[str, Any] = dict(
        name="app",
        image="busybox",
        requests=ResourceList(),
        limits=ResourceList(cpu_millicores=500, memory_bytes=256 * MiB),
        allow_privilege_escalation=False,
        seccomp_profile="RuntimeDefault",
    )
    base.update(kw)
    return ContainerSpec(**base)


def pod(spec_: ContainerSpec | None = None, **kw: Any) -> Pod:
    base: dict[str, Any] = dict(
        name="web",
        namespace="shop",
        uid="1234",
        node_name="n1",
        phase="Running",
        qos=QoS.BURSTABLE,
        containers=(spec_ or spec(),),
    )
    base.update(kw)
    return Pod(**base)


def node_report(c: Container, reference_pid: int | None = 1) -> NodeReport:
    return NodeReport(
        node=NodeInfo("n1", "6.1", None, None, "cgroupfs", "/"),
        runtimes=(),
        sockets=(),
        shims=(),
        kubelet=None,
        host_reference=NamespaceReference(reference_pid, "PID 1", dict(HOST_NS)),
        containers=(c,),
        errors=(),
    )


def ctx(
    c: Container | None = None,
    p: Pod | None = None,
    *,
    no_spec: bool = False,
    reference_pid: int | None = 1,
) -> ContainerContext:
    c = c or container()
    the_pod = None if no_spec else (p or pod())
    snapshot = Snapshot(node=node_report(c, reference_pid), pods=(the_pod,) if the_pod else ())
    return ContainerContext(
        subject="Pod/shop/web/container/app",
        snapshot=snapshot,
        pod=the_pod,
        spec=the_pod.containers[0] if the_pod else None,
        container=c,
    )


def run(func: Any, context: Any, options: dict[str, str] | None = None) -> list[str]:
    import inspect

    if len(inspect.signature(func).parameters) == 2:
        out = func(context, CheckSettings(options=options or {}))
    else:
        out = func(context)
    items: list[Violation] = list(out or ())
    return [v.message for v in items]


def test_consistent_container_passes_every_container_check() -> None:
    good = ctx()
    for func in (
        cc.memory_limit_enforced,
        cc.cpu_limit_enforced,
        cc.memory_unlimited,
        cc.pids_unlimited,
        cc.qos_parent,
        cc.host_namespaces,
        cc.capabilities_match,
        cc.seccomp_applied,
        cc.no_new_privs_set,
        cc.oom_kills,
        cc.cpu_throttling,
        cc.runtime_socket_mounted,
        cc.cgroupfs_writable,
    ):
        assert run(func, good) == [], func.__name__


def test_memory_limit_missing_or_different_in_the_kernel() -> None:
    (msg,) = run(cc.memory_limit_enforced, ctx(container(limits=limits(memory_max_bytes=None))))
    assert "256Mi" in msg and "no memory limit" in msg
    (msg,) = run(
        cc.memory_limit_enforced, ctx(container(limits=limits(memory_max_bytes=512 * MiB)))
    )
    assert "enforces 512Mi" in msg
    # Page rounding is not a difference.
    odd = pod(spec(limits=ResourceList(memory_bytes=100_000_001)))
    rounded = container(limits=limits(memory_max_bytes=100_000_001 // 4096 * 4096))
    assert run(cc.memory_limit_enforced, ctx(rounded, odd)) == []
    with pytest.raises(Skip):
        run(cc.memory_limit_enforced, ctx(no_spec=True))
    with pytest.raises(Skip):
        run(cc.memory_limit_enforced, ctx(container(limits=CgroupLimits())))


def test_cpu_limit_missing_or_different() -> None:
    (msg,) = run(cc.cpu_limit_enforced, ctx(container(limits=limits(cpu_quota_us=None))))
    assert "500m" in msg and "no CFS quota" in msg
    (msg,) = run(cc.cpu_limit_enforced, ctx(container(limits=limits(cpu_quota_us=20_000))))
    assert "enforces 200m" in msg


def test_no_memory_or_pids_limit_in_the_kernel() -> None:
    bare = container(
        limits=limits(memory_max_bytes=None, pids_max=None),
        pod_limits=limits(memory_max_bytes=None, pids_max=None),
    )
    assert len(run(cc.memory_unlimited, ctx(bare))) == 1
    assert len(run(cc.pids_unlimited, ctx(bare))) == 1
    # A limit on the pod cgroup is enough.
    assert run(cc.pids_unlimited, ctx()) == []
    with pytest.raises(Skip):
        run(cc.pids_unlimited, ctx(container(limits=CgroupLimits())))


def test_qos_class_against_cgroup_parent() -> None:
    (msg,) = run(cc.qos_parent, ctx(p=pod(qos=QoS.GUARANTEED)))
    assert "Guaranteed" in msg and "Burstable parent" in msg
    with pytest.raises(Skip):
        run(cc.qos_parent, ctx(container(qos=None)))


def test_host_namespaces_against_spec() -> None:
    shared = container(namespaces={**NS, "net": 1, "uts": 2}, host_namespaces=("net", "uts"))
    msgs = run(cc.host_namespaces, ctx(shared))
    assert any("host's net namespace" in m and "hostNetwork: false" in m for m in msgs)
    assert run(cc.host_namespaces, ctx(shared, pod(host_network=True))) == []
    (msg,) = run(cc.host_namespaces, ctx(p=pod(host_pid=True)))
    assert "hostPID: true" in msg
    with pytest.raises(Skip):
        run(cc.host_namespaces, ctx(reference_pid=None))


def test_capabilities_beyond_spec_and_default() -> None:
    sys_admin = 1 << cc.CAPABILITY_BITS.index("SYS_ADMIN")
    (msg,) = run(cc.capabilities_match, ctx(container(cap_eff=DEFAULT_CAPS | sys_admin)))
    assert "SYS_ADMIN" in msg
    added = pod(spec(capabilities_add=("CAP_SYS_ADMIN",)))
    assert run(cc.capabilities_match, ctx(container(cap_eff=DEFAULT_CAPS | sys_admin), added)) == []
    dropped = pod(spec(capabilities_drop=("ALL",)))
    (msg,) = run(cc.capabilities_match, ctx(p=dropped))
    assert "CHOWN" in msg
    privileged = pod(spec(privileged=True))
    assert run(cc.capabilities_match, ctx(container(cap_eff=(1 << 41) - 1), privileged)) == []
    assert cc.capability_names(DEFAULT_CAPS) == cc.RUNTIME_DEFAULT_CAPABILITIES


def test_seccomp_and_no_new_privs_against_spec() -> None:
    (msg,) = run(cc.seccomp_applied, ctx(container(seccomp_mode=0)))
    assert "RuntimeDefault" in msg
    unconfined = pod(spec(seccomp_profile="Unconfined"))
    assert run(cc.seccomp_applied, ctx(container(seccomp_mode=0), unconfined)) == []
    (msg,) = run(cc.no_new_privs_set, ctx(container(no_new_privs=False)))
    assert "NoNewPrivs: 0" in msg
    allowed = pod(spec(allow_privilege_escalation=None))
    assert run(cc.no_new_privs_set, ctx(container(no_new_privs=False), allowed)) == []


def test_oom_kills_and_throttling_thresholds() -> None:
    oom = container(limits=limits(memory_max_bytes=32 * MiB, memory_oom_kills=3))
    (msg,) = run(cc.oom_kills, ctx(oom))
    assert msg.startswith("3 OOM kills") and "32Mi" in msg
    assert run(cc.oom_kills, ctx(oom), {"oom-kills-max": "5"}) == []
    throttled = container(
        limits=limits(cpu_quota_us=50_000, cpu_nr_periods=1000, cpu_nr_throttled=400)
    )
    (msg,) = run(cc.cpu_throttling, ctx(throttled))
    assert "400 of 1000" in msg and "40%" in msg
    assert run(cc.cpu_throttling, ctx(throttled), {"throttle-ratio-max": "0.5"}) == []
    assert run(cc.cpu_throttling, ctx(throttled), {"throttle-min-periods": "5000"}) == []
    with pytest.raises(Skip):
        run(cc.cpu_throttling, ctx(throttled), {"throttle-ratio-max": "lots"})
    with pytest.raises(Skip):  # memory_oom_kills None: not reported
        run(cc.oom_kills, ctx(container(limits=limits(memory_oom_kills=None))))


def mount(point: str, root: str, dev: str = "0:25", fs: str = "tmpfs", ro: bool = False) -> Mount:
    return Mount(1, 0, dev, root, point, ("ro" if ro else "rw",), fs, fs, ())


HOST_TABLE = (
    mount("/run", "/"),
    mount("/", "/", dev="8:1", fs="ext4"),
    mount("/sys/fs/cgroup/memory", "/", dev="0:30", fs="cgroup"),
)


def test_mount_host_paths_and_runtime_sockets() -> None:
    table = resolve_mounts(
        (
            mount("/", "/", dev="0:99", fs="overlay"),
            mount("/run/containerd/containerd.sock", "/containerd/containerd.sock", ro=True),
            mount("/data", "/srv/data", dev="8:1", fs="ext4"),
        ),
        HOST_TABLE,
    )
    assert [m.host_path for m in table] == [None, "/run/containerd/containerd.sock", "/srv/data"]
    (msg,) = run(cc.runtime_socket_mounted, ctx(container(mounts=table)))
    assert "containerd.sock" in msg and "host /run/containerd/containerd.sock" in msg
    # A socket directory under another name, found through its host path.
    hidden = resolve_mounts((mount("/mnt/x", "/"),), HOST_TABLE)
    (msg,) = run(cc.runtime_socket_mounted, ctx(container(mounts=hidden)))
    assert "host directory /run" in msg
    # Without the host table the mount point's name still gives a socket away.
    blind = resolve_mounts((mount("/var/run/docker.sock", "/docker.sock"),), None)
    assert len(run(cc.runtime_socket_mounted, ctx(container(mounts=blind)))) == 1
    with pytest.raises(Skip):
        run(cc.runtime_socket_mounted, ctx(container(mounts=None)))


def cg(point: str, root: str, ro: bool = False) -> ContainerMount:
    return ContainerMount(point, "cgroup2", ro, root, "cgroup2", None)


def test_host_cgroupfs_writable() -> None:
    (msg,) = run(cc.cgroupfs_writable, ctx(container(mounts=(cg("/sys/fs/cgroup", "/"),))))
    assert "read-write" in msg and "showing /" in msg
    own = container(mounts=(cg("/sys/fs/cgroup", CGROUP),))
    assert run(cc.cgroupfs_writable, ctx(own)) == []
    ro = container(mounts=(cg("/sys/fs/cgroup", "/", ro=True),))
    assert run(cc.cgroupfs_writable, ctx(ro)) == []


def kube_node(name: str, runtime: str, annotations: dict[str, str] | None = None) -> KubeNode:
    return KubeNode(name, "v1.26.4", runtime, None, None, annotations=annotations or {})


def test_api_node_checks() -> None:
    nodes = (
        kube_node("a", "docker://20.10.24"),
        kube_node(
            "b",
            "containerd://1.6.20",
            {"kubeadm.alpha.kubernetes.io/cri-socket": "/var/run/dockershim.sock"},
        ),
        kube_node(
            "c",
            "containerd://1.6.20",
            {"kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock"},
        ),
    )
    snap = Snapshot(kube_nodes=nodes)
    assert [v.subject for v in cl.node_runtime_docker(snap)] == ["node/a"]
    assert [v.subject for v in cl.kubeadm_cri_socket(snap)] == ["node/b"]
    with pytest.raises(Skip):
        list(cl.node_runtime_docker(Snapshot()))


def test_runtime_class_handlers() -> None:
    from inspect8s.model import ConfigValue, ContainerdConfig, ContainerdRuntime, NodeConfig

    def runtime(name: str) -> ContainerdRuntime:
        return ContainerdRuntime(name, None, {}, "/etc/containerd/config.toml")

    containerd = ContainerdConfig(
        path="/etc/containerd/config.toml",
        version=2,
        version_value=ConfigValue("version", 2, "/etc/containerd/config.toml"),
        files=(),
        plugins={},
        disabled_plugins=(),
        runtimes={"runc": runtime("runc"), "kata": runtime("kata")},
        default_runtime_name=None,
        sandbox_image=None,
        snapshotter=None,
        registry_config_path=None,
        registry_mirrors={},
        registry_configs={},
        registry_auths={},
        deprecated_keys=(),
        cri_plugin_ids=("io.containerd.grpc.v1.cri",),
    )
    config = NodeConfig(kubelet=None, containerd=containerd, crio=None, docker=None, crictl=None)
    classes = (RuntimeClass("kata", "kata"), RuntimeClass("gvisor", "runsc"))
    snap = Snapshot(node_config=config, runtime_classes=classes)
    (v,) = cl.runtime_class_handler(snap)
    assert "'gvisor'" in v.message and "'runsc'" in v.message and "kata, runc" in v.message
    with pytest.raises(Skip):
        list(cl.runtime_class_handler(Snapshot(node_config=config)))
    with pytest.raises(Skip):
        list(cl.runtime_class_handler(Snapshot(runtime_classes=classes)))
    assert list(cl.runtime_class_handler(dataclasses.replace(snap, runtime_classes=()))) == []
