"""Replay of a real Kubernetes 1.28 node with two containerds (bundles/real-node-1.28).

The kubelet's containerd (A, PID 5823) serves /run/k8s-containerd/containerd.sock from a
private mount namespace; another containerd (B, PID 3851) serves the default socket with
pods of the same names (shop/web with another UID, shop/api that the API does not know); a
dockerd (PID 3877) runs beside them. Every fact asserted here is in the recording's
SOURCE.md ("What runs there", "Pods", "Processes"), checked by hand against /proc there.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import cli

BUNDLE = Path("tests/fixtures/bundles/real-node-1.28")
A_PID, B_PID, DOCKERD_PID, KUBELET_PID = 5823, 3851, 3877, 6032
A_SOCKET = "/run/k8s-containerd/containerd.sock"
B_SOCKET = "/run/containerd/containerd.sock"
WEB_A = "caac554c-a87c-4d72-b9f6-2df39522753d"  # the kubelet's shop/web
WEB_B = "56c99727-496d-52be-9d8d-46c33d37c340"  # containerd B's shop/web, unknown to the API
# (pod, uid, runtime pid, sandbox id, pause pid, container id, container pid) from SOURCE.md
PODS = [
    ("shop/web", WEB_A, A_PID, "805e1c3a70b0", 6320, "c6ad530c0110", 6532),
    ("shop/besteffort", "c2a2cf66-e4d4-45fe-9a3c-7dd8c9401b9d", A_PID, "c2c0c7d9743e", 6414,
     "314de4995ee4", 6671),
    ("shop/hostns", "0420d56f-4989-400e-b945-3e4c3290f1e0", A_PID, "3a3c2fea19f4", 6347,
     "f26d6115b2a6", 6572),
    ("shop/web", WEB_B, B_PID, "7b915f4ddb11", 4016, "deac894f07d1", 4049),
    ("shop/api", "1b192c16-8fdf-571d-86b9-6554cfd5d705", B_PID, "3457c449481c", 4106,
     "e9f6beda9947", 4136),
    ("ci/builder", "7e7617b9-b155-55a8-bdf4-6986dc9d8957", B_PID, "cacc83fce9ac", 4522,
     "26720c995efc", 4554),
]  # fmt: skip


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    result = cli("node", "--from", str(BUNDLE), "-o", "json")
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = result.json()
    return doc


def _trace(*args: str) -> dict[str, Any]:
    result = cli("pod", *args, "--trace-runtime", "--from", str(BUNDLE), "-o", "json")
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = result.json()
    return doc


def _link(links: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(x for x in links if x["name"] == name)


def test_each_runtime_with_its_own_socket_and_config(report: dict[str, Any]) -> None:
    runtimes = {r["pid"]: r for r in report["runtimes"]}
    assert runtimes[A_PID]["name"] == runtimes[B_PID]["name"] == "containerd"
    assert runtimes[A_PID]["sockets"] == [A_SOCKET]
    assert runtimes[A_PID]["config_file"] == "/etc/rk-node/containerd.toml"
    assert runtimes[B_PID]["sockets"] == [B_SOCKET]
    assert runtimes[B_PID]["config_file"] == "/etc/containerd-b/containerd.toml"
    assert runtimes[A_PID]["version"] == runtimes[B_PID]["version"] == "1.6.20~ds1"
    assert runtimes[DOCKERD_PID]["name"] == "dockerd"
    sockets = {s["path"]: s for s in report["sockets"]}
    assert sockets[A_SOCKET]["daemon_pid"] == A_PID
    assert sockets[B_SOCKET]["daemon_pid"] == B_PID
    # A's socket is named by its config file's [grpc] address, by its shims and the kubelet
    named = " | ".join(sockets[A_SOCKET]["named_by"])
    assert "[grpc] address (/etc/rk-node/containerd.toml:" in named
    assert "kubelet (flag --container-runtime-endpoint)" in named


@pytest.mark.parametrize(("pod", "uid", "runtime", "sandbox", "pause", "cid", "cpid"), PODS)
def test_every_container_joined_to_the_daemon_that_runs_it(
    report: dict[str, Any],
    pod: str,
    uid: str,
    runtime: int,
    sandbox: str,
    pause: int,
    cid: str,
    cpid: int,
) -> None:
    mine = [c for c in report["containers"] if c["pod_uid"] == uid]
    assert {c["id"][:12] for c in mine} == {sandbox, cid}
    for c in mine:
        assert f"{c['pod_namespace']}/{c['pod_name']}" == pod
        assert c["runtime_pid"] == runtime
        assert c["init_pid"] == (pause if c["is_sandbox"] else cpid)
        socket = A_SOCKET if runtime == A_PID else B_SOCKET
        assert c["endpoint"] == socket


def test_shims_belong_to_their_daemon(report: dict[str, Any]) -> None:
    shims = {s["pid"]: s for s in report["shims"]}
    assert shims[6191]["daemon_pid"] == A_PID  # shop/web of A
    assert shims[3996]["daemon_pid"] == B_PID  # shop/web of B
    assert shims[4590]["namespace"] == "moby" and shims[4590]["daemon_pid"] == B_PID


def test_the_kubelets_runtime_is_the_daemon_behind_its_endpoint(report: dict[str, Any]) -> None:
    kubelet = report["kubelet_runtime"]
    assert kubelet["endpoint"] == f"unix://{A_SOCKET}"
    assert kubelet["set_by"] == "flag --container-runtime-endpoint"
    assert kubelet["socket"] == A_SOCKET
    assert (kubelet["daemon_pid"], kubelet["runtime"]) == (A_PID, "containerd")
    assert kubelet["kubelet_pid"] == KUBELET_PID


def test_trace_by_name_is_the_kubelets_pod_through_the_kubelets_runtime() -> None:
    doc = _trace("web", "-n", "shop")
    assert doc["pod_uid"] == WEB_A
    node = doc["node_links"]
    runtime = _link(node, "runtime")["values"]
    assert (runtime["pid"], runtime["config_file"]) == (A_PID, "/etc/rk-node/containerd.toml")
    assert runtime["kubelet_runtime"] is True
    assert _link(node, "cri-endpoint")["values"]["container_runs_here"] is True
    assert doc["sandbox"]["container_id"].startswith("805e1c3a70b0")
    (web,) = doc["containers"]
    assert web["name"] == "web" and web["container_id"].startswith("c6ad530c0110")
    handler = _link(web["links"], "handler")["values"]
    assert handler["runtime_type"] == "io.containerd.runc.v2"
    oci = _link(web["links"], "oci-runtime")["values"]
    assert oci["state_file"] == f"/run/k8s-containerd/runc/k8s.io/{web['container_id']}/state.json"
    assert oci["state_init_pid"] == 6532
    procs = _link(web["links"], "processes")["values"]
    assert (procs["init_pid"], procs["sandbox_pid"], procs["runtime_reported_pid"]) == (
        6532, 6320, 6532,
    )  # fmt: skip
    limits = _link(web["links"], "limits")["values"]
    assert limits["memory_max_bytes"] == 128 << 20 and limits["cpu_limit_millicores"] == 500
    # the other shop/web is named, with its UID and runtime, never merged in
    assert doc["notes"] == [
        f"another pod has this namespace/name: shop/web (UID {WEB_B}, containerd PID {B_PID})"
    ]
    ids = [doc["sandbox"]["container_id"], *(c["container_id"] for c in doc["containers"])]
    assert not any(i.startswith(("7b915f4ddb11", "deac894f07d1")) for i in ids)


def test_trace_by_uid_picks_the_other_pod_and_says_the_kubelet_does_not_run_it() -> None:
    doc = _trace("web", "-n", "shop", "--uid", WEB_B)
    assert doc["pod_uid"] == WEB_B
    runtime = _link(doc["node_links"], "runtime")["values"]
    assert (runtime["pid"], runtime["config_file"]) == (
        B_PID, "/etc/containerd-b/containerd.toml",
    )  # fmt: skip
    assert runtime["kubelet_runtime"] is False
    assert _link(doc["node_links"], "cri-endpoint")["values"]["container_runs_here"] is False
    (main,) = doc["containers"]
    oci = _link(main["links"], "oci-runtime")["values"]
    assert oci["state_file"] == f"/run/containerd/runc/k8s.io/{main['container_id']}/state.json"


def test_without_a_kubelet_the_same_name_lists_both_pods(tmp_path: Path) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(BUNDLE, copy, symlinks=True)
    shutil.rmtree(copy / "host/proc" / str(KUBELET_PID))
    result = cli("pod", "web", "-n", "shop", "--from", str(copy))
    assert result.returncode == 2
    assert "2 pods are named 'web'" in result.stderr
    assert f"UID {WEB_A}, containerd PID {A_PID}" in result.stderr
    assert f"UID {WEB_B}, containerd PID {B_PID}" in result.stderr
    assert "--uid" in result.stderr


@pytest.mark.parametrize(
    ("pid", "said"),
    [
        (6320, f"the sandbox (pause process) of pod shop/web (UID {WEB_A}, containerd PID 5823)"),
        (4016, f"the sandbox (pause process) of pod shop/web (UID {WEB_B}, containerd PID 3851)"),
        (6532, f"in container web c6ad530c01100 (containerd) of pod shop/web (UID {WEB_A}"),
        (6191, f"the monitor (containerd-shim-runc-v2) of pod shop/web (UID {WEB_A}"),
        (A_PID, f"the containerd daemon ({A_SOCKET})"),
        (B_PID, f"the containerd daemon ({B_SOCKET})"),
        (KUBELET_PID, "the kubelet"),
    ],
)  # fmt: skip
def test_pid_says_what_each_process_is(pid: int, said: str) -> None:
    result = cli("pid", str(pid), "--from", str(BUNDLE))
    assert result.returncode == 0, result.stderr
    assert said in result.stdout.splitlines()[0]


def test_audit_reads_the_kubelets_containerd_config() -> None:
    """The kubelet pins registry.k8s.io/pause:3.9; containerd A's config says the same,
    containerd B's says pause:3.6. Only A's answer matters to the kubelet."""
    result = cli("audit", "--from", str(BUNDLE), "-o", "json", "--select", "I8S-CTRD-SANDBOX")
    assert result.returncode in (0, 1), result.stderr
    doc = result.json()
    assert [f for f in doc["findings"] if f["checkId"] == "I8S-CTRD-SANDBOX"] == []
    outcome = next(c for c in doc["checks"] if c["id"] == "I8S-CTRD-SANDBOX")
    assert outcome["outcomes"] == {"passed": 1, "failed": 0, "skipped": 0, "error": 0}
