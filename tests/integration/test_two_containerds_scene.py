"""A real node's traps, for real: two containerds, same-name pods in both, a dockerd.

The scene runs in a private mount namespace the test makes (tests/testbed/namespace.py),
so that the default paths are the scene's own and a busy host's real ones are neither used
nor disturbed:

* containerd A, the kubelet's: ``--config /etc/k8s-node/containerd.toml``, socket
  ``/run/k8s-containerd/containerd.sock``, runc root ``/run/k8s-containerd/runc``;
* containerd B on the **default socket** ``/run/containerd/containerd.sock`` with its config
  at the **default path** (started with no ``--config``), and a dockerd on it listening on
  ``/var/run/docker.sock`` (``/var/run`` is a link to ``/run``);
* a stopped kubelet: only its unit (``/etc/systemd/system/kubelet.service``) and its config
  (``/var/lib/kubelet/config.yaml``, ``containerRuntimeEndpoint`` naming A's socket);
* pods ``shop/web`` in both containerds (different UIDs), ``shop/api`` in B only, a Docker
  container in dockerd.

inspect8s runs inside the namespace (``nsenter --mount``), as on such a node, and from
outside with ``--root /proc/<holder>/root`` (a DaemonSet's ``/host``). Only what the
scene started is asserted about: other daemons the machine runs may show up too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from testbed import ContainerRequest, PodHandle, TestBed
from testbed.namespace import MountNamespace

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
A_SOCKET = "/run/k8s-containerd/containerd.sock"
B_SOCKET = "/run/containerd/containerd.sock"
UNIT = """[Unit]
Description=kubelet: The Kubernetes Node Agent

[Service]
ExecStart=/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml --v=2
Restart=always

[Install]
WantedBy=multi-user.target
"""
KUBELET_CONFIG = f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://{A_SOCKET}
"""


@dataclass
class Scene:
    ns: MountNamespace
    a: TestBed
    b: TestBed
    web_a: PodHandle
    web_b: PodHandle
    api_b: PodHandle
    docker_id: str

    def run(self, *args: str, inside: bool = True) -> subprocess.CompletedProcess[str]:
        """``inspect8s ARGS`` inside the scene's mount namespace (or on this one)."""
        prefix = self.ns.exec_prefix if inside else []
        return subprocess.run(
            [*prefix, sys.executable, "-m", "inspect8s", *args],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
            check=False,
        )

    def json(self, *args: str, inside: bool = True) -> Any:
        proc = self.run(*args, "-o", "json", inside=inside)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def scene(testbed_available: None) -> Iterator[Scene]:
    with MountNamespace() as ns:
        ns.write("/etc/systemd/system/kubelet.service", UNIT)
        ns.write("/var/lib/kubelet/config.yaml", KUBELET_CONFIG)
        a = TestBed(
            mount_ns=ns,
            docker=False,
            paths={
                "containerd_config": "/etc/k8s-node/containerd.toml",
                "containerd_socket": A_SOCKET,
                "containerd_state": "/run/k8s-containerd/state",
                "runc_root": "/run/k8s-containerd/runc",
            },
        )
        b = TestBed(
            mount_ns=ns,
            config_flag=False,
            paths={
                "containerd_config": "/etc/containerd/config.toml",
                "containerd_socket": B_SOCKET,
                "containerd_state": "/run/containerd",
                "runc_root": "/run/containerd/runc",
                "docker_socket": "/var/run/docker.sock",
                "docker_exec_root": "/run/docker",
            },
        )
        with a, b:
            req = [ContainerRequest("web", memory_limit_bytes=128 << 20, cpu_quota=50_000)]
            web_a = a.run_pod("web", "shop", containers=req)
            web_b = b.run_pod("web", "shop", containers=[ContainerRequest("main")])
            api_b = b.run_pod("api", "shop")
            legacy = b.run_docker("legacy")
            yield Scene(ns, a, b, web_a, web_b, api_b, legacy.id)


def _daemon(report: dict[str, Any], pid: int | None) -> dict[str, Any]:
    return next(r for r in report["runtimes"] if r["pid"] == pid)


def test_node_lists_each_runtime_with_its_own_sockets_and_containers(scene: Scene) -> None:
    report = scene.json("node")
    a, b = _daemon(report, scene.a.containerd_pid), _daemon(report, scene.b.containerd_pid)
    assert (a["name"], b["name"]) == ("containerd", "containerd")
    assert a["sockets"] == [A_SOCKET]
    assert (a["config_file"], a["config_source"]) == ("/etc/k8s-node/containerd.toml", "--config")
    assert b["sockets"] == [B_SOCKET]
    assert (b["config_file"], b["config_source"]) == ("/etc/containerd/config.toml", "default path")
    assert a["version"] and a["version"] == b["version"]
    dockerd = _daemon(report, scene.b.dockerd_pid)
    assert dockerd["sockets"] == ["/var/run/docker.sock"]
    # by daemon too: a busy host's own dockerd listens on a /var/run/docker.sock of its own
    sockets = {(s["path"], s["daemon_pid"]): s for s in report["sockets"]}
    docker_socket = sockets["/var/run/docker.sock", scene.b.dockerd_pid]
    assert docker_socket["aliases"] == ["/run/docker.sock"]
    assert sockets[f"{A_SOCKET}.ttrpc", scene.a.containerd_pid]["runtime"] == "containerd-ttrpc"
    # Every container of the scene is joined to the daemon that runs it.
    by_id = {c["id"]: c for c in report["containers"]}
    for bed, pods in ((scene.a, [scene.web_a]), (scene.b, [scene.web_b, scene.api_b])):
        for pod in pods:
            for cid in (pod.sandbox_id, *pod.container_ids.values()):
                c = by_id[cid]
                assert (c["pod_uid"], c["runtime_pid"]) == (pod.uid, bed.containerd_pid)
    assert by_id[scene.docker_id]["runtime_pid"] == scene.b.dockerd_pid
    # None of the scene's sockets failed to answer (the ttrpc and dockerd's internal
    # sockets are never asked).
    mine = (A_SOCKET, B_SOCKET, "/var/run/docker.sock", "/run/docker")
    assert [e for e in report["errors"] if any(m in e["detail"] for m in mine)] == []


def test_kubelet_runtime_from_its_files_alone(scene: Scene) -> None:
    kubelet = scene.json("node")["kubelet_runtime"]
    assert kubelet["endpoint"] == f"unix://{A_SOCKET}"
    assert kubelet["set_by"] == "config containerRuntimeEndpoint"
    assert kubelet["source"].startswith("host:/var/lib/kubelet/config.yaml:")
    assert kubelet["kubelet_pid"] is None  # stopped: its unit and config were read
    assert (kubelet["daemon_pid"], kubelet["runtime"]) == (scene.a.containerd_pid, "containerd")


def test_trace_takes_the_kubelets_pod_through_the_kubelets_runtime(scene: Scene) -> None:
    doc = scene.json("pod", "web", "-n", "shop", "--trace-runtime")
    assert doc["pod_uid"] == scene.web_a.uid
    node = {x["name"]: x for x in doc["node_links"]}
    runtime = node["runtime"]["values"]
    assert runtime["pid"] == scene.a.containerd_pid
    assert runtime["config_file"] == "/etc/k8s-node/containerd.toml"
    assert runtime["kubelet_runtime"] is True
    (web,) = doc["containers"]
    assert web["container_id"] == scene.web_a.container_ids["web"]
    links = {x["name"]: x for x in web["links"]}
    assert links["handler"]["values"]["runtime_type"] == "io.containerd.runc.v2"
    oci = links["oci-runtime"]["values"]
    assert oci["state_file"] == f"/run/k8s-containerd/runc/k8s.io/{web['container_id']}/state.json"
    assert oci["state_init_pid"] == scene.web_a.container_pids["web"]
    assert links["limits"]["values"]["memory_max_bytes"] == 128 << 20
    # (a busy host may add its own shop/web to the notes: only the scene's is asserted)
    assert (
        f"another pod has this namespace/name: shop/web (UID {scene.web_b.uid}, "
        f"containerd PID {scene.b.containerd_pid})"
    ) in doc["notes"]


def test_same_name_pods_are_told_apart_by_uid(scene: Scene) -> None:
    doc = scene.json("pod", "web", "-n", "shop", "--uid", scene.web_b.uid, "--trace-runtime")
    assert doc["pod_uid"] == scene.web_b.uid
    runtime = {x["name"]: x for x in doc["node_links"]}["runtime"]["values"]
    assert (runtime["pid"], runtime["kubelet_runtime"]) == (scene.b.containerd_pid, False)
    ids = {c["container_id"] for c in doc["containers"]}
    assert ids == set(scene.web_b.container_ids.values())


def test_pid_of_a_pause_process_names_its_pod(scene: Scene) -> None:
    proc = scene.run("pid", str(scene.web_a.sandbox_pid))
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first == (
        f"PID {scene.web_a.sandbox_pid} is the sandbox (pause process) of pod shop/web "
        f"(UID {scene.web_a.uid}, containerd PID {scene.a.containerd_pid})"
    )


def test_from_outside_the_namespace_with_its_root(scene: Scene) -> None:
    """A DaemonSet's view: the scene's filesystem mounted as the root (here
    /proc/<holder>/root), inspect8s in another mount namespace."""
    report = scene.json("node", "--root", f"/proc/{scene.ns.pid}/root", inside=False)
    a = _daemon(report, scene.a.containerd_pid)
    assert a["sockets"] == [A_SOCKET]
    kubelet = report["kubelet_runtime"]
    assert kubelet["daemon_pid"] == scene.a.containerd_pid
    by_id = {c["id"]: c for c in report["containers"]}
    web = by_id[scene.web_a.container_ids["web"]]
    assert (web["name"], web["runtime_pid"]) == ("web", scene.a.containerd_pid)
