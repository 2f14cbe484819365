"""`inspect8s pod --trace-runtime --from BUNDLE` and `pid --from` on the CRI-O bundle
(tests/fixtures/bundles/crio-1.29): the chain from CRI-O's verbose answers and the host
files of the `crio` replay tree, conmon as the monitor and crun as the OCI runtime."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import CliResult, cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BUNDLE = FIXTURES / "bundles" / "crio-1.29"
TREE = FIXTURES / "nodes" / "crio"
EXPECTED = json.loads((TREE / "expected.json").read_text())


def run(*args: str) -> CliResult:
    return cli(*args)


def trace(pod: str, namespace: str, bundle: Path = BUNDLE) -> dict[str, Any]:
    proc = run("pod", pod, "-n", namespace, "--trace-runtime", "--from", str(bundle), "-o", "json")
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def link(one: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(x for x in one["links"] if x["name"] == name)
    return found


def ppid(pid: int) -> int:
    stat = (TREE / "proc" / str(pid) / "stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def argv(pid: int) -> list[str]:
    return (TREE / "proc" / str(pid) / "cmdline").read_bytes().rstrip(b"\0").decode().split("\0")


@pytest.mark.parametrize(
    ("pod", "namespace"),
    [("db-0", "data"), ("cache-5c8d7-abcde", "data"), ("debug-shell", "default")],
)
def test_crio_chain_link_by_link(pod: str, namespace: str) -> None:
    doc = trace(pod, namespace)
    assert doc["traced_on"] == f"bundle {BUNDLE}"
    assert doc["errors"] == []
    node = {x["name"]: x for x in doc["node_links"]}
    assert node["cri-endpoint"]["values"] == {
        "endpoint": "unix:///var/run/crio/crio.sock",
        "set_by": "flag --container-runtime-endpoint",
        "socket": "/run/crio/crio.sock",  # /var/run is a link to /run in the tree
        "daemon_pid": 640,
        "runtime": "crio",
        "container_runs_here": True,
    }
    runtime = node["runtime"]["values"]
    assert (runtime["name"], runtime["version"], runtime["cri_api_version"]) == (
        "crio",
        "1.29.2",
        "v1",
    )
    assert runtime["pid"] == 640
    want = {c["id"]: c for c in EXPECTED["containers"] if c["pod"] == pod}
    traces = [doc["sandbox"], *doc["containers"]]
    assert {t["container_id"] for t in traces} == set(want)
    for t in traces:
        c = want[t["container_id"]]
        handler = link(t, "handler")
        assert handler["values"]["runtime_handler"] == "crun"
        assert handler["values"]["status_shape"] == "cri-o"
        # conmon is the monitor: the real parent of the container's init process
        shim = link(t, "shim")["values"]
        assert shim["binary"] == "conmon" and shim["pid"] == c["shim_pid"] == ppid(c["init_pid"])
        assert argv(shim["pid"])[argv(shim["pid"]).index("-c") + 1] == c["id"]
        # crun, named by conmon's -r, with its state under conmon's --runtime-arg --root
        oci = link(t, "oci-runtime")["values"]
        assert oci["binary"] == "/usr/bin/crun"
        assert oci["state_file"] == f"/run/crun/{c['id']}/status"
        assert oci["state_init_pid"] == c["init_pid"]
        assert oci["bundle"] == f"/run/containers/storage/overlay-containers/{c['id']}/userdata"
        procs = link(t, "processes")["values"]
        assert procs["init_pid"] == procs["runtime_reported_pid"] == c["init_pid"]
        flagged = {"ipc", "mnt", "net", "pid", "uts"}  # user and time are always the host's
        assert set(link(t, "namespaces")["values"]["shared_with_host"]) == (
            set(c["host_namespaces"]) & flagged
        )
        assert link(t, "cgroup")["values"]["path"] == c["cgroup"]
        requested = link(t, "requested")["values"]
        assert requested["memory_limit_bytes"] == c["limits"]["memory_max_bytes"]
        assert requested["cpu_quota"] == c["limits"]["cpu_quota_us"]
        # CRI-O's sandbox document has no "privileged"; its container document does
        assert requested["privileged"] is (None if c["sandbox"] else c["name"] == "shell")
        assert link(t, "limits")["values"]["memory_max_bytes"] == c["limits"]["memory_max_bytes"]


def test_pid_from_bundle_names_the_crio_container() -> None:
    shell = next(c for c in EXPECTED["containers"] if c["name"] == "shell")
    proc = run("pid", str(shell["init_pid"]), "--from", str(BUNDLE), "-o", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["container"] == shell["id"]
    assert doc["chain"]["pod_name"] == "debug-shell"
    table = run("pid", str(shell["init_pid"]), "--from", str(BUNDLE))
    assert table.returncode == 0, table.stderr
    assert f"is in container shell {shell['id'][:13]} (crio)" in table.stdout
    assert "handler crun" in table.stdout and "conmon PID" in table.stdout


def test_failed_verbose_status_is_recorded_and_the_rest_printed(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(BUNDLE / "runtime", bundle / "runtime")
    shutil.copy(BUNDLE / "bundle.json", bundle / "bundle.json")
    shutil.copytree(TREE, bundle / "host", symlinks=True)  # --from refuses a host link
    answers_path = bundle / "runtime" / "cri.json"
    answers = json.loads(answers_path.read_text())
    redis = next(c for c in EXPECTED["containers"] if c["name"] == "redis")
    answers["/run/crio/crio.sock"]["ContainerStatus"][redis["id"]] = {
        "error": {
            "kind": "timeout",
            "source": "cri:ContainerStatus",
            "detail": "deadline of 3.0 s exceeded",
        }
    }
    answers_path.write_text(json.dumps(answers))
    doc = trace("cache-5c8d7-abcde", "data", bundle)
    assert [(e["kind"], e["source"]) for e in doc["errors"]] == [("timeout", "cri:ContainerStatus")]
    (redis_trace,) = doc["containers"]
    # the sandbox still names the handler; the host still gives PIDs, cgroup and limits
    assert link(redis_trace, "handler")["values"]["runtime_handler"] == "crun"
    assert link(redis_trace, "processes")["values"]["runtime_reported_pid"] is None
    assert link(redis_trace, "processes")["values"]["init_pid"] == redis["init_pid"]
    assert not any(x["name"] == "requested" for x in redis_trace["links"])
    assert link(redis_trace, "oci-runtime")["values"]["state_init_pid"] == redis["init_pid"]


def test_from_is_not_a_bundle(tmp_path: Path) -> None:
    proc = run("pod", "db-0", "--trace-runtime", "--from", str(tmp_path))
    assert proc.returncode == 2
    assert "not a bundle written by `inspect8s record`" in proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- cri-dockerd

DOCKERD_BUNDLE = FIXTURES / "bundles" / "cri-dockerd-0.3"
DOCKERD_TREE = FIXTURES / "nodes" / "cri-dockerd"
DOCKERD_EXPECTED = json.loads((DOCKERD_TREE / "expected.json").read_text())
WEB = ("web-7d9f8-abcde", "shop")


def _tree_ppid(tree: Path, pid: int) -> int:
    stat = (tree / "proc" / str(pid) / "stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def _check_cri_dockerd_chain(doc: dict[str, Any], *, answered: bool) -> None:
    names = [x["name"] for x in doc["node_links"]]
    assert names == ["kubelet", "cri-endpoint", "runtime", "dockerd", "containerd"]
    node = {x["name"]: x for x in doc["node_links"]}
    assert node["cri-endpoint"]["values"]["endpoint"] == "unix:///var/run/cri-dockerd.sock"
    cri_dockerd = node["runtime"]["values"]
    assert (cri_dockerd["name"], cri_dockerd["pid"]) == ("cri-dockerd", 850)
    # cri-dockerd's Version answer carries the Engine's version, never its own
    assert cri_dockerd["version"] is None
    assert cri_dockerd["cri_api_version"] == ("v1" if answered else None)
    engine = node["dockerd"]
    assert engine["values"]["pid"] == 800
    assert engine["values"]["version"] == ("24.0.7" if answered else None)
    if answered:
        assert engine["source"] == "docker:/version"
    containerd = node["containerd"]["values"]
    assert (containerd["pid"], containerd["namespace"]) == (700, "moby")
    assert containerd["socket_from_dockerd"] == "/run/containerd/containerd.sock"
    want = {c["id"]: c for c in DOCKERD_EXPECTED["containers"]}
    sandbox = next(c for c in want.values() if c["sandbox"])
    assert doc["sandbox"]["container_id"] == sandbox["id"]
    (nginx,) = doc["containers"]
    assert nginx["name"] == ("nginx" if answered else None)
    for t in (doc["sandbox"], nginx):
        c = want[t["container_id"]]
        assert "handler" not in {x["name"] for x in t["links"]}
        shim = link(t, "shim")["values"]
        assert shim["binary"] == "containerd-shim-runc-v2" and shim["namespace"] == "moby"
        assert shim["pid"] == c["shim_pid"] == _tree_ppid(DOCKERD_TREE, c["init_pid"])
        oci = link(t, "oci-runtime")["values"]
        assert oci["state_file"] == f"/run/docker/runtime-runc/moby/{c['id']}/state.json"
        assert oci["state_init_pid"] == c["init_pid"]
        procs = link(t, "processes")["values"]
        assert procs["init_pid"] == c["init_pid"] and procs["sandbox_pid"] == sandbox["init_pid"]
        assert link(t, "cgroup")["values"]["path"] == c["cgroup"]
    procs = link(nginx, "processes")["values"]
    assert procs.get("runtime_reported_pid") == (
        want[nginx["container_id"]]["init_pid"] if answered else None
    )
    assert link(nginx, "limits")["values"]["memory_max_bytes"] == 256 << 20
    shared = link(nginx, "namespaces")["values"]["shared_with_sandbox"]
    assert {"net", "ipc", "uts"} <= set(shared)


def test_cri_dockerd_chain_from_bundle() -> None:
    doc = trace(*WEB, DOCKERD_BUNDLE)
    assert doc["errors"] == []
    _check_cri_dockerd_chain(doc, answered=True)


def test_cri_dockerd_chain_from_host_files_alone() -> None:
    """No runtime answers (--root a tree): the kubelet's endpoint flag and the processes
    still give kubelet -> cri-dockerd -> dockerd -> containerd -> shim -> runc."""
    uid = DOCKERD_EXPECTED["containers"][0]["pod_uid"]
    proc = run(
        "pod", WEB[0], "--uid", uid, "--trace-runtime", "--local",
        "--root", str(DOCKERD_TREE), "-o", "json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    _check_cri_dockerd_chain(json.loads(proc.stdout), answered=False)


def test_pid_from_bundle_names_the_cri_dockerd_container() -> None:
    nginx = next(c for c in DOCKERD_EXPECTED["containers"] if c["name"] == "nginx")
    proc = run("pid", str(nginx["init_pid"]), "--from", str(DOCKERD_BUNDLE))
    assert proc.returncode == 0, proc.stderr
    assert f"is in container nginx {nginx['id'][:13]} (cri-dockerd)" in proc.stdout
    assert "dockerd, 24.0.7, PID 800" in proc.stdout
