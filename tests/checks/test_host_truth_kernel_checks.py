"""The kernel-only host-truth checks (I8S-HOST-*) on hand-built contexts, and the parsers
of the facts they read (uid_map, devices.list)."""

from __future__ import annotations

import dataclasses

import pytest

from inspect8s.audit.checks import hosttruth as ht
from inspect8s.audit.registry import Skip
from inspect8s.errors import ProbeFailed
from inspect8s.host.containertruth import parse_devices_list, parse_uid_map
from inspect8s.model import ContainerMount, UidMapRange, host_uid
from tests.checks.test_container_checks import container, ctx, pod, run, spec

FULL_CAPS = 0x000001FFFFFFFFFF  # CapEff of a privileged container on Linux >= 5.9
HOST_MAP = (UidMapRange(0, 0, 4294967295),)
USERNS_MAP = (UidMapRange(0, 100000, 65536),)


def mount(point: str, fs: str, ro: bool) -> ContainerMount:
    return ContainerMount(point, fs, ro, "/", fs, None)


CLEAN = container(
    uid=1000,
    uid_map=HOST_MAP,
    devices_allow_all=False,
    mounts=(mount("/", "overlay", True), mount("/sys", "sysfs", True)),
)


def test_a_clean_container_passes_every_kernel_check() -> None:
    for func in (
        ht.privileged_in_kernel,
        ht.host_namespaces_in_kernel,
        ht.host_root_in_kernel,
        ht.seccomp_in_kernel,
        ht.rootfs_in_kernel,
    ):
        assert run(func, ctx(CLEAN)) == [], func.__name__
        assert run(func, ctx(CLEAN, no_spec=True)) == [], func.__name__


def test_privileged_from_capabilities_devices_or_sys() -> None:
    caps = dataclasses.replace(CLEAN, cap_eff=FULL_CAPS)
    assert run(ht.privileged_in_kernel, ctx(caps, no_spec=True)) == [
        "the kernel shows it privileged: its init process holds every capability "
        "(CapEff 000001ffffffffff) (no pod spec known)"
    ]
    everything = dataclasses.replace(
        CLEAN,
        cap_eff=0x3FFFFFFFFF,  # a kernel before 5.8: 38 capabilities
        devices_allow_all=True,
        mounts=(mount("/", "overlay", False), mount("/sys", "sysfs", False)),
    )
    p = pod(spec(privileged=True))
    assert run(ht.privileged_in_kernel, ctx(everything, p)) == [
        "the kernel shows it privileged: its init process holds every capability "
        "(CapEff 0000003fffffffff); its devices cgroup allows every device (a *:* rwm); "
        "/sys is mounted read-write (the spec sets privileged: true)"
    ]
    devices = dataclasses.replace(CLEAN, devices_allow_all=True)
    assert run(ht.privileged_in_kernel, ctx(devices)) == [
        "the kernel shows it privileged: its devices cgroup allows every device (a *:* rwm) "
        "(the spec does not ask for it)"
    ]


def test_host_namespaces_from_inodes() -> None:
    shared = dataclasses.replace(CLEAN, host_namespaces=("net", "pid", "uts"))
    assert run(ht.host_namespaces_in_kernel, ctx(shared, pod(host_network=True))) == [
        "the kernel shows it in the host's net namespace (inode 10) "
        "(the spec sets hostNetwork: true)",
        "the kernel shows it in the host's pid namespace (inode 12) (the spec does not ask for it)",
        "the kernel shows it in the host's uts namespace (inode 11) "
        "(the spec sets hostNetwork: true)",
    ]
    with pytest.raises(Skip, match="no host namespace reference"):
        run(ht.host_namespaces_in_kernel, ctx(shared, reference_pid=None))


def test_host_root_needs_uid_0_mapped_to_the_host() -> None:
    root = dataclasses.replace(CLEAN, uid=0)
    assert run(ht.host_root_in_kernel, ctx(root, no_spec=True)) == [
        "the kernel shows PID 4242 running as UID 0, the host's root (no user namespace "
        "remaps it) (no pod spec known)"
    ]
    assert run(ht.host_root_in_kernel, ctx(root, pod(spec(run_as_non_root=True)))) == [
        "the kernel shows PID 4242 running as UID 0, the host's root (no user namespace "
        "remaps it) although the spec sets runAsNonRoot: true"
    ]
    in_userns = dataclasses.replace(root, uid_map=USERNS_MAP)
    assert run(ht.host_root_in_kernel, ctx(in_userns)) == []
    with pytest.raises(Skip, match="uid_map"):
        run(ht.host_root_in_kernel, ctx(dataclasses.replace(root, uid_map=None)))
    with pytest.raises(Skip, match="status"):
        run(ht.host_root_in_kernel, ctx(dataclasses.replace(root, uid=None)))


def test_seccomp_mode_0_with_what_the_spec_said() -> None:
    off = dataclasses.replace(CLEAN, seccomp_mode=0)
    assert run(ht.seccomp_in_kernel, ctx(off, pod(spec(seccomp_profile=None)))) == [
        "the kernel shows PID 4242 with no seccomp filter (Seccomp: 0) "
        "(the spec sets no seccompProfile)"
    ]
    assert run(ht.seccomp_in_kernel, ctx(off, pod(spec(privileged=True)))) == [
        "the kernel shows PID 4242 with no seccomp filter (Seccomp: 0) "
        "(the spec sets privileged: true, which turns seccomp off)"
    ]
    with pytest.raises(Skip):
        run(ht.seccomp_in_kernel, ctx(dataclasses.replace(off, seccomp_mode=None)))


def test_writable_root_filesystem_from_the_mount_table() -> None:
    rw = dataclasses.replace(CLEAN, mounts=(mount("/", "overlay", False),))
    assert run(ht.rootfs_in_kernel, ctx(rw, pod(spec(read_only_root_filesystem=True)))) == [
        "the kernel shows its root filesystem (overlay) read-write although the spec sets "
        "readOnlyRootFilesystem: true"
    ]
    assert run(ht.rootfs_in_kernel, ctx(rw, no_spec=True)) == [
        "the kernel shows its root filesystem (overlay) read-write (no pod spec known)"
    ]
    with pytest.raises(Skip):
        run(ht.rootfs_in_kernel, ctx(dataclasses.replace(CLEAN, mounts=None)))


def test_parse_uid_map() -> None:
    text = "         0     100000      65536\n     65536          0          1\n"
    ranges = parse_uid_map(text, "t")
    assert ranges == (UidMapRange(0, 100000, 65536), UidMapRange(65536, 0, 1))
    assert host_uid(0, ranges) == 100000
    assert host_uid(65536, ranges) == 0
    assert host_uid(70000, ranges) is None
    assert parse_uid_map("0 0 4294967295\n", "t") == HOST_MAP
    for bad in ("", "0 0\n", "a b c\n"):
        with pytest.raises(ProbeFailed):
            parse_uid_map(bad, "t")


def test_parse_devices_list() -> None:
    assert parse_devices_list("a *:* rwm\n") is True
    assert parse_devices_list("c 1:3 rwm\nc 5:0 rwm\nb *:* m\n") is False
    assert parse_devices_list("") is False


def test_full_capability_set() -> None:
    assert ht.full_capability_set(FULL_CAPS)
    assert ht.full_capability_set(0x3FFFFFFFFF)
    assert not ht.full_capability_set(0xA80425FB)
