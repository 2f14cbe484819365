"""Converters against every pod and node recorded from the real 1.26 cluster, and quantities."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.kube.convert import (
    compute_qos,
    container_runtime_of,
    cpu_millicores,
    node_from_json,
    parse_quantity,
    pod_from_json,
    pods_from_list,
    quantity_bytes,
)
from inspect8s.model import QoS
from tests.kubeserver import load_fixture


def _pods() -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in load_fixture("pods-all.json")["items"]}


QUANTITIES = [
    ("100m", Decimal("0.1")),
    ("0.5", Decimal("0.5")),
    ("1", Decimal(1)),
    ("128Mi", Decimal(128 * 2**20)),
    ("1Ki", Decimal(1024)),
    ("1G", Decimal(10**9)),
    ("1k", Decimal(1000)),
    ("1e3", Decimal(1000)),
    ("1E3", Decimal(1000)),
    ("1.5Gi", Decimal(3 * 2**29)),
    ("500u", Decimal("0.0005")),
    ("2n", Decimal("2e-9")),
    (".5", Decimal("0.5")),
    ("+2", Decimal(2)),
    ("12e-3", Decimal("0.012")),
    (2, Decimal(2)),
    (0.25, Decimal("0.25")),
]


@pytest.mark.parametrize(("text", "expected"), QUANTITIES)
def test_parse_quantity(text: str, expected: Decimal) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3", "1Mb", "1 Mi", "Mi", "1m1", "--1", "1ki"])
def test_parse_quantity_rejects_what_the_api_server_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_quantity(bad)


@pytest.mark.parametrize(
    ("text", "millicores"),
    [("100m", 100), ("0.5", 500), ("2", 2000), ("1.0001", 1001), ("250m", 250), ("1e-3", 1)],
)
def test_cpu_millicores_rounds_up(text: str, millicores: int) -> None:
    assert cpu_millicores(text) == millicores


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("128Mi", 134217728),
        ("1G", 1_000_000_000),
        ("1.5Ki", 1536),
        ("100m", 1),
        ("64M", 64_000_000),
    ],
)
def test_quantity_bytes(text: str, size: int) -> None:
    assert quantity_bytes(text) == size


def test_every_recorded_pod_converts_and_keeps_the_api_qos() -> None:
    pods = {p.name: p for p in pods_from_list(load_fixture("pods-all.json"))}
    assert {n: p.qos for n, p in pods.items()} == {
        "api-busybox": QoS.BESTEFFORT,
        "static-busybox-vm": QoS.BESTEFFORT,
        "api-burstable": QoS.BURSTABLE,
        "batch-besteffort": QoS.BESTEFFORT,
        "frontend-7b6b64b765-bfc4q": QoS.BURSTABLE,
        "frontend-7b6b64b765-lxbnp": QoS.BURSTABLE,
        "hungry": QoS.BURSTABLE,
        "legacy-builder": QoS.BESTEFFORT,
        "web-guaranteed": QoS.GUARANTEED,
    }
    for raw in load_fixture("pods-all.json")["items"]:
        # The spec-only computation agrees with what the API server computed.
        assert compute_qos(raw["spec"]).value == raw["status"]["qosClass"], raw["metadata"]["name"]
        pod = pods[raw["metadata"]["name"]]
        assert pod.phase == "Running"
        assert pod.node_name == "vm"
        assert pod.uid == raw["metadata"]["uid"]
        assert pod.source == "api"
        for container in pod.containers:
            scheme, ident = container_runtime_of(container.container_id)
            assert scheme == "containerd"
            assert ident is not None and len(ident) == 64
            assert container.state == "running"
            assert container.ready is True


def test_web_guaranteed_resources() -> None:
    pod = pod_from_json(load_fixture("pod-web-guaranteed.json"))
    (app,) = pod.containers
    assert (pod.namespace, pod.name, pod.qos) == ("shop", "web-guaranteed", QoS.GUARANTEED)
    assert app.requests.cpu_millicores == 250 and app.limits.cpu_millicores == 250
    assert app.requests.memory_bytes == app.limits.memory_bytes == 128 * 2**20
    assert app.container_id == (
        "containerd://169934755923c60f40a081d905447ce07055363ecb8c998b523e871244db747d"
    )
    assert app.volume_mounts[0].mount_path == "/var/run/secrets/kubernetes.io/serviceaccount"
    assert app.volume_mounts[0].read_only is True
    assert pod.host_network is True
    assert pod.labels == {"app": "web"}
    assert pod.volumes[0].kind == "projected" and pod.volumes[0].host_path is None


def test_api_burstable_two_containers_one_unbounded() -> None:
    pod = pod_from_json(_pods()["api-burstable"])
    app, sidecar = pod.containers
    assert app.requests.cpu_millicores == 100
    assert app.requests.memory_bytes == 64 * 2**20
    assert app.limits.memory_bytes == 256 * 2**20 and app.limits.cpu_millicores is None
    assert sidecar.requests.cpu_millicores is None and sidecar.limits.memory_bytes is None


def test_hungry_shows_no_oomkill_in_the_api() -> None:
    # SOURCE.md: the kernel OOM-killed a child process; the container's main process lived,
    # so the API reports nothing - only host truth (memory.oom_control) shows it.
    (eater,) = pod_from_json(_pods()["hungry"]).containers
    assert eater.limits.memory_bytes == 48 * 2**20
    assert eater.restart_count == 0
    assert eater.last_termination_reason is None
    assert eater.state == "running" and eater.state_reason is None


def test_last_termination_reason_oomkilled_is_read() -> None:
    raw = _pods()["hungry"]
    status = raw["status"]["containerStatuses"][0]
    status = {
        **status,
        "restartCount": 3,
        "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
    }
    raw = {**raw, "status": {**raw["status"], "containerStatuses": [status]}}
    (eater,) = pod_from_json(raw).containers
    assert eater.restart_count == 3
    assert eater.last_termination_reason == "OOMKilled"
    assert (eater.state, eater.state_reason) == ("waiting", "CrashLoopBackOff")


def test_legacy_builder_security() -> None:
    pod = pod_from_json(_pods()["legacy-builder"])
    (builder,) = pod.containers
    assert builder.privileged is True
    assert pod.host_pid is True
    assert pod.seccomp_profile == "RuntimeDefault"
    assert builder.seccomp_profile == "RuntimeDefault"  # inherited from the pod
    assert pod.annotations["seccomp.security.alpha.kubernetes.io/pod"] == "docker/default"
    sock = next(v for v in pod.volumes if v.name == "dockersock")
    assert (sock.kind, sock.host_path, sock.host_path_type) == (
        "hostPath",
        "/var/run/docker.sock",
        "Socket",
    )


def test_owner_of_replicaset_and_mirror_pods() -> None:
    pods = _pods()
    assert (
        pod_from_json(pods["frontend-7b6b64b765-bfc4q"]).owner == "ReplicaSet/frontend-7b6b64b765"
    )
    assert pod_from_json(pods["static-busybox-vm"]).owner == "Node/vm"
    assert pod_from_json(pods["api-busybox"]).owner is None


def test_manifest_pod_gets_computed_qos_and_container_overrides_pod_context() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "m"},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "initContainers": [
                {
                    "name": "init",
                    "image": "busybox",
                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                }
            ],
            "containers": [
                {
                    "name": "app",
                    "image": "nginx",
                    "ports": [{"containerPort": 80, "hostPort": 8080}],
                    "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
                    "securityContext": {
                        "runAsNonRoot": False,
                        "seccompProfile": {"type": "Unconfined"},
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
                    },
                }
            ],
        },
    }
    pod = pod_from_json(manifest, source="manifest:pod.yaml#0")
    init, app = pod.containers
    # Only limits given: requests default to them, every container limits cpu and memory.
    assert pod.qos is QoS.GUARANTEED
    assert pod.namespace == "default" and pod.phase is None and pod.uid is None
    assert init.init is True and init.run_as_non_root is True
    assert init.seccomp_profile == "RuntimeDefault"
    assert app.run_as_non_root is False and app.seccomp_profile == "Unconfined"
    assert app.capabilities_add == ("NET_ADMIN",) and app.capabilities_drop == ("ALL",)
    assert app.allow_privilege_escalation is False
    assert app.host_ports == (8080,)
    assert app.container_id is None and app.state is None


@pytest.mark.parametrize(
    ("containers", "expected"),
    [
        ([{}], QoS.BESTEFFORT),
        ([{"requests": {"cpu": "0"}}], QoS.BESTEFFORT),  # zero does not count
        ([{"requests": {"cpu": "100m"}}], QoS.BURSTABLE),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}}], QoS.GUARANTEED),
        ([{"limits": {"cpu": "1"}}], QoS.BURSTABLE),  # memory not limited
        (
            [{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}],
            QoS.BURSTABLE,
        ),
        (
            [{"limits": {"cpu": "1", "memory": "1Gi"}}, {}],
            QoS.BURSTABLE,  # the second container limits nothing
        ),
        (
            [{"limits": {"cpu": "1000m", "memory": "1024Mi", "ephemeral-storage": "1Gi"}}],
            QoS.GUARANTEED,  # only cpu and memory decide
        ),
    ],
)
def test_compute_qos(containers: list[dict[str, Any]], expected: QoS) -> None:
    spec = {"containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(containers)]}
    assert compute_qos(spec) is expected


def test_bad_quantity_is_malformed_with_the_pod_named() -> None:
    raw = {
        "metadata": {"name": "bad", "namespace": "x"},
        "spec": {"containers": [{"name": "c", "resources": {"limits": {"memory": "1Mb"}}}]},
    }
    with pytest.raises(ProbeFailed) as info:
        pod_from_json(raw, source="manifest:bad.yaml#0")
    assert info.value.kind is ErrorKind.MALFORMED
    assert "bad" in info.value.source and "1Mb" in info.value.detail


def test_node_from_recorded_json() -> None:
    (raw,) = load_fixture("nodes.json")["items"]
    node = node_from_json(raw)
    assert node.name == "vm"
    assert node.kubelet_version == "v1.26.4"
    assert node.container_runtime_version == "containerd://1.6.20"
    assert node.os_image == "Debian GNU/Linux 12 (bookworm)"
    assert node.kernel_version == "6.18.44-fc-v669"
    assert node.taints == ({"effect": "NoSchedule", "key": "node.kubernetes.io/not-ready"},)
    assert node.addresses == (("InternalIP", "192.0.2.2"), ("Hostname", "vm"))
    # Not a kubeadm cluster: the recording has no cri-socket annotation.
    assert node.cri_socket_annotation is None


def test_node_cri_socket_annotation() -> None:
    (raw,) = load_fixture("nodes.json")["items"]
    annotations = {
        **raw["metadata"]["annotations"],
        "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
    }
    raw = {**raw, "metadata": {**raw["metadata"], "annotations": annotations}}
    assert node_from_json(raw).cri_socket_annotation == "unix:///run/containerd/containerd.sock"


@pytest.mark.parametrize(
    ("cid", "expected"),
    [
        ("containerd://abc", ("containerd", "abc")),
        ("cri-o://def", ("cri-o", "def")),
        ("docker://0123", ("docker", "0123")),
        (None, (None, None)),
        ("", (None, None)),
    ],
)
def test_container_runtime_of(cid: str | None, expected: tuple[str | None, str | None]) -> None:
    assert container_runtime_of(cid) == expected
