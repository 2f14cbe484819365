from __future__ import annotations

from pathlib import Path

from nodeconfig_util import proc_cmdline, tree, write

from inspect8s.errors import ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.nodeconfig import collect_node_config
from inspect8s.nodeconfig.crictl import LEGACY_DEFAULT_ENDPOINTS, collect_crictl_config
from inspect8s.nodeconfig.crio import collect_crio_config
from inspect8s.nodeconfig.docker import collect_docker_config
from inspect8s.nodeconfig.envfile import parse_env_file
from inspect8s.nodeconfig.systemd import parse_unit


def test_crio_dropins_override_in_lexical_order() -> None:
    errors: list[ProbeFailed] = []
    cfg = collect_crio_config(tree("crio"), None, errors)
    assert errors == [] and cfg is not None
    assert cfg.files == (
        "/etc/crio/crio.conf",
        "/etc/crio/crio.conf.d/10-crun.conf",
        "/etc/crio/crio.conf.d/20-cgroupfs.conf",
    )
    assert cfg.cgroup_manager is not None
    assert (cfg.cgroup_manager.value, cfg.cgroup_manager.source, cfg.cgroup_manager.line) == (
        "cgroupfs",
        "/etc/crio/crio.conf.d/20-cgroupfs.conf",
        2,
    )
    assert [o.value for o in cfg.cgroup_manager.overrides] == ["systemd"]
    assert cfg.conmon_cgroup is not None and cfg.conmon_cgroup.value == "pod"
    assert cfg.default_runtime is not None and cfg.default_runtime.value == "crun"
    assert set(cfg.runtimes) == {"runc", "crun"}
    crun = cfg.runtimes["crun"]
    assert crun.runtime_path is not None and crun.runtime_path.value == "/usr/bin/crun"
    assert (crun.source, crun.line) == ("/etc/crio/crio.conf.d/10-crun.conf", 4)
    assert cfg.pause_image is not None and cfg.pause_image.line == 15


def test_crio_config_from_cmdline(tmp_path: Path) -> None:
    write(tmp_path, "/opt/crio/main.conf", '[crio.runtime]\ncgroup_manager = "cgroupfs"\n')
    errors: list[ProbeFailed] = []
    cfg = collect_crio_config(
        HostFS(str(tmp_path)), ["crio", "--config", "/opt/crio/main.conf"], errors
    )
    assert cfg is not None and cfg.files == ("/opt/crio/main.conf",)
    assert collect_crio_config(HostFS(str(tmp_path)), None, errors) is None
    assert errors == []


def test_docker_daemon_json() -> None:
    errors: list[ProbeFailed] = []
    cfg = collect_docker_config(tree("kubeadm-1.23-docker"), None, errors)
    assert errors == [] and cfg is not None
    assert cfg.cgroup_driver is not None
    assert (cfg.cgroup_driver.value, cfg.cgroup_driver.line) == ("systemd", 2)
    assert cfg.registry_mirrors == ("https://mirror.example.internal",)
    assert cfg.insecure_registries == ("registry.example.internal:5000",)
    assert cfg.data_root is not None and cfg.data_root.line == 6
    assert cfg.containerd_address is None
    assert cfg.settings["storage-driver"].line == 7


def test_docker_config_file_flag(tmp_path: Path) -> None:
    write(tmp_path, "/srv/daemon.json", '{"containerd": "/run/containerd/containerd.sock"}')
    errors: list[ProbeFailed] = []
    cfg = collect_docker_config(
        HostFS(str(tmp_path)), ["dockerd", "--config-file=/srv/daemon.json"], errors
    )
    assert cfg is not None and cfg.containerd_address is not None
    assert cfg.containerd_address.value == "/run/containerd/containerd.sock"
    assert cfg.cgroup_driver is None


def test_crictl_dockershim_and_defaults(tmp_path: Path) -> None:
    errors: list[ProbeFailed] = []
    cfg = collect_crictl_config(tree("kubeadm-1.23-docker"), errors)
    assert cfg is not None and cfg.runtime_endpoint is not None
    assert (cfg.runtime_endpoint.value, cfg.runtime_endpoint.line) == (
        "unix:///var/run/dockershim.sock",
        1,
    )
    assert cfg.uses_default_endpoints is False and cfg.default_endpoints == ()

    write(tmp_path, "/etc/crictl.yaml", "timeout: 2\ndebug: false\n")
    cfg = collect_crictl_config(HostFS(str(tmp_path)), errors)
    assert cfg is not None and cfg.runtime_endpoint is None
    assert cfg.uses_default_endpoints is True
    assert cfg.default_endpoints[0] == "unix:///var/run/dockershim.sock"
    assert cfg.default_endpoints == LEGACY_DEFAULT_ENDPOINTS

    write(tmp_path, "/custom/crictl.yaml", "runtime-endpoint: unix:///run/crio/crio.sock\n")
    cfg = collect_crictl_config(HostFS(str(tmp_path)), errors, config_file="/custom/crictl.yaml")
    assert cfg is not None and cfg.path == "/custom/crictl.yaml"
    assert errors == []


def test_collect_node_config_on_kubeadm_docker_node() -> None:
    config, errors = collect_node_config(
        tree("kubeadm-1.23-docker"), kubelet_cmdline=None, kubelet_version="1.23.17"
    )
    assert errors == []
    assert config.kubelet is not None and "--network-plugin" in config.kubelet.flags
    assert config.containerd is not None and config.containerd.cri_disabled
    assert config.docker is not None and config.crictl is not None
    assert config.crio is None


def test_collect_node_config_on_real_node() -> None:
    config, errors = collect_node_config(
        tree("real-1.26"),
        kubelet_cmdline=proc_cmdline("real-1.26", 26923),
        containerd_cmdline=proc_cmdline("real-1.26", 22467),
        kubelet_version="v1.26.4",
    )
    assert errors == []
    assert config.kubelet is not None and config.containerd is not None
    assert (config.crio, config.docker, config.crictl) == (None, None, None)


def test_env_file_quoting() -> None:
    text = (
        "# comment\n"
        "; also a comment\n"
        'A="x \\"y\\" \\$z"\n'
        "B='multi\n"
        "line'\n"
        "C=unquoted\\\n"
        "continued  \n"
        "not an assignment\n"
        "1BAD=ignored\n"
        "D = spaced\n"
    )
    env = parse_env_file(text, "/etc/default/kubelet")
    assert {k: (v.value, v.line) for k, v in env.items()} == {
        "A": ('x "y" $z', 3),
        "B": ("multi\nline", 4),
        "C": ("unquotedcontinued", 6),
        "D": ("spaced", 10),
    }


def test_unit_continuation_lines() -> None:
    directives = parse_unit(
        "[Service]\nExecStart=/usr/bin/kubelet \\\n  --a=b \\\n  --c=d\nRestart=always\n",
        "/etc/systemd/system/kubelet.service",
    )
    assert [(d.key, d.value, d.line) for d in directives] == [
        ("ExecStart", "/usr/bin/kubelet --a=b --c=d", 2),
        ("Restart", "always", 5),
    ]
