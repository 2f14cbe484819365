"""Runtime detection from the process table, and the CRI/Docker converters on real answers."""

from __future__ import annotations

import json
from pathlib import Path

from inspect8s.collect import discover as detect
from inspect8s.model import ProcessInfo
from inspect8s.nodeconfig import flags as daemon_flags
from inspect8s.runtime import convert

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def proc(pid: int, ppid: int, *argv: str) -> ProcessInfo:
    return ProcessInfo(
        pid=pid,
        ppid=ppid,
        comm=argv[0].rsplit("/", 1)[-1][:15],
        cmdline=tuple(argv),
        state="S",
        start_time_ticks=pid,
        namespaces={},
        cgroups=(),
    )


def test_parse_flags_pflag_forms() -> None:
    flags = daemon_flags.parse_flags(
        [
            "--config=/var/lib/kubelet/config.yaml",
            "--container-runtime",
            "remote",
            "--v=2",
            "--network-plugin=cni",
            "--rotate-certificates",
            "--node-ip",
            "192.0.2.2",
            "--v=4",
        ]
    )
    assert flags == {
        "--config": "/var/lib/kubelet/config.yaml",
        "--container-runtime": "remote",
        "--v": "4",
        "--network-plugin": "cni",
        "--rotate-certificates": "true",
        "--node-ip": "192.0.2.2",
    }


def test_find_daemons_shims_kubelet() -> None:
    procs = {
        p.pid: p
        for p in [
            proc(
                10, 1, "/usr/bin/containerd", "--config", "/tmp/c.toml", "--address", "/tmp/c.sock"
            ),
            proc(
                11, 1, "/usr/bin/dockerd", "-H", "unix:///tmp/d.sock", "--containerd", "/tmp/c.sock"
            ),
            proc(12, 1, "/usr/bin/kubelet", "--container-runtime-endpoint=unix:///tmp/c.sock"),
            proc(
                20,
                1,
                "/usr/bin/containerd-shim-runc-v2",
                "-namespace",
                "k8s.io",
                "-id",
                "abc",
                "-address",
                "/tmp/c.sock",
            ),
            proc(21, 20, "/pause"),
            proc(22, 20, "sleep", "3600"),
            proc(30, 1, "/usr/bin/conmon", "-c", "def", "-r", "/usr/bin/crun"),
        ]
    }
    daemons = {d.name: d for d in detect.find_daemons(procs)}
    assert (daemons["containerd"].config_file, daemons["containerd"].config_source) == (
        "/tmp/c.toml", "--config",
    )  # fmt: skip
    assert (daemons["dockerd"].config_file, daemons["dockerd"].config_source) == (
        "/etc/docker/daemon.json", "default path",
    )  # fmt: skip
    # (the sockets each daemon serves are found from the files they name: see
    # tests/node/test_real_node_two_containerds.py and the integration scene)
    shims = {s.pid: s for s in detect.find_shims(procs)}
    assert shims[20].namespace == "k8s.io" and shims[20].id == "abc"
    assert shims[20].address == "/tmp/c.sock"
    assert shims[20].child_pids == (21, 22)
    assert shims[30].kind == "conmon" and shims[30].id == "def"
    kubelet = detect.find_kubelet(procs)
    assert kubelet is not None and kubelet.pid == 12
    assert kubelet.flags["--container-runtime-endpoint"] == "unix:///tmp/c.sock"


def test_cri_index_on_recorded_containerd() -> None:
    data = json.loads((FIXTURES / "cri" / "containerd-1.6.20-kubelet-1.26.json").read_text())
    runtime = convert.runtime_name_from_cri_version(data["Version"])
    assert runtime == "containerd"
    index = convert.cri_index(
        runtime, data["ListPodSandbox"]["items"], data["ListContainers"]["containers"]
    )
    job = index["89038bd2a278d60618fe0db85c7e52b31bbb310d19526ccf8189265e20bd2011"]
    assert (job.name, job.pod_name, job.pod_namespace) == ("job", "batch-besteffort", "shop")
    assert job.pod_uid == "19a9fc9c-9b8f-4419-8ac9-baace06bc3fe"
    assert not job.is_sandbox
    sandbox = index[job.sandbox_id or ""]
    assert sandbox.is_sandbox and sandbox.pod_name == "batch-besteffort"
    sandboxes = [m for m in index.values() if m.is_sandbox]
    assert len(sandboxes) == len(data["ListPodSandbox"]["items"])


def test_docker_index_reads_dockershim_names() -> None:
    answer = [
        {
            "Id": "a" * 64,
            "Names": ["/k8s_app_web-0_shop_1234-5678_0"],
            "Image": "busybox",
            "State": "running",
            "Labels": {"io.kubernetes.container.name": "app"},
        },
        {
            "Id": "b" * 64,
            "Names": ["/k8s_POD_web-0_shop_1234-5678_0"],
            "Image": "pause",
            "State": "running",
            "Labels": {"io.kubernetes.docker.type": "podsandbox"},
        },
        {"Id": "c" * 64, "Names": ["/plain"], "Image": "busybox", "State": "exited"},
    ]
    index = convert.docker_index(answer)
    app = index["a" * 64]
    assert (app.name, app.pod_name, app.pod_namespace, app.pod_uid) == (
        "app",
        "web-0",
        "shop",
        "1234-5678",
    )
    assert index["b" * 64].is_sandbox
    assert index["c" * 64].name == "plain" and index["c" * 64].pod_name is None
