"""Host-truth container checks against the real test bed: the API JSON (given with --pods,
or served by the local API server) says one thing, the kernel another.

Each pod is made through CRI the way the kubelet makes it, then described to inspect8s by a
pod object that disagrees with it on one point: a 256Mi memory limit the cgroup does not
carry, no volume for a bind-mounted runtime socket, hostNetwork false on a pod in the
host's network namespace. A fourth pod's container makes a child allocate past its 32Mi
limit; the kernel's OOM-kill counter must be what the report gives.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from testbed import ContainerRequest, PodHandle, TestBed

pytestmark = pytest.mark.integration

MiB = 1 << 20
# A child shell builds a 200 MiB string inside a 32 MiB cgroup and is OOM-killed; the
# container's init shell lives on: the child makes itself the OOM killer's first choice
# (raising one's own oom_score_adj needs no privilege), so the killer never takes the init
# shell, whose exit would remove the cgroup with the counter the checks read.
OOM_COMMAND = (
    "/bin/sh",
    "-c",
    "( echo 1000 > /proc/self/oom_score_adj; x=$(head -c 200m /dev/zero | tr '\\0' x) ); "
    "sleep infinity",
)


@dataclass
class Scene:
    bed: TestBed
    pods: dict[str, PodHandle]


def api_pod(
    handle: PodHandle,
    containers: list[dict[str, Any]],
    *,
    host_network: bool = False,
    qos: str = "Burstable",
    node: str = "this-node",
) -> dict[str, Any]:
    """The pod object the API would show for ``handle`` (as a kubectl JSON item)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": handle.name, "namespace": handle.namespace, "uid": handle.uid},
        "spec": {
            "nodeName": node,
            "hostNetwork": host_network,
            "containers": [
                {"image": "busybox:1.36", **c, "resources": c.get("resources", {})}
                for c in containers
            ],
        },
        "status": {"phase": "Running", "qosClass": qos},
    }


def oom_kills(handle: PodHandle, container: str) -> int:
    """The kernel's count, read directly (cgroup v1 memory.oom_control or v2 memory.events)."""
    rel = handle.cgroup_path(container).strip("/")
    for path in (
        Path("/sys/fs/cgroup/memory") / rel / "memory.oom_control",
        Path("/sys/fs/cgroup") / rel / "memory.events",
    ):
        if path.is_file():
            for line in path.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
    raise AssertionError(f"no oom_kill counter for {rel}")


def _oom_killed_pod(bed: TestBed) -> PodHandle:
    """A running container the kernel has OOM-killed a process of. Should the killer still
    take the init shell (memory it cannot reclaim otherwise), the container is gone with its
    cgroup: that pod is removed and made again, three times at most."""
    for attempt in range(3):
        handle = bed.run_pod(
            f"oomer{attempt or ''}",
            "isol",
            qos="burstable",
            host_network=False,
            containers=[ContainerRequest("app", command=OOM_COMMAND, memory_limit_bytes=32 * MiB)],
        )
        deadline = time.monotonic() + 30
        try:
            while oom_kills(handle, "app") == 0 and time.monotonic() < deadline:
                time.sleep(0.2)
            return handle
        except AssertionError:  # no cgroup any more: the container exited
            bed.remove_pod(handle)
    raise AssertionError("no container outlived its OOM kill in three tries")


@pytest.fixture(scope="module")
def scene(testbed: TestBed) -> Any:
    bed = testbed
    pods = {
        "nolimit": bed.run_pod(
            "nolimit",
            "isol",
            qos="burstable",
            host_network=False,
            containers=[ContainerRequest("app")],
        ),
        "socket": bed.run_pod(
            "sockpod",
            "isol",
            qos="besteffort",
            host_network=False,
            containers=[
                ContainerRequest(
                    "app",
                    mounts=[(str(bed.containerd_socket), "/run/containerd/containerd.sock", True)],
                )
            ],
        ),
        "hostnet": bed.run_pod(
            "quietnet",
            "isol",
            qos="besteffort",
            host_network=True,
            containers=[ContainerRequest("app")],
        ),
    }
    try:
        pods["oom"] = _oom_killed_pod(bed)
        yield Scene(bed, pods)
    finally:  # also when the scene failed to come up: the bed is shared with later tests
        for handle in pods.values():
            bed.remove_pod(handle)


def pod_list(scene: Scene) -> dict[str, Any]:
    p = scene.pods
    items = [
        api_pod(p["nolimit"], [{"name": "app", "resources": {"limits": {"memory": "256Mi"}}}]),
        api_pod(p["socket"], [{"name": "app"}], qos="BestEffort"),
        api_pod(p["hostnet"], [{"name": "app"}], host_network=False, qos="BestEffort"),
        api_pod(
            p["oom"],
            [{"name": "app", "resources": {"limits": {"memory": "32Mi"}}}],
        ),
    ]
    return {"apiVersion": "v1", "kind": "List", "items": items}


def audit(bed: TestBed, *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspect8s",
            "audit",
            *args,
            "--cri-endpoint",
            bed.cri_endpoint,
            "--docker-host",
            bed.docker_endpoint,
            "--select",
            "I8S-ISO",
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
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


@pytest.fixture(scope="module")
def result(scene: Scene, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("pods") / "pods.json"
    path.write_text(json.dumps(pod_list(scene)))
    return audit(scene.bed, "--pods", str(path))


def findings(result: dict[str, Any], check_id: str, subject: str) -> list[str]:
    return [
        f["message"]
        for f in result["findings"]
        if f["checkId"] == check_id and f["subject"] == subject
    ]


def subject(handle: PodHandle, container: str = "app") -> str:
    return f"Pod/{handle.namespace}/{handle.name}/container/{container}"


def test_spec_memory_limit_missing_in_the_cgroup(scene: Scene, result: dict[str, Any]) -> None:
    pod = scene.pods["nolimit"]
    (message,) = findings(result, "I8S-ISO-MEMLIMIT", subject(pod))
    assert "256Mi" in message and "no memory limit" in message
    assert pod.cgroup_path("app") in message
    # The pod whose 32Mi limit is in the kernel is not flagged.
    assert findings(result, "I8S-ISO-MEMLIMIT", subject(scene.pods["oom"])) == []


def test_runtime_socket_found_in_mountinfo_without_a_volume(
    scene: Scene, result: dict[str, Any]
) -> None:
    pod = scene.pods["socket"]
    (message,) = findings(result, "I8S-ISO-RUNTIMESOCK", subject(pod))
    assert "containerd.sock" in message and "/run/containerd/containerd.sock" in message
    assert f"host {scene.bed.containerd_socket}" in message
    # The spec check sees nothing: the API JSON declares no volume.
    assert findings(result, "I8S-ISO-RUNTIMESOCK", subject(scene.pods["nolimit"])) == []


def test_host_network_namespace_against_spec(scene: Scene, result: dict[str, Any]) -> None:
    messages = findings(result, "I8S-ISO-HOSTNS", subject(scene.pods["hostnet"]))
    assert any("host's net namespace" in m and "hostNetwork: false" in m for m in messages)
    for key in ("nolimit", "socket", "oom"):
        assert findings(result, "I8S-ISO-HOSTNS", subject(scene.pods[key])) == [], key


def test_oom_kill_count(scene: Scene, result: dict[str, Any]) -> None:
    pod = scene.pods["oom"]
    kills = oom_kills(pod, "app")
    assert kills >= 1, "the child was not OOM-killed"
    (message,) = findings(result, "I8S-ISO-OOMKILL", subject(pod))
    assert message.startswith(f"{kills} OOM kill")
    assert "32Mi" in message
    # The container itself survived: its init process is still there.
    assert Path(f"/proc/{pod.container_pids['app']}").exists()
    assert findings(result, "I8S-ISO-OOMKILL", subject(scene.pods["nolimit"])) == []


def test_memory_limit_from_the_api_server(scene: Scene, tmp_path: Path) -> None:
    """The same join with the pods served by the API test server: the node is found by
    this machine's bootID and its pods listed with fieldSelector=spec.nodeName."""
    import copy

    from tests.kubeserver import KubeServer, load_fixture

    node = copy.deepcopy(load_fixture("nodes.json")["items"][0])
    node["metadata"]["name"] = "this-node"
    node["status"]["nodeInfo"]["bootID"] = (
        Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    )
    elsewhere = api_pod(scene.pods["socket"], [{"name": "app"}], node="other-node")
    pods = [*pod_list(scene)["items"][:1], elsewhere]
    with KubeServer(pods=pods, nodes=[node]) as server:
        kubeconfig = server.kubeconfig(tmp_path / "config")
        got = audit(scene.bed, "--kubeconfig", str(kubeconfig))
        selectors = [r.q("fieldSelector") for r in server.requests_for("GET", "/api/v1/pods")]
    assert selectors and set(selectors) == {"spec.nodeName=this-node"}
    (message,) = findings(got, "I8S-ISO-MEMLIMIT", subject(scene.pods["nolimit"]))
    assert "256Mi" in message
    # The socket pod is on another node in the API: no spec here, so the spec-versus-kernel
    # checks skip for it while the mountinfo check still fires.
    sock = subject(scene.pods["socket"])
    assert findings(got, "I8S-ISO-RUNTIMESOCK", sock)
    skipped = {(o["checkId"], o["subject"]) for o in got["incomplete"]}
    assert ("I8S-ISO-MEMLIMIT", sock) in skipped
