"""`inspect8s node`, `pod --trace-runtime` and `pid` against the real test bed.

Pods are created through CRI the way the kubelet does (one per QoS class, one with host
network, one with host PID, one privileged) and one Docker container; every figure the
report gives is compared with what the runtime and the host say.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from testbed import ContainerRequest, DockerHandle, PodHandle, TestBed

pytestmark = pytest.mark.integration

MiB = 1 << 20


@dataclass
class Scene:
    bed: TestBed
    pods: dict[str, PodHandle]
    docker: DockerHandle


@pytest.fixture(scope="module")
def scene(testbed: TestBed) -> Any:
    bed = testbed
    pods = {
        "guaranteed": bed.run_pod(
            "web-g",
            "shop",
            qos="guaranteed",
            host_network=False,
            containers=[ContainerRequest("app", memory_limit_bytes=128 * MiB, cpu_quota=25_000)],
        ),
        "burstable": bed.run_pod(
            "api-b",
            "shop",
            qos="burstable",
            host_network=False,
            containers=[
                ContainerRequest("app", memory_limit_bytes=64 * MiB, cpu_quota=20_000),
                ContainerRequest("sidecar"),
            ],
        ),
        "besteffort": bed.run_pod(
            "batch-be",
            "jobs",
            qos="besteffort",
            host_network=False,
            containers=[ContainerRequest("job")],
        ),
        "hostnet": bed.run_pod(
            "netpod",
            "infra",
            qos="besteffort",
            host_network=True,
            containers=[ContainerRequest("agent")],
        ),
        "hostpid": bed.run_pod(
            "pidpod",
            "infra",
            qos="besteffort",
            host_network=False,
            host_pid=True,
            containers=[ContainerRequest("ps")],
        ),
        "privileged": bed.run_pod(
            "privpod",
            "infra",
            qos="besteffort",
            host_network=False,
            privileged=True,
            containers=[ContainerRequest("root", privileged=True)],
        ),
    }
    docker = bed.run_docker("legacy", mem_limit=48 * MiB)
    yield Scene(bed, pods, docker)
    for handle in pods.values():
        bed.remove_pod(handle)
    bed.remove_docker(docker)


def cli(bed: TestBed, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "inspect8s",
            *args,
            "--cri-endpoint",
            bed.cri_endpoint,
            "--docker-host",
            bed.docker_endpoint,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cli_json(bed: TestBed, *args: str) -> dict[str, Any]:
    proc = cli(bed, *args, "-o", "json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


@pytest.fixture(scope="module")
def report(scene: Scene) -> dict[str, Any]:
    return cli_json(scene.bed, "node")


def containers_by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in report["containers"]}


EXPECTED_HOST_NS = {
    "guaranteed": set(),
    "burstable": set(),
    "besteffort": set(),
    "hostnet": {"net", "uts"},  # the kubelet gives a host-network pod the host's UTS too
    "hostpid": {"pid"},
    "privileged": set(),
}


def test_node_lists_every_pod_container_with_runtime_truth(
    scene: Scene, report: dict[str, Any]
) -> None:
    got = containers_by_id(report)
    for key, pod in scene.pods.items():
        sandbox = got[pod.sandbox_id]
        assert sandbox["is_sandbox"] is True
        assert sandbox["init_pid"] == pod.sandbox_pid
        assert (sandbox["pod_namespace"], sandbox["pod_name"]) == (pod.namespace, pod.name)
        assert sandbox["pod_uid"] == pod.uid
        for name, cid in pod.container_ids.items():
            c = got[cid]
            assert c["name"] == name
            assert c["runtime"] == "containerd"
            assert c["init_pid"] == pod.container_pids[name], (key, name)
            assert c["qos"] == {"guaranteed": "Guaranteed", "burstable": "Burstable"}.get(
                pod.qos, "BestEffort"
            )
            assert set(c["host_namespaces"]) == EXPECTED_HOST_NS[key], (key, name)
            # The shim is the real parent of both the pause and the container process.
            ppid = int(Path(f"/proc/{c['init_pid']}/stat").read_text().rsplit(")", 1)[1].split()[1])
            assert c["shim_pid"] == ppid == sandbox["shim_pid"]


def test_limits_equal_those_set(scene: Scene, report: dict[str, Any]) -> None:
    got = containers_by_id(report)
    g = got[scene.pods["guaranteed"].container_ids["app"]]["limits"]
    assert g["memory_max_bytes"] == 128 * MiB
    assert (g["cpu_quota_us"], g["cpu_period_us"]) == (25_000, 100_000)
    b = got[scene.pods["burstable"].container_ids["app"]]["limits"]
    assert b["memory_max_bytes"] == 64 * MiB and b["cpu_quota_us"] == 20_000
    side = got[scene.pods["burstable"].container_ids["sidecar"]]["limits"]
    assert side["memory_max_bytes"] is None and side["cpu_quota_us"] is None
    assert side["cpu_shares"] == 2


def test_docker_container_is_listed(scene: Scene, report: dict[str, Any]) -> None:
    got = containers_by_id(report)
    d = got[scene.docker.id]
    assert d["runtime"] == "docker"
    assert d["name"] == "legacy"
    assert d["init_pid"] == scene.docker.pid
    assert d["cgroup_path"] == f"/docker/{scene.docker.id}"
    assert d["limits"]["memory_max_bytes"] == 48 * MiB
    assert d["host_namespaces"] == []
    assert d["pod_name"] is None
    shim = next(s for s in report["shims"] if s["pid"] == d["shim_pid"])
    assert shim["namespace"] == "moby"


def test_runtimes_versions_from_their_apis(scene: Scene, report: dict[str, Any]) -> None:
    # by daemon PID: a busy host runs containerds and dockerds of its own beside the bed's
    runtimes = {r["pid"]: r for r in report["runtimes"]}
    version = scene.bed.cri_client().version()
    containerd = runtimes[scene.bed.containerd_pid]
    assert containerd["name"] == "containerd"
    assert containerd["version"] == version["runtimeVersion"]
    dockerd = runtimes[scene.bed.dockerd_pid]
    assert dockerd["name"] == "dockerd"
    assert dockerd["version"] == scene.bed.docker.version()["Version"]


def link(trace: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(x for x in trace["links"] if x["name"] == name)
    return found


def test_pod_trace_runtime_chain(scene: Scene) -> None:
    pod = scene.pods["guaranteed"]
    doc = cli_json(scene.bed, "pod", pod.name, "-n", pod.namespace, "--trace-runtime", "--local")
    assert doc["kind"] == "RuntimeChain" and doc["pod_uid"] == pod.uid
    runtime = next(x for x in doc["node_links"] if x["name"] == "runtime")
    assert runtime["values"]["name"] == "containerd"
    assert runtime["values"]["version"] == scene.bed.cri_client().version()["runtimeVersion"]
    assert runtime["values"]["cri_api_version"] == "v1"
    (app,) = doc["containers"]
    assert app["container_id"] == pod.container_ids["app"]
    assert link(app, "handler")["values"]["runtime_type"] == "io.containerd.runc.v2"
    shim_pid = link(app, "shim")["values"]["pid"]
    cmdline = Path(f"/proc/{shim_pid}/cmdline").read_bytes().split(b"\0")
    assert cmdline[0].endswith(b"containerd-shim-runc-v2")
    oci = link(app, "oci-runtime")["values"]
    assert oci["binary"].endswith("/runc")
    runc_version = subprocess.run(
        [oci["binary"], "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[2]
    assert oci["version"] == runc_version
    assert oci["state_init_pid"] == pod.container_pids["app"]
    assert oci["state_file"].startswith(str(scene.bed.runc_root))
    procs = link(app, "processes")["values"]
    assert procs["init_pid"] == procs["runtime_reported_pid"] == pod.container_pids["app"]
    assert procs["sandbox_pid"] == pod.sandbox_pid
    ns = link(app, "namespaces")["values"]
    for kind in ("net", "pid", "ipc", "uts", "mnt"):
        inode = int(os.readlink(f"/proc/{pod.container_pids['app']}/ns/{kind}").split("[")[1][:-1])
        assert ns["inodes"][kind] == inode
    assert ns["shared_with_host"] == []
    assert set(ns["shared_with_sandbox"]) >= {"net", "ipc", "uts"}
    cgroup = link(app, "cgroup")["values"]
    assert cgroup["path"] == f"/kubepods/pod{pod.uid}/{pod.container_ids['app']}"
    limits = link(app, "limits")["values"]
    assert limits["memory_max_bytes"] == 128 * MiB and limits["cpu_limit_millicores"] == 250
    requested = link(app, "requested")["values"]
    assert requested["memory_limit_bytes"] == 128 * MiB and requested["cpu_quota"] == 25_000


def test_pod_brief_and_table(scene: Scene) -> None:
    pod = scene.pods["burstable"]
    proc = cli(scene.bed, "pod", pod.name, "-n", pod.namespace, "--local")
    assert proc.returncode == 0, proc.stderr
    assert "sidecar" in proc.stdout and "(sandbox)" in proc.stdout
    proc = cli(scene.bed, "pod", pod.name, "--trace-runtime", "--local")
    assert proc.returncode == 0, proc.stderr
    for word in ("kubelet", "cri-endpoint", "runtime", "shim", "oci-runtime", "namespaces"):
        assert word in proc.stdout


def test_unknown_pod_lists_close_matches(scene: Scene) -> None:
    # A name no pod has, here or on a busy host ("web" itself may be another runtime's pod).
    proc = cli(scene.bed, "pod", "web-gx", "--local")
    assert proc.returncode == 2
    assert "web-g" in proc.stderr and "Traceback" not in proc.stderr


def test_pid_of_docker_container_names_the_moby_chain(scene: Scene) -> None:
    doc = cli_json(scene.bed, "pid", str(scene.docker.pid))
    assert doc["container"] == scene.docker.id
    (trace,) = doc["chain"]["containers"]
    assert link(trace, "runtime")["values"]["name"] == "dockerd"
    assert link(trace, "containerd")["values"]["namespace"] == "moby"
    assert link(trace, "shim")["values"]["namespace"] == "moby"
    oci = link(trace, "oci-runtime")["values"]
    assert oci["state_init_pid"] == scene.docker.pid


def test_pid_of_a_thread_and_of_a_host_process(scene: Scene) -> None:
    pod = scene.pods["besteffort"]
    pid = pod.container_pids["job"]
    doc = cli_json(scene.bed, "pid", str(pid))
    assert doc["container"] == pod.container_ids["job"]
    assert doc["chain"]["pod_name"] == pod.name
    # containerd is multi-threaded: one of its thread IDs maps back to its process.
    tids = [int(t) for t in os.listdir(f"/proc/{scene.bed.containerd_pid}/task")]
    tid = next(t for t in tids if t != scene.bed.containerd_pid)
    doc = cli_json(scene.bed, "pid", str(tid))
    assert doc["pid"] == scene.bed.containerd_pid and doc["container"] is None


def test_pid_that_does_not_exist(scene: Scene) -> None:
    proc = cli(scene.bed, "pid", "4194303")
    assert proc.returncode == 2
    assert "no process with PID 4194303" in proc.stderr


def test_pod_trace_joins_the_api_view_on_this_node(scene: Scene, tmp_path: Path) -> None:
    """The API says the pod runs on a node whose bootID is this machine's: trace locally,
    with the API's view (phase, containerIDs) joined to the host's."""
    import copy

    from tests.kubeserver import KubeServer, load_fixture

    pod = scene.pods["guaranteed"]
    template = load_fixture("pod-web-guaranteed.json")
    api_pod = copy.deepcopy(template)
    api_pod["metadata"].update(name=pod.name, namespace=pod.namespace, uid=pod.uid)
    api_pod["spec"]["nodeName"] = "this-node"
    status = api_pod["status"]["containerStatuses"][0]
    status["name"] = "app"
    status["containerID"] = f"containerd://{pod.container_ids['app']}"
    api_pod["spec"]["containers"][0]["name"] = "app"
    node = copy.deepcopy(load_fixture("nodes.json")["items"][0])
    node["metadata"]["name"] = "this-node"
    node["status"]["nodeInfo"]["bootID"] = (
        Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    )
    with KubeServer(pods=[api_pod], nodes=[node]) as server:
        kubeconfig = server.kubeconfig(tmp_path / "config", namespace=pod.namespace)
        doc = cli_json(
            scene.bed, "pod", pod.name, "--trace-runtime", "--kubeconfig", str(kubeconfig)
        )
        assert not server.requests_for("POST"), "no agent pod for a pod on this machine"
    assert doc["traced_on"] == "this machine"
    assert doc["api"]["node_name"] == "this-node"
    assert doc["api"]["containers"][0]["container_id"] == f"containerd://{pod.container_ids['app']}"
    (app,) = doc["containers"]
    assert app["container_id"] == pod.container_ids["app"]
    assert link(app, "processes")["values"]["init_pid"] == pod.container_pids["app"]


def _without_versions(doc: dict[str, Any]) -> dict[str, Any]:
    """A chain with what only a live run can know taken out: binary versions (a bundle
    does not run binaries) and where it was traced."""
    doc = json.loads(json.dumps(doc))
    doc.pop("traced_on", None)
    for trace in [doc.get("sandbox"), *doc["containers"]]:
        for one in (trace or {}).get("links", []):
            if one["name"] == "oci-runtime":
                one["values"].pop("version", None)
                one["source"] = (one["source"] or "").split("; ")[0]
    return doc


def test_recorded_bundle_traces_like_the_live_node(scene: Scene, tmp_path: Path) -> None:
    """`record` keeps every verbose ContainerStatus / PodSandboxStatus and OCI state file
    a trace reads, so `pod --trace-runtime --from DIR` gives the live chain back."""
    bundle = tmp_path / "bundle"
    proc = cli(scene.bed, "record", str(bundle))
    assert proc.returncode == 0, proc.stderr
    answers = json.loads((bundle / "runtime/cri.json").read_text())
    calls = answers[str(scene.bed.containerd_socket)]
    pod = scene.pods["burstable"]
    assert set(pod.container_ids.values()) <= set(calls["ContainerStatus"])
    assert pod.sandbox_id in calls["PodSandboxStatus"]
    live = cli_json(scene.bed, "pod", pod.name, "-n", pod.namespace, "--trace-runtime", "--local")
    replay = cli_json(
        scene.bed, "pod", pod.name, "-n", pod.namespace, "--trace-runtime", "--from", str(bundle)
    )
    assert replay["traced_on"] == f"bundle {bundle}"
    assert _without_versions(replay) == _without_versions(live)
    app = next(c for c in replay["containers"] if c["name"] == "app")
    assert link(app, "handler")["values"]["runtime_type"] == "io.containerd.runc.v2"
    assert link(app, "processes")["values"]["runtime_reported_pid"] == pod.container_pids["app"]
