"""Replay of a real CRI-O 1.28.11 serving a real kubelet v1.28.0 (bundles/real-crio-1.28).

Every fact asserted here is one the recording's SOURCE.md lists under "What a tool should
derive" and "Processes (PID -> role)", checked by hand there against /proc and cgroupfs:
the runtime and its socket, the handler "" resolved through ``default_runtime`` and the
drop-in's runtime table, one conmon per container and sandbox with its ``-c``/``-r``/
``--runtime-arg``/``-b``, the OCI state under the handler's root, PIDs, namespaces (the
host-network pod's own UTS and IPC, pinned by CRI-O), cgroup paths, limits, and what ``pid``
says of conmon, pause and container processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.clirun import cli

BUNDLE = Path("tests/fixtures/bundles/real-crio-1.28")
PODS_JSON = BUNDLE / "api" / "pods-shop.json"  # the API's view of the pods, recorded with them
CRIO_PID, KUBELET_PID = 6846, 31973
SOCKET = "/run/crio-rk/crio.sock"
ROOT = "/run/crio-rk/runc"
STORAGE = "/run/crio-rk/storage/overlay-containers"
HOST_NS = {"net": 4026531833, "pid": 4026531836, "uts": 4026531838, "ipc": 4026531839}
# pod: (uid, QoS path part, sandbox id, conmon of sandbox, pause, container id, its conmon,
# container PID, container name) from SOURCE.md "Processes"
PODS = {
    "besteffort": ("6b62f63b-6077-4d6a-9129-4ee2374b7652", "besteffort/", "f94f63890f79",
                   4855, 4865, "0265e126292c", 6475, 6487, "app"),
    "guaranteed": ("9af24c78-d455-4f22-b5e8-02938c6dcb81", "", "00028560445a",
                   4763, 4773, "b1cb9a8df8c1", 6443, 6453, "app"),
    "hostns": ("f1c41fd0-1792-4c33-aa01-3a7a8ecefa2d", "besteffort/", "0edb057ce905",
               5211, 5221, "1619a3036563", 6411, 6421, "app"),
    "oomer": ("7387012e-45b3-4a9b-94a4-55fa550d2a30", "burstable/", "2de17f458952",
              4950, 4961, "a70a1ba28819", 6292, 6302, "app"),
    "privileged": ("6c323bc0-7fcd-47b9-8c7e-a808d2d3a399", "besteffort/", "9b3c5b71555a",
                   5303, 5313, "6a046c6b08fa", 7011, 7021, "app"),
    "sockmount": ("b576190d-1a45-4bf0-acba-977fc2926cc3", "besteffort/", "0706b58929cb",
                  5054, 5075, "23d9965a6743", 6325, 6335, "app"),
    "web": ("a74790b7-fa55-4292-82da-38021798d120", "burstable/", "8a1cbc7fae42",
            5048, 5066, "9802b3b1a0b4", 6360, 6375, "web"),
}  # fmt: skip
# (memory limit, cfs quota, shares) of the container cgroup; None: unlimited
LIMITS = {
    "web": (134217728, 50000, 256),
    "guaranteed": (67108864, 20000, 204),
    "oomer": (33554432, 10000, 51),
    "besteffort": (None, None, 2),
}


def _json(*args: str) -> Any:
    result = cli(*args, "--from", str(BUNDLE), "-o", "json")
    assert result.returncode == 0, result.stderr
    return result.json()


@pytest.fixture(scope="module")
def node() -> Any:
    return _json("node")


@pytest.fixture(scope="module")
def traces() -> dict[str, Any]:
    return {pod: _json("pod", pod, "-n", "shop", "--trace-runtime") for pod in PODS}


def _links(trace: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {x["name"]: x for x in trace["links"]}


def test_the_runtime_its_socket_and_configuration(node: Any, traces: dict[str, Any]) -> None:
    (crio,) = node["runtimes"]
    assert (crio["name"], crio["pid"], crio["version"]) == ("crio", CRIO_PID, "1.28.11")
    assert crio["version_source"] == "cri:Version" and crio["sockets"] == [SOCKET]
    assert crio["config_file"] == "/etc/crio/crio.conf"
    (socket,) = [s for s in node["sockets"] if s["path"] == SOCKET]
    named = " | ".join(socket["named_by"])
    assert "[crio.api] listen (/etc/crio/crio.conf:" in named
    assert "kubelet (flag --container-runtime-endpoint)" in named
    node_links = {x["name"]: x for x in traces["web"]["node_links"]}
    runtime = node_links["runtime"]["values"]
    assert (runtime["name"], runtime["pid"], runtime["version"]) == ("crio", CRIO_PID, "1.28.11")
    assert runtime["cri_api_version"] == "v1" and runtime["kubelet_runtime"] is True
    kubelet = node_links["kubelet"]["values"]
    assert (kubelet["pid"], kubelet["version"]) == (KUBELET_PID, "v1.28.0")
    endpoint = node_links["cri-endpoint"]["values"]
    assert endpoint["endpoint"] == f"unix://{SOCKET}" and endpoint["container_runs_here"] is True


def test_the_configuration_as_the_daemon_reads_it() -> None:
    result = cli("node", "--config", "--from", str(BUNDLE), "-o", "json")
    assert result.returncode == 0, result.stderr
    crio = result.json()["node_config"]["crio"]
    assert crio["files"] == [
        "/etc/crio/crio.conf",
        "/etc/crio/crio.conf.d/10-crun.conf",
        "/etc/crio/crio.conf.d/20-runc.conf",
        "/etc/crio/crio.conf.d/30-infra.conf",
    ]
    assert crio["default_runtime"]["value"] == "runc"
    assert crio["runtimes"]["runc"]["monitor_path"]["value"] == "/usr/bin/conmon"


@pytest.mark.parametrize("pod", sorted(PODS))
def test_the_default_handler_resolves_to_the_runc_table(traces: dict[str, Any], pod: str) -> None:
    trace = traces[pod]
    for one in [trace["sandbox"], *trace["containers"]]:
        handler = _links(one)["handler"]
        values = handler["values"]
        assert values["runtime_handler"] == "" and values["status_shape"] == "cri-o"
        assert values["resolved_handler"] == "runc"
        assert values["resolved_by"] == "default_runtime (/etc/crio/crio.conf:17)"
        assert (values["runtime_path"], values["runtime_type"], values["runtime_root"]) == (
            "/usr/sbin/runc", "oci", ROOT,
        )  # fmt: skip
        assert values["monitor_path"] == "/usr/bin/conmon"
        assert values["defined_at"] == "/etc/crio/crio.conf.d/20-runc.conf:1"
        assert "host:/etc/crio/crio.conf.d/20-runc.conf:1" in handler["source"]


@pytest.mark.parametrize("pod", sorted(PODS))
def test_conmon_oci_state_and_pids_of_every_container(traces: dict[str, Any], pod: str) -> None:
    uid, qos, sandbox_id, sandbox_conmon, pause, cid, conmon, cpid, name = PODS[pod]
    trace = traces[pod]
    assert trace["pod_uid"] == uid
    sandbox = trace["sandbox"]
    (container,) = trace["containers"]
    assert sandbox["container_id"].startswith(sandbox_id) and container["name"] == name
    assert container["container_id"].startswith(cid)
    for one, monitor, init in ((sandbox, sandbox_conmon, pause), (container, conmon, cpid)):
        full_id = one["container_id"]
        links = _links(one)
        shim = links["shim"]["values"]
        assert (shim["pid"], shim["binary"], shim["started_for"]) == (monitor, "conmon", full_id)
        assert shim["runtime"] == "/usr/sbin/runc"
        assert shim["runtime_args"] == [f"--root={ROOT}"]
        assert shim["bundle"] == f"{STORAGE}/{full_id}/userdata"
        assert shim["daemon_pid"] == CRIO_PID
        pod_cgroup = f"/k8snode/kubepods/{qos}pod{uid}"
        assert shim["cgroup"] == f"{pod_cgroup}/crio-conmon-{full_id}"
        oci = links["oci-runtime"]["values"]
        assert oci["binary"] == "/usr/sbin/runc" and oci["root"] == ROOT
        assert oci["state_file"] == f"{ROOT}/{full_id}/state.json"
        assert oci["state_init_pid"] == init
        assert oci["bundle"] == f"{STORAGE}/{full_id}/userdata"
        procs = links["processes"]["values"]
        assert (procs["init_pid"], procs["sandbox_pid"], procs["runtime_reported_pid"]) == (
            init, pause, init,
        )  # fmt: skip
        cgroup = links["cgroup"]["values"]
        assert cgroup["path"] == f"{pod_cgroup}/crio-{full_id}" and cgroup["driver"] == "cgroupfs"
        assert oci["state_cgroup_path"] == cgroup["path"]


@pytest.mark.parametrize("pod", sorted(PODS))
def test_namespaces_shared_with_the_sandbox_and_pinned(traces: dict[str, Any], pod: str) -> None:
    trace = traces[pod]
    (container,) = trace["containers"]
    ns = _links(container)["namespaces"]["values"]
    # hostPID: the container is in the host's PID namespace, so is the pause process
    assert ns["shared_with_sandbox"] == sorted(
        ["ipc", "net", "uts"] + (["pid"] * (pod == "hostns"))
    )
    # cgroup, time and user are the host's everywhere (cgroup v1, no cgroupns)
    for kind in ("cgroup", "time", "user"):
        assert (
            ns["inodes"][kind] == _links(trace["sandbox"])["namespaces"]["values"]["inodes"][kind]
        )
    assert set(ns["pinned"]) == {"ipc", "uts"} | ({"net"} if pod != "hostns" else set())
    for kind, path in ns["pinned"].items():
        assert path.startswith(f"/run/crio-rk/ns/{kind}ns/")
    assert ns["runtime_rule"].startswith("CRI-O gives every pod its own UTS namespace")


def test_the_host_network_pod_has_its_own_uts_and_ipc(traces: dict[str, Any]) -> None:
    trace = traces["hostns"]
    for one in (trace["sandbox"], *trace["containers"]):
        ns = _links(one)["namespaces"]["values"]
        assert ns["shared_with_host"] == ["net", "pid"]
        assert ns["inodes"]["net"] == HOST_NS["net"] and ns["inodes"]["pid"] == HOST_NS["pid"]
        assert ns["inodes"]["uts"] == 4026533087 and ns["inodes"]["ipc"] == 4026533088


@pytest.mark.parametrize("pod", sorted(LIMITS))
def test_limits_in_the_kernel_and_requested(traces: dict[str, Any], pod: str) -> None:
    memory, quota, shares = LIMITS[pod]
    (container,) = traces[pod]["containers"]
    links = _links(container)
    limits = links["limits"]["values"]
    assert (limits["memory_max_bytes"], limits["cpu_quota_us"], limits["cpu_shares"]) == (
        memory, quota, shares,
    )  # fmt: skip
    assert limits["pids_max"] is None
    requested = links["requested"]["values"]
    assert requested["memory_limit_bytes"] == memory and requested["cpu_shares"] == shares
    if pod == "oomer":
        assert limits["memory_oom_kills"] == 1
    sandbox = _links(traces[pod]["sandbox"])["limits"]["values"]
    assert (sandbox["memory_max_bytes"], sandbox["cpu_shares"]) == (None, 2)


def test_seccomp_and_capabilities_as_the_kernel_shows_them(node: Any) -> None:
    by_pid = {c["init_pid"]: c for c in node["containers"]}
    for _uid, _qos, _sid, _sc, pause, _cid, _conmon, cpid, _name in PODS.values():
        assert by_pid[pause]["seccomp_mode"] == 2 and by_pid[cpid]["seccomp_mode"] == 0
    assert by_pid[7021]["cap_eff"] == 0x000001FFFEFFFFFF
    assert by_pid[6487]["cap_eff"] == 0x5FB


@pytest.mark.parametrize("pod", sorted(PODS))
def test_pid_names_monitor_sandbox_and_container(pod: str) -> None:
    uid, _qos, sandbox_id, sandbox_conmon, pause, cid, conmon, cpid, name = PODS[pod]
    label = f"pod shop/{pod} (UID {uid}, crio PID {CRIO_PID})"
    cases = {
        sandbox_conmon: ("monitor", f"the monitor (conmon) of the sandbox of {label}", sandbox_id),
        pause: ("sandbox", f"the sandbox (pause process) of {label}", sandbox_id),
        conmon: ("monitor", f"the monitor (conmon) of container {name} {cid}", cid),
        cpid: ("container", f"in container {name} {cid}", cid),
    }
    for pid, (role, text, container) in cases.items():
        doc = _json("pid", str(pid))
        assert doc["role"] == role, doc["description"]
        assert doc["description"].startswith(text) and label in doc["description"]
        assert doc["container"].startswith(container)
        assert doc["chain"]["pod_uid"] == uid
    # conmon's cgroup is the v1 controllers' crio-conmon-<id>, not name=systemd's "/"
    doc = _json("pid", str(conmon))
    assert doc["cgroup_line"] == "memory"
    assert doc["cgroup"].endswith(f"/pod{uid}/crio-conmon-{doc['container']}")


def test_pid_of_the_daemons() -> None:
    assert _json("pid", str(CRIO_PID))["description"] == f"the crio daemon ({SOCKET})"
    assert _json("pid", str(KUBELET_PID))["role"] == "kubelet"


def test_no_host_namespace_finding_for_the_pods_own_uts_and_ipc() -> None:
    result = cli("audit", "--from", str(BUNDLE), "--pods", str(PODS_JSON), "-o", "json",
                 "--fail-on", "none")  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = result.json()
    hostns = [f for f in doc["findings"] if f["subject"].startswith("Pod/shop/hostns")]
    assert not [f for f in hostns if f["checkId"] == "I8S-ISO-HOSTNS"]
    kernel = [f["message"] for f in hostns if f["checkId"] == "I8S-HOST-HOSTNS"]
    assert sorted(m.split("'s ")[1].split()[0] for m in kernel) == ["net", "pid"]
    assert all("(the spec sets host" in m for m in kernel)
    # every other pod: no host namespace at all
    others = [
        f for f in doc["findings"] if "HOSTNS" in f["checkId"] and "hostns" not in f["subject"]
    ]
    assert others == []


def test_no_host_namespace_finding_on_containerds_host_network_pod() -> None:
    """The other rule, on the real containerd node: a hostNetwork pod shares the host's UTS
    namespace there, which is what the spec asks of containerd, not a difference."""
    bundle = Path("tests/fixtures/bundles/real-node-1.28")
    result = cli("audit", "--from", str(bundle), "--pods", str(bundle / "api/pods-on-node.json"),
                 "-o", "json", "--fail-on", "none")  # fmt: skip
    assert result.returncode == 0, result.stderr
    findings = [f for f in result.json()["findings"] if f["subject"].startswith("Pod/shop/hostns")]
    assert not [f for f in findings if f["checkId"] == "I8S-ISO-HOSTNS"]
    kernel = sorted(f["message"] for f in findings if f["checkId"] == "I8S-HOST-HOSTNS")
    assert [m.split("'s ")[1].split()[0] for m in kernel] == ["net", "pid", "uts"]
    assert all("(the spec sets host" in m for m in kernel)
