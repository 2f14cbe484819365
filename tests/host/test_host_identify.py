"""cgroup path -> container identity, for every path format in runtime-facts.md."""

from __future__ import annotations

import pytest

from inspect8s.host.identify import identify, identify_entries
from inspect8s.model import CgroupEntry, QoS

ID = "3c8ed8564fec71ee1ea113f22b4571ae596310f4dd17176205c31d54ae3ddfe8"
UID = "ce183681-820c-43a8-aaba-a3b34854c776"
UID_ = UID.replace("-", "_")
G, B, BE = QoS.GUARANTEED, QoS.BURSTABLE, QoS.BESTEFFORT

# (path, runtime, container id, pod uid, QoS, driver)
CASES: list[tuple[str, str, str, str | None, QoS | None, str]] = [
    # kubelet cgroupfs driver
    (f"/kubepods/burstable/pod{UID}/{ID}", "unknown", ID, UID, B, "cgroupfs"),
    (f"/kubepods/besteffort/pod{UID}/{ID}", "unknown", ID, UID, BE, "cgroupfs"),
    (f"/kubepods/pod{UID}/{ID}", "unknown", ID, UID, G, "cgroupfs"),
    # static pod: the uid is a hash without dashes
    (
        f"/kubepods/besteffort/pod85d83d7c764a907482322223664f0a23/{ID}",
        "unknown",
        ID,
        "85d83d7c764a907482322223664f0a23",
        BE,
        "cgroupfs",
    ),
    # kubelet --cgroup-root=/kubelet (kind and friends)
    (f"/kubelet/kubepods/burstable/pod{UID}/{ID}", "unknown", ID, UID, B, "cgroupfs"),
    # CRI-O with cgroupfs
    (f"/kubepods/burstable/pod{UID}/crio-{ID}", "crio", ID, UID, B, "cgroupfs"),
    # kubelet systemd driver, each runtime
    (
        f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/"
        f"cri-containerd-{ID}.scope",
        "containerd",
        ID,
        UID,
        B,
        "systemd",
    ),
    (
        f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice/"
        f"crio-{ID}.scope",
        "crio",
        ID,
        UID,
        BE,
        "systemd",
    ),
    (
        f"/kubepods.slice/kubepods-pod{UID_}.slice/docker-{ID}.scope",
        "docker",
        ID,
        UID,
        G,
        "systemd",
    ),
    (
        f"/kubepods.slice/kubepods-pod{UID_}.slice/cri-containerd-{ID}.scope",
        "containerd",
        ID,
        UID,
        G,
        "systemd",
    ),
    # kind: --cgroup-root=/kubelet with systemd
    (
        f"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/"
        f"kubelet-kubepods-burstable-pod{UID_}.slice/cri-containerd-{ID}.scope",
        "containerd",
        ID,
        UID,
        B,
        "systemd",
    ),
    # sub-cgroups inside a container scope still belong to it
    (
        f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/"
        f"crio-{ID}.scope/container",
        "crio",
        ID,
        UID,
        B,
        "systemd",
    ),
    (f"/system.slice/docker-{ID}.scope/init.scope", "docker", ID, None, None, "systemd"),
    # plain Docker, podman
    (f"/docker/{ID}", "docker", ID, None, None, "cgroupfs"),
    (f"/system.slice/docker-{ID}.scope", "docker", ID, None, None, "systemd"),
    (f"/machine.slice/libpod-{ID}.scope", "podman", ID, None, None, "systemd"),
    (
        f"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope",
        "podman",
        ID,
        None,
        None,
        "systemd",
    ),
    (f"/libpod_parent/libpod-{ID}", "podman", ID, None, None, "cgroupfs"),
    # seen through a cgroup namespace: leading '..' are dropped, the rest still matches
    (
        f"/../../kubepods-burstable-pod{UID_}.slice/cri-containerd-{ID}.scope",
        "containerd",
        ID,
        UID,
        B,
        "systemd",
    ),
]


@pytest.mark.parametrize(("path", "runtime", "cid", "uid", "qos", "driver"), CASES)
def test_identify(
    path: str, runtime: str, cid: str, uid: str | None, qos: QoS | None, driver: str
) -> None:
    ident = identify(path)
    assert ident is not None
    assert (ident.runtime, ident.container_id, ident.pod_uid, ident.qos, ident.driver) == (
        runtime,
        cid,
        uid,
        qos,
        driver,
    )
    assert ident.cgroup_path == path


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/../../..",  # a container's own view through its cgroup namespace
        "/init.scope",
        "/system.slice/containerd.service",
        "/user.slice/user-0.slice/session-3.scope",
        "/process_api/b0505bd27a5ae7c01f156131279ee66f",  # a hex name, but not a container
        "/kubepods",
        "/kubepods/burstable",
        f"/kubepods/burstable/pod{UID}",  # pod-level cgroup: no container
        f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice",
        f"/system.slice/crio-conmon-{ID}.scope",  # CRI-O's monitor, not the container
        f"/kubepods.slice/kubepods-pod{UID_}.slice/crio-conmon-{ID}.scope",
        f"/machine.slice/libpod-conmon-{ID}.scope",
        f"/kubepods/burstable/pod{UID}/crio-conmon-{ID}",
        f"/somewhere/{ID}",  # bare id outside kubepods/docker
        "/docker",
        "/docker/not-an-id",
    ],
)
def test_identify_none(path: str) -> None:
    assert identify(path) is None


def test_identify_entries_hybrid_uses_v1_lines() -> None:
    path = f"/kubepods/burstable/pod{UID}/{ID}"
    entries = (
        CgroupEntry(9, ("name=systemd",), path),
        CgroupEntry(4, ("memory",), path),
        CgroupEntry(0, (), "/"),
    )
    ident = identify_entries(entries)
    assert ident is not None and ident.container_id == ID


def test_identify_entries_v2_first() -> None:
    v2 = f"/kubepods.slice/kubepods-pod{UID_}.slice/cri-containerd-{ID}.scope"
    entries = (CgroupEntry(1, ("name=systemd",), "/init.scope"), CgroupEntry(0, (), v2))
    ident = identify_entries(entries)
    assert ident is not None and ident.driver == "systemd"


def test_identify_entries_host_process() -> None:
    entries = (CgroupEntry(4, ("memory",), "/process_api/x"), CgroupEntry(0, (), "/"))
    assert identify_entries(entries) is None
