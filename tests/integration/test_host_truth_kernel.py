"""Kernel-only host-truth checks on the real test bed, with no pod spec at all (no API, no
--pods): a privileged pod, a host-network pod, a host-PID pod and a root-running pod are
flagged from /proc and the cgroup alone; a container with none of these is not."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from testbed import ContainerRequest, PodHandle, TestBed

pytestmark = pytest.mark.integration

KERNEL_CHECKS = ("I8S-HOST-PRIVILEGED", "I8S-HOST-HOSTNS", "I8S-HOST-ROOT")


@dataclass
class Scene:
    bed: TestBed
    pods: dict[str, PodHandle]
    result: dict[str, Any]


@pytest.fixture(scope="module")
def scene(testbed: TestBed) -> Any:
    bed = testbed
    if not bed.private_network:
        pytest.skip("the test bed has no private pod network (macvlan/host-local CNI plugins)")
    pods = {
        "privileged": bed.run_pod(
            "priv",
            "kern",
            host_network=False,
            privileged=True,
            uid=1000,
            containers=[ContainerRequest("app")],
        ),
        "hostnet": bed.run_pod(
            "netpod", "kern", host_network=True, uid=1000, containers=[ContainerRequest("app")]
        ),
        "hostpid": bed.run_pod(
            "pidpod",
            "kern",
            host_network=False,
            host_pid=True,
            uid=1000,
            containers=[ContainerRequest("app")],
        ),
        "root": bed.run_pod(
            "rootpod", "kern", host_network=False, containers=[ContainerRequest("app")]
        ),
        "clean": bed.run_pod(
            "cleanpod", "kern", host_network=False, uid=1000, containers=[ContainerRequest("app")]
        ),
    }
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "inspect8s",
                "audit",
                "--cri-endpoint",
                bed.cri_endpoint,
                "--docker-host",
                bed.docker_endpoint,
                "--select",
                "I8S-HOST",
                "--fail-on",
                "none",
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        yield Scene(bed, pods, json.loads(proc.stdout))
    finally:
        for handle in pods.values():
            bed.remove_pod(handle)


def found(scene: Scene, key: str, check_id: str) -> list[str]:
    handle = scene.pods[key]
    subject = f"Pod/{handle.namespace}/{handle.name}/container/app"
    return [
        f["message"]
        for f in scene.result["findings"]
        if f["checkId"] == check_id and f["subject"] == subject
    ]


def test_every_kernel_check_ran_without_a_spec(scene: Scene) -> None:
    ids = {c["id"] for c in scene.result["checks"]}
    assert set(KERNEL_CHECKS) <= ids
    assert scene.result["summary"]["subjects"] >= 5


def test_the_privileged_container_is_flagged_from_the_kernel(scene: Scene) -> None:
    [message] = found(scene, "privileged", "I8S-HOST-PRIVILEGED")
    assert message.startswith("the kernel shows it privileged: ")
    # It runs as UID 1000, so the kernel cleared its capabilities at the UID change
    # (capabilities(7)); the mounts and the devices cgroup still give it away.
    assert "/sys is mounted read-write" in message
    assert "holds every capability" not in message
    assert message.endswith("(no pod spec known)")


def test_host_network_and_host_pid_are_flagged_from_the_kernel(scene: Scene) -> None:
    net = found(scene, "hostnet", "I8S-HOST-HOSTNS")
    assert any("host's net namespace" in m for m in net), net
    pid = found(scene, "hostpid", "I8S-HOST-HOSTNS")
    assert any("host's pid namespace" in m for m in pid), pid
    assert not any("net namespace" in m for m in pid)


def test_the_root_running_container_is_flagged(scene: Scene) -> None:
    [message] = found(scene, "root", "I8S-HOST-ROOT")
    assert "running as UID 0, the host's root" in message
    for key in ("privileged", "hostnet", "hostpid", "clean"):  # all run as UID 1000
        assert found(scene, key, "I8S-HOST-ROOT") == [], key


def test_the_clean_container_gives_none_of_those(scene: Scene) -> None:
    for check_id in KERNEL_CHECKS:
        assert found(scene, "clean", check_id) == [], check_id
    outcomes = {
        (o["checkId"], o["status"])
        for o in scene.result["incomplete"]
        if "cleanpod" in o["subject"] and o["checkId"] in KERNEL_CHECKS
    }
    assert outcomes == set()  # decided, not skipped
