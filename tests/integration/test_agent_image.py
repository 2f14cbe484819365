"""The agent image that scripts/build-image.sh writes, on the test bed's containerd.

The image is imported the way a node without registry access gets it (``ctr images
import``) and run through CRI exactly as the agent pod spec (kube/agent.py) asks: the Pod
object is turned into CRI calls as the kubelet turns it (tests/testbed/kubelet.py
``pod_request``): privileged, host PID, the host's ``/`` read-only at ``/host`` with
HostToContainer propagation, the agent's command line and env. What it reports is compared
with what inspect8s sees from the host; ``audit --cluster --agents`` runs its agents on the
bed for real and must not judge them.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from testbed import ContainerRequest, DockerHandle, PodHandle, TestBed
from testbed.kubelet import pod_request

from inspect8s._version import __version__
from inspect8s.kube.agent import (
    AGENT_CONTAINER,
    DEFAULT_AGENT_IMAGE,
    MANAGED_BY_LABEL,
    agent_pod_spec,
    parse_agent_log,
)
from scripts.oci_image import oci_arch, read_archive
from tests.kubeserver import KubeServer, load_fixture

# The image build (one to two minutes) happens in the first test's set-up.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]

MiB = 1 << 20
NODE = "tb-node"


@dataclass
class AgentScene:
    bed: TestBed
    image_id: str
    pods: dict[str, PodHandle]
    docker: DockerHandle

    def container_ids(self) -> set[str]:
        ids = {self.docker.id}
        for pod in self.pods.values():
            ids.add(pod.sandbox_id)
            ids.update(pod.container_ids.values())
        return ids


@pytest.fixture(scope="module")
def scene(testbed: TestBed, agent_image_archive: Path) -> Iterator[AgentScene]:
    bed = testbed
    image_id = bed.import_image(agent_image_archive, DEFAULT_AGENT_IMAGE)
    pods = {
        "limited": bed.run_pod(
            "shop-web",
            "shop",
            qos="guaranteed",
            host_network=False,
            containers=[ContainerRequest("app", memory_limit_bytes=96 * MiB, cpu_quota=30_000)],
        ),
        "burstable": bed.run_pod(
            "shop-api",
            "shop",
            qos="burstable",
            host_network=False,
            containers=[
                ContainerRequest("app", memory_limit_bytes=48 * MiB, cpu_quota=10_000),
                ContainerRequest("sidecar", cpu_shares=102),
            ],
        ),
        "privileged": bed.run_pod(
            "node-tool",
            "ops",
            qos="besteffort",
            host_network=False,
            host_pid=True,
            privileged=True,
            containers=[ContainerRequest("tool", privileged=True)],
        ),
    }
    docker = bed.run_docker("legacy-cron", mem_limit=40 * MiB)
    yield AgentScene(bed, image_id, pods, docker)
    for handle in pods.values():
        bed.remove_pod(handle)
    bed.remove_docker(docker)


def run_pod_object(bed: TestBed, pod: dict[str, Any], root: str) -> tuple[int, str]:
    """Run a Pod object on the bed as the kubelet would; (exit code, its log)."""
    handle = bed.run_pod(**pod_request(pod, {"/": root}))
    try:
        code = bed.wait_exited(handle, AGENT_CONTAINER, timeout=120)
        return code, bed.container_log(handle, AGENT_CONTAINER)
    finally:
        bed.remove_pod(handle)


def host_view(*args: str) -> dict[str, Any]:
    """``inspect8s <args> -o json`` run on the host itself, with no endpoint flags."""
    proc = subprocess.run(
        [sys.executable, "-m", "inspect8s", *args, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def test_archive_is_the_default_agent_image(agent_image_archive: Path) -> None:
    archive = read_archive(agent_image_archive)
    assert list(archive["images"]) == [DEFAULT_AGENT_IMAGE]
    image = archive["images"][DEFAULT_AGENT_IMAGE]
    config = image["config"]
    assert config["architecture"] == oci_arch() and config["os"] == "linux"
    run = config["config"]
    assert run["Entrypoint"] == ["/opt/inspect8s/bin/inspect8s"]
    assert run["User"] == "0"
    assert any(e.startswith("PATH=/opt/inspect8s/bin:") for e in run["Env"])
    labels = run["Labels"]
    assert labels["org.opencontainers.image.version"] == __version__
    assert labels["org.opencontainers.image.source"] == "https://github.com/inspect8s/inspect8s"
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert len(image["manifest"]["layers"]) == len(config["rootfs"]["diff_ids"]) == 1


# Fields of a container that do not change while it sleeps: the agent must read each the
# same as the host does. Usage counters (memory in use, CPU periods) move between reads.
STABLE = (
    "name", "runtime", "pod_name", "pod_namespace", "pod_uid", "qos", "init_pid",
    "shim_pid", "pids", "cgroup_path", "cgroup_driver", "namespaces", "host_namespaces",
    "is_sandbox", "image", "labels",
)  # fmt: skip
STABLE_LIMITS = ("memory_max_bytes", "cpu_quota_us", "cpu_period_us", "cpu_shares", "pids_max")


def test_agent_pod_reports_what_the_host_sees(scene: AgentScene) -> None:
    bed = scene.bed
    pod = agent_pod_spec(NODE, ["node"])
    with bed.host_root() as root:
        code, log = run_pod_object(bed, pod, root)
    agent, _ = parse_agent_log(log)
    assert code == 0 and agent is not None, log[-2000:]
    host = host_view("node")
    assert agent["node"]["root"] == "/host" and host["node"]["root"] == "/"

    ours = scene.container_ids()
    in_agent = {c["id"]: c for c in agent["containers"] if c["id"] in ours}
    in_host = {c["id"]: c for c in host["containers"] if c["id"] in ours}
    assert set(in_agent) == set(in_host) == ours
    for cid in sorted(ours):
        a, h = in_agent[cid], in_host[cid]
        assert {k: a[k] for k in STABLE} == {k: h[k] for k in STABLE}, cid
        assert {k: a["limits"][k] for k in STABLE_LIMITS} == {
            k: h["limits"][k] for k in STABLE_LIMITS
        }, cid
    # ... and what they both say is what the bed made.
    limited = scene.pods["limited"]
    app = in_agent[limited.container_ids["app"]]
    assert app["init_pid"] == limited.container_pids["app"]
    assert app["limits"]["memory_max_bytes"] == 96 * MiB
    assert app["limits"]["cpu_quota_us"] == 30_000
    assert app["cgroup_path"] == limited.cgroup_path("app")
    assert in_agent[scene.docker.id]["init_pid"] == scene.docker.pid
    assert in_agent[scene.docker.id]["limits"]["memory_max_bytes"] == 40 * MiB
    # The same daemons, found from the node's processes and asked through their sockets.
    for name, pid in (("containerd", bed.containerd_pid), ("dockerd", bed.dockerd_pid)):
        (a_rt,) = [r for r in agent["runtimes"] if r["pid"] == pid]
        (h_rt,) = [r for r in host["runtimes"] if r["pid"] == pid]
        assert a_rt["name"] == h_rt["name"] == name
        assert a_rt["version"] == h_rt["version"] and a_rt["version"]
    # The agent sees itself too (it is a container on the node) under its pod's name.
    mine = [c for c in agent["containers"] if c["pod_name"] and c["pod_name"].startswith(
        "inspect8s-agent-")]  # fmt: skip
    assert {c["is_sandbox"] for c in mine} == {True, False}


def test_image_runs_with_no_network(scene: AgentScene) -> None:
    script = "cat /proc/net/dev; inspect8s --version; inspect8s node --root /host"
    proc = scene.bed.ctr_run(
        DEFAULT_AGENT_IMAGE,
        ["/bin/sh", "-c", script],
        privileged=True,
        mounts=[("/", "/host", "rbind:ro")],
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    net_dev_end = next(i for i, line in enumerate(lines) if line.startswith("inspect8s "))
    interfaces = [line.split(":")[0].strip() for line in lines[2:net_dev_end]]
    assert interfaces == ["lo"]  # /proc/net/dev: two header lines, then one per interface
    assert lines[net_dev_end] == f"inspect8s {__version__}"
    table = "\n".join(lines[net_dev_end + 1 :])
    limited = scene.pods["limited"]
    assert limited.container_ids["app"][:12] in table
    assert scene.docker.id[:12] in table


def test_image_entry_point_is_inspect8s(scene: AgentScene) -> None:
    proc = scene.bed.ctr_run(DEFAULT_AGENT_IMAGE)  # the image's own Entrypoint and Cmd
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout and "node" in proc.stdout


def test_cluster_agents_leave_their_own_pods_out(scene: AgentScene, tmp_path: Path) -> None:
    """The real agent audits the real node, where it runs privileged with the host's /
    mounted: it reports the look-alike pod, not itself; the API's own-labelled pod is left
    out too, and both are named in the report."""
    bed = scene.bed
    node = copy.deepcopy(load_fixture("nodes.json")["items"][0])
    node["metadata"]["name"] = NODE
    lookalike = agent_pod_spec(NODE, ["node"])  # the agent's spec without the label
    lookalike["metadata"]["labels"] = {"app": "node-tool"}
    leftover = agent_pod_spec(NODE, ["node"])  # an agent pod of another run, in the API
    api_pods = []
    for name, pod in (("node-tool-x", lookalike), ("inspect8s-agent-old", leftover)):
        pod = copy.deepcopy(pod)
        uid = f"11111111-0000-4000-8000-{len(api_pods):012d}"
        pod["metadata"].update(name=name, namespace="ops", uid=uid)
        pod["status"] = {"phase": "Running", "qosClass": "Burstable"}
        api_pods.append(pod)
    with bed.host_root() as root, KubeServer(api_pods, nodes=[node]) as server:

        def kubelet(pod: dict[str, Any]) -> tuple[str, int]:
            code, log = run_pod_object(bed, pod, root)
            return log, code

        server.kubelet = kubelet
        kubeconfig = server.kubeconfig(tmp_path / "config")
        proc = subprocess.run(
            [sys.executable, "-m", "inspect8s", "audit", "--cluster", "--agents",
             "--kubeconfig", str(kubeconfig), "--fail-on", "none", "--agent-timeout", "120",
             "-o", "json"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        (post,) = server.requests_for("POST", "/api/v1/namespaces/default/pods")
        created = server.requests_for("DELETE", "/api/v1/namespaces/default/pods/")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    agent_name = created[0].path.rsplit("/", 1)[1]
    assert post.body["metadata"]["labels"][MANAGED_BY_LABEL[0]] == MANAGED_BY_LABEL[1]
    assert post.body["spec"]["containers"][0]["image"] == DEFAULT_AGENT_IMAGE
    assert not [e for e in doc["errors"] if e["source"].startswith("agent:")], doc["errors"]

    left = {x["subject"] for x in doc["leftOut"]}
    assert left == {f"Pod/default/{agent_name}", "Pod/ops/inspect8s-agent-old"}
    assert all("inspect8s" in x["reason"] for x in doc["leftOut"])
    subjects = {f["subject"] for f in doc["findings"]}
    assert not [s for s in subjects if s.startswith(tuple(left))]
    # The look-alike is judged, by the cluster audit and by the agent on the node.
    assert any(s.startswith("Pod/ops/node-tool-x") for s in subjects)
    privileged = scene.pods["privileged"]
    assert any(s.startswith(f"Pod/{privileged.namespace}/{privileged.name}/") for s in subjects)
