from __future__ import annotations

from pathlib import Path

import pytest
from nodeconfig_util import proc_cmdline, tree, write

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.nodeconfig.kubelet import (
    collect_kubelet_config,
    kubelet_defaults,
    parse_flags,
)
from inspect8s.nodeconfig.systemd import Word


def words(*args: str) -> list[Word]:
    return [Word(a, "cmdline", None) for a in args]


def test_real_126_node_cmdline_and_config_file() -> None:
    errors: list[ProbeFailed] = []
    cmd = proc_cmdline("real-1.26", 26923)
    cfg = collect_kubelet_config(tree("real-1.26"), cmd, errors, version="v1.26.4")
    assert errors == []
    assert cfg is not None
    assert cfg.flags_from == "cmdline"
    assert cfg.config_file == "/var/lib/kubelet/config.yaml"
    driver = cfg.settings["cgroupDriver"]
    assert (driver.value, driver.source, driver.line) == (
        "cgroupfs",
        "/var/lib/kubelet/config.yaml",
        19,
    )
    assert [o.source for o in driver.overrides] == ["default"]
    endpoint = cfg.settings["containerRuntimeEndpoint"]
    assert endpoint.key == "--container-runtime-endpoint"
    assert endpoint.source == "cmdline"
    assert endpoint.value == "unix:///run/containerd/containerd.sock"
    pause = cfg.flags["--pod-infra-container-image"]
    assert (pause.value, pause.source) == ("registry.k8s.io/pause:3.6", "cmdline")
    assert "podInfraContainerImage" not in cfg.settings
    assert cfg.settings["failSwapOn"].value is False
    assert "failCgroupV1" not in cfg.settings  # no such field before 1.31
    assert cfg.unit_files == () and cfg.unit_flags == {}


def test_kubeadm_123_flags_from_unit_and_env_files() -> None:
    errors: list[ProbeFailed] = []
    cfg = collect_kubelet_config(tree("kubeadm-1.23-docker"), None, errors, version="1.23.17")
    assert errors == []
    assert cfg is not None
    assert cfg.flags_from == "unit"
    assert cfg.unit_files == (
        "/lib/systemd/system/kubelet.service",
        "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
    )
    assert cfg.env_files == ("/var/lib/kubelet/kubeadm-flags.env", "/etc/default/kubelet")
    where = {name: (v.value, v.source, v.line) for name, v in cfg.flags.items()}
    assert where["--network-plugin"] == ("cni", "/var/lib/kubelet/kubeadm-flags.env", 1)
    assert where["--pod-infra-container-image"][1:] == ("/var/lib/kubelet/kubeadm-flags.env", 1)
    assert where["--container-runtime"] == ("docker", "/etc/default/kubelet", 2)
    assert where["--docker-endpoint"] == (
        "unix:///var/run/docker.sock",
        "/etc/default/kubelet",
        2,
    )
    assert where["--cni-bin-dir"][1] == "/etc/default/kubelet"
    kubeconfig_dropin = "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"
    assert where["--kubeconfig"] == ("/etc/kubernetes/kubelet.conf", kubeconfig_dropin, 3)
    assert where["--config"] == ("/var/lib/kubelet/config.yaml", kubeconfig_dropin, 4)
    assert cfg.flags == cfg.unit_flags
    assert cfg.settings["cgroupDriver"].value == "systemd"
    assert cfg.settings["cgroupDriver"].line == 12
    # No endpoint anywhere: a 1.23 kubelet defaults to the in-tree dockershim socket.
    endpoint = cfg.settings["containerRuntimeEndpoint"]
    assert (endpoint.value, endpoint.source) == ("unix:///var/run/dockershim.sock", "default")


def test_dropins_override_config_file_and_flags_override_both() -> None:
    errors: list[ProbeFailed] = []
    cfg = collect_kubelet_config(tree("kubelet-dropins"), None, errors, version="1.33.1")
    assert errors == []
    assert cfg is not None
    assert cfg.config_dir == "/etc/kubernetes/kubelet.conf.d"
    assert cfg.drop_ins == (
        "/etc/kubernetes/kubelet.conf.d/10-pods.conf",
        "/etc/kubernetes/kubelet.conf.d/20-cgroup.conf",
    )
    max_pods = cfg.settings["maxPods"]
    assert (max_pods.value, max_pods.source, max_pods.key) == (
        300,
        "/etc/sysconfig/kubelet",
        "--max-pods",
    )
    assert [(o.value, o.source) for o in max_pods.overrides] == [
        (250, "/etc/kubernetes/kubelet.conf.d/10-pods.conf"),
        (110, "/var/lib/kubelet/config.yaml"),
    ]
    driver = cfg.settings["cgroupDriver"]
    assert (driver.value, driver.source, driver.line) == (
        "systemd",
        "/etc/kubernetes/kubelet.conf.d/20-cgroup.conf",
        3,
    )
    assert cfg.settings["failCgroupV1"].value is False
    assert cfg.settings["clusterDNS"].value == ["10.0.0.10"]  # lists are replaced whole
    assert cfg.settings["authorization"].value == {
        "mode": "Webhook",
        "webhook": {"cacheAuthorizedTTL": "5m", "cacheUnauthorizedTTL": "30s"},
    }
    gate = cfg.feature_gates["KubeletCgroupDriverFromCRI"]
    assert (gate.value, gate.source, gate.line) == (
        True,
        "/etc/kubernetes/kubelet.conf.d/10-pods.conf",
        8,
    )
    graceful = cfg.feature_gates["GracefulNodeShutdown"]
    assert (graceful.value, graceful.source) == (False, "/etc/sysconfig/kubelet")
    assert graceful.overrides[0].source == "/var/lib/kubelet/config.yaml"
    instance = cfg.kubeadm_instance["containerRuntimeEndpoint"]
    assert (instance.source, instance.line) == ("/var/lib/kubelet/instance-config.yaml", 3)


def test_live_cmdline_wins_but_unit_flags_are_kept() -> None:
    errors: list[ProbeFailed] = []
    cmd = ["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml", "--max-pods", "42"]
    cfg = collect_kubelet_config(tree("kubelet-dropins"), cmd, errors, version="1.33.1")
    assert cfg is not None and errors == []
    assert cfg.flags_from == "cmdline"
    assert cfg.settings["maxPods"].value == 42
    assert cfg.config_dir is None  # the running kubelet was not given --config-dir
    assert cfg.unit_flags["--config-dir"].value == "/etc/kubernetes/kubelet.conf.d"


def test_parse_flags_pflag_forms() -> None:
    flags = parse_flags(
        words(
            "/usr/bin/kubelet",
            "--fail-swap-on",
            "--cgroup_driver",
            "systemd",
            "-v=2",
            "--network-plugin=cni",
            "--max-pods=10",
            "--max-pods=20",
            "--register-node",
            "stray",
            "--",
            "--after-terminator=x",
        )
    )
    assert flags["--fail-swap-on"].value == "true"
    assert flags["--cgroup-driver"].value == "systemd"
    assert flags["--cgroup-driver"].key == "--cgroup_driver"
    assert flags["--v"].value == "2"
    assert flags["--network-plugin"].value == "cni"
    assert flags["--max-pods"].value == "20"
    assert [o.value for o in flags["--max-pods"].overrides] == ["10"]
    assert flags["--register-node"].value == "true"
    assert "--after-terminator" not in flags


def test_defaults_follow_version() -> None:
    assert kubelet_defaults("1.23")["containerRuntimeEndpoint"].value.endswith("dockershim.sock")
    assert kubelet_defaults("v1.24.0")["containerRuntimeEndpoint"].value == (
        "unix:///run/containerd/containerd.sock"
    )
    assert "failCgroupV1" not in kubelet_defaults(
        "1.30"
    ) and "failCgroupV1" not in kubelet_defaults("1.28")
    assert kubelet_defaults("1.31")["failCgroupV1"].value is False
    assert kubelet_defaults("1.35")["failCgroupV1"].value is True
    assert "failCgroupV1" not in kubelet_defaults(None)  # unknown version: no such claim
    assert kubelet_defaults(None)["cgroupDriver"].value == "cgroupfs"


def test_missing_config_file_is_reported_and_rest_kept(tmp_path: Path) -> None:
    errors: list[ProbeFailed] = []
    cmd = ["kubelet", "--config=/var/lib/kubelet/config.yaml", "--cgroup-driver=systemd"]
    cfg = collect_kubelet_config(HostFS(str(tmp_path)), cmd, errors)
    assert cfg is not None
    assert cfg.settings["cgroupDriver"].value == "systemd"
    assert len(errors) == 1
    assert errors[0].kind is ErrorKind.MISSING
    assert errors[0].source == "host:/var/lib/kubelet/config.yaml"


def test_nothing_found_is_none(tmp_path: Path) -> None:
    errors: list[ProbeFailed] = []
    assert collect_kubelet_config(HostFS(str(tmp_path)), None, errors) is None
    assert errors == []


def test_fallback_to_kubeadm_env_files_without_unit(tmp_path: Path) -> None:
    write(
        tmp_path,
        "/var/lib/kubelet/kubeadm-flags.env",
        'KUBELET_KUBEADM_ARGS="--container-runtime=remote"\n',
    )
    write(tmp_path, "/etc/default/kubelet", "# nothing\nKUBELET_EXTRA_ARGS='--node-ip=192.0.2.2'\n")
    errors: list[ProbeFailed] = []
    cfg = collect_kubelet_config(HostFS(str(tmp_path)), None, errors)
    assert cfg is not None and errors == []
    assert cfg.flags_from == "unit"
    assert cfg.flags["--container-runtime"].source == "/var/lib/kubelet/kubeadm-flags.env"
    assert (cfg.flags["--node-ip"].source, cfg.flags["--node-ip"].line) == (
        "/etc/default/kubelet",
        2,
    )


@pytest.mark.parametrize(
    "body",
    [
        "kind: KubeletConfiguration\ncgroupDriver: [unclosed\n",
        "apiVersion: kubelet.config.k8s.io/v1beta1\ncgroupDriver: systemd\n",
        "- a list\n- not a mapping\n",
    ],
)
def test_bad_dropin_is_reported_and_others_still_merge(tmp_path: Path, body: str) -> None:
    write(tmp_path, "/etc/kubelet.d/10-bad.conf", body)
    write(tmp_path, "/etc/kubelet.d/20-good.conf", "kind: KubeletConfiguration\nmaxPods: 7\n")
    errors: list[ProbeFailed] = []
    cfg = collect_kubelet_config(
        HostFS(str(tmp_path)), ["kubelet", "--config-dir=/etc/kubelet.d"], errors
    )
    assert cfg is not None
    assert cfg.settings["maxPods"].value == 7
    assert [e.source for e in errors] == ["host:/etc/kubelet.d/10-bad.conf"]
    assert errors[0].kind is ErrorKind.MALFORMED
    assert "line" in errors[0].detail
