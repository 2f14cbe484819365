"""The test bed is real: pods made through CRI and Docker containers are host processes.

These tests read the host's /proc and /sys/fs/cgroup directly: they check the test bed
itself, which the rest of the suite trusts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from testbed import ContainerRequest, TestBed, host, leftovers

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


def cgroup_lines(pid: int) -> dict[str, str]:
    """controller list -> path, from /proc/PID/cgroup (v2's line under the key "")."""
    paths = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        paths[controllers] = path
    return paths


def parent_pid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").decode().split("\0")


def test_cri_pod_is_a_containerd_process_with_the_requested_limits(testbed: TestBed) -> None:
    pod = testbed.run_pod(
        "real-burstable",
        namespace="shop",
        qos="burstable",
        containers=[ContainerRequest("app", memory_limit_bytes=96 * MiB, cpu_quota=30_000)],
    )
    try:
        container_id = pod.container_ids["app"]
        with testbed.cri_client() as cri:
            assert cri.version()["runtimeName"] == "containerd"
            status = cri.container_status(container_id, verbose=True)
        pid = status["info"]["info"]["pid"]
        assert pid == pod.container_pids["app"]
        assert host.pid_alive(pid)
        assert status["status"]["labels"] == {
            "io.kubernetes.container.name": "app",
            "io.kubernetes.pod.name": "real-burstable",
            "io.kubernetes.pod.namespace": "shop",
            "io.kubernetes.pod.uid": pod.uid,
        }

        paths = cgroup_lines(pid)
        expected = f"/kubepods/burstable/pod{pod.uid}/{container_id}"
        assert paths["memory"] == expected
        v1_paths = [p for controllers, p in paths.items() if controllers]
        assert v1_paths and all(p.endswith(container_id) for p in v1_paths)

        memory = host.hierarchy_of("memory")
        cpu = host.hierarchy_of("cpu")
        assert memory is not None and cpu is not None
        limit = (memory / expected.lstrip("/") / "memory.limit_in_bytes").read_text()
        assert int(limit) == 96 * MiB
        assert int((cpu / expected.lstrip("/") / "cpu.cfs_quota_us").read_text()) == 30_000
        # The pod cgroup is limited as the kubelet limits it: the sum of its containers.
        pod_limit = (memory / expected.lstrip("/")).parent / "memory.limit_in_bytes"
        assert int(pod_limit.read_text()) == 96 * MiB
    finally:
        testbed.remove_pod(pod)
    assert not host.pid_alive(pid)
    assert not host.cgroup_dirs(pod.cgroup_parent)


def test_docker_container_is_a_process_under_a_moby_shim(testbed: TestBed) -> None:
    container = testbed.run_docker("i8s-real-docker", mem_limit=48 * MiB)
    try:
        assert host.pid_alive(container.pid)
        shim = cmdline(parent_pid(container.pid))
        assert Path(shim[0]).name == "containerd-shim-runc-v2"
        assert shim[1:3] == ["-namespace", "moby"]
        assert ["-id", container.id] == shim[3:5]
        path = cgroup_lines(container.pid)["memory"]
        assert path == f"/docker/{container.id}"
        memory = host.hierarchy_of("memory")
        assert memory is not None
        limit = (memory / path.lstrip("/") / "memory.limit_in_bytes").read_text()
        assert int(limit) == 48 * MiB
    finally:
        testbed.remove_docker(container)
    assert not host.pid_alive(container.pid)


def test_qos_classes_labels_and_network_namespaces(testbed: TestBed) -> None:
    own_netns = os.readlink("/proc/self/ns/net")
    pods = [
        testbed.run_pod(
            "q-guaranteed",
            qos="guaranteed",
            containers=[ContainerRequest("app", memory_limit_bytes=32 * MiB, cpu_quota=10_000)],
        ),
        testbed.run_pod("q-burstable", qos="burstable", host_network=False),
        testbed.run_pod("q-besteffort", qos="besteffort", host_pid=True, privileged=True),
    ]
    try:
        guaranteed, burstable, besteffort = pods
        assert guaranteed.cgroup_parent == f"/kubepods/pod{guaranteed.uid}"
        assert burstable.cgroup_parent == f"/kubepods/burstable/pod{burstable.uid}"
        assert besteffort.cgroup_parent == f"/kubepods/besteffort/pod{besteffort.uid}"
        for pod in pods:
            assert cgroup_lines(pod.container_pids["app"])["memory"] == pod.cgroup_path("app")

        with testbed.cri_client() as cri:
            sandboxes = {s["id"]: s for s in cri.list_pod_sandboxes()["items"]}
            for pod in pods:
                labels = sandboxes[pod.sandbox_id]["labels"]
                assert labels["io.kubernetes.pod.name"] == pod.name
                assert labels["io.kubernetes.pod.namespace"] == "default"
                assert labels["io.kubernetes.pod.uid"] == pod.uid
            options = {
                pod.name: cri.pod_sandbox_status(pod.sandbox_id)["status"]["linux"]["namespaces"][
                    "options"
                ]
                for pod in pods
            }
        # MessageToDict leaves out enum zero values: POD for network and ipc.
        assert options["q-guaranteed"] == {"network": "NODE", "pid": "CONTAINER"}
        assert options["q-burstable"] == {"pid": "CONTAINER"}
        assert options["q-besteffort"] == {"network": "NODE", "pid": "NODE"}

        # Host network shares this process's network namespace; the other pod has its own.
        assert os.readlink(f"/proc/{guaranteed.container_pids['app']}/ns/net") == own_netns
        assert os.readlink(f"/proc/{burstable.container_pids['app']}/ns/net") != own_netns
        assert burstable.netns_path is not None
        assert burstable.netns_path.startswith(str(testbed.base_dir))
        # host PID: the container sees host PIDs, so its PID namespace is this process's.
        assert os.readlink(f"/proc/{besteffort.container_pids['app']}/ns/pid") == os.readlink(
            "/proc/self/ns/pid"
        )
    finally:
        for pod in pods:
            testbed.remove_pod(pod)


def test_bind_mount_of_a_runtime_socket(testbed: TestBed) -> None:
    pod = testbed.run_pod(
        "socket-mounter",
        containers=[
            ContainerRequest(
                "builder",
                privileged=True,
                mounts=[(str(testbed.containerd_socket), "/run/containerd.sock", False)],
            )
        ],
    )
    try:
        pid = pod.container_pids["builder"]
        mountinfo = Path(f"/proc/{pid}/mountinfo").read_text()
        assert " /run/containerd.sock " in mountinfo
        with testbed.cri_client() as cri:
            mounts = cri.container_status(pod.container_ids["builder"])["status"]["mounts"]
        assert {
            "containerPath": "/run/containerd.sock",
            "hostPath": str(testbed.containerd_socket),
        } in mounts
    finally:
        testbed.remove_pod(pod)


def test_a_short_lived_test_bed_leaves_nothing_behind(testbed_available: None) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), TestBed() as bed:
        pod = bed.run_pod(
            "leak-check",
            qos="guaranteed",
            containers=[ContainerRequest("app", memory_limit_bytes=16 * MiB, cpu_quota=5_000)],
            host_network=False,
        )
        docker = bed.run_docker("i8s-leak-check", mem_limit=16 * MiB)
        footprint = bed.footprint()
        # Before teardown the footprint is real, so the check below can fail.
        assert all(host.pid_alive(pid, start) for pid, start in footprint.daemon_pids)
        assert all(host.pid_alive(pid, start) for pid, start in footprint.container_pids)
        assert host.cgroup_dirs(pod.cgroup_parent)
        assert host.cgroup_dirs(f"/docker/{docker.id}")
        assert host.mounts_under(bed.base_dir)
        assert host.pids_referencing(str(bed.base_dir))
        assert leftovers(footprint)
        raise Boom  # a failing test: teardown must still run
    assert leftovers(footprint) == []
