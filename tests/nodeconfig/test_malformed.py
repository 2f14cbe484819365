"""Every malformed input gives a ProbeFailed naming the file (and line), and the rest of the
node configuration is still read."""

from __future__ import annotations

from pathlib import Path

import pytest
from nodeconfig_util import write

from inspect8s.errors import ErrorKind
from inspect8s.host.fs import HostFS
from inspect8s.nodeconfig import collect_node_config

KUBELET_CMD = [
    "/usr/bin/kubelet",
    "--config=/var/lib/kubelet/config.yaml",
    "--config-dir=/etc/kubernetes/kubelet.conf.d",
]
BINARY = b"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe\x03\x00>\x00"
NOT_UTF8 = b"cgroupDriver: \xff\xfe\xfa\n"

# target -> (host path, {corruption: content}); content None means "a directory".
CASES: dict[str, tuple[str, dict[str, bytes | None]]] = {
    "kubelet-config": (
        "/var/lib/kubelet/config.yaml",
        {
            "broken": b"kind: KubeletConfiguration\ncgroupDriver: systemd\n  bad: indent\n",
            "truncated": b"kind: KubeletConfiguration\nclusterDNS: [10.96.0.10, 10.9",
            "binary": BINARY,
            "not-utf8": NOT_UTF8,
            "directory": None,
        },
    ),
    "kubelet-dropin": (
        "/etc/kubernetes/kubelet.conf.d/10-x.conf",
        {
            "broken": b"kind: KubeletConfiguration\nmaxPods: {unclosed\n",
            "truncated": b'kind: KubeletConfiguration\ncgroupDriver: "syst',
            "binary": BINARY,
            "directory": None,
        },
    ),
    "instance-config": (
        "/var/lib/kubelet/instance-config.yaml",
        {
            "broken": b"kind: KubeletConfiguration\n: : :\n",
            "truncated": b"kind: KubeletConfiguration\ncontainerRuntimeEndpoint: 'unix:///ru",
            "binary": BINARY,
            "directory": None,
        },
    ),
    "containerd": (
        "/etc/containerd/config.toml",
        {
            "broken": b'version = 2\n[plugins."io.containerd.grpc.v1.cri"\nsandbox_image = 1\n',
            "truncated": b'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n'
            b'  sandbox_image = "reg',
            "binary": BINARY,
            "not-utf8": b'version = 2\nroot = "\xff"\n',
            "directory": None,
        },
    ),
    "crio": (
        "/etc/crio/crio.conf.d/10-x.conf",
        {
            "broken": b"[crio.runtime]\ncgroup_manager = systemd\n",
            "truncated": b'[crio.runtime]\ncgroup_manager = "sys',
            "binary": BINARY,
            "directory": None,
        },
    ),
    "docker": (
        "/etc/docker/daemon.json",
        {
            "broken": b'{\n  "exec-opts": ["native.cgroupdriver=systemd"],\n}\n',
            "truncated": b'{\n  "exec-opts": ["native.cgroupdr',
            "binary": BINARY,
            "directory": None,
        },
    ),
    "crictl": (
        "/etc/crictl.yaml",
        {
            "broken": b"runtime-endpoint: [unix:///run/containerd/containerd.sock\n",
            "truncated": b'runtime-endpoint: "unix:///run/contain',
            "binary": BINARY,
            "directory": None,
        },
    ),
    "env-file": (
        "/var/lib/kubelet/kubeadm-flags.env",
        {
            "broken": b'# flags\nKUBELET_KUBEADM_ARGS="--network-plugin=cni\n',
            "truncated": b"KUBELET_KUBEADM_ARGS='--network-plugin=c",
            "binary": BINARY,
            "directory": None,
        },
    ),
    "unit-dropin": (
        "/etc/systemd/system/kubelet.service.d/10-x.conf",
        {
            "broken": b"[Service\nExecStart=/usr/bin/kubelet\n",
            "truncated": b"[Service]\nExecStart=\n"
            b'ExecStart=/usr/bin/kubelet "--config=/var/lib/kub',
            "binary": BINARY,
            "directory": None,
        },
    ),
}

WITNESS_CRICTL = b"runtime-endpoint: unix:///run/containerd/containerd.sock\n"
WITNESS_DOCKER = b'{"data-tmp_path": "/var/lib/docker"}\n'


def _params() -> list[tuple[str, str]]:
    return [(target, kind) for target, (_, kinds) in CASES.items() for kind in kinds]


@pytest.mark.parametrize(("target", "corruption"), _params())
def test_malformed_input_is_a_probe_error_naming_the_file(
    tmp_path: Path, target: str, corruption: str
) -> None:
    path, kinds = CASES[target]
    content = kinds[corruption]
    if content is None:
        (tmp_path / path.lstrip("/")).mkdir(parents=True)
    else:
        write(tmp_path, path, content)
    if target == "unit-dropin":
        write(
            tmp_path,
            "/lib/systemd/system/kubelet.service",
            "[Service]\nExecStart=/usr/bin/kubelet\n",
        )
    if target in ("kubelet-dropin", "instance-config"):
        write(tmp_path, "/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\nmaxPods: 9\n")
    witness_is_docker = target == "crictl"
    if witness_is_docker:
        write(tmp_path, "/etc/docker/daemon.json", WITNESS_DOCKER)
    else:
        write(tmp_path, "/etc/crictl.yaml", WITNESS_CRICTL)
    kubelet_cmd = KUBELET_CMD if target.startswith(("kubelet-", "instance")) else None

    config, errors = collect_node_config(HostFS(str(tmp_path)), kubelet_cmdline=kubelet_cmd)

    mine = [e for e in errors if e.source == f"host:{path}"]
    assert len(mine) == 1, errors
    error = mine[0]
    assert error.kind is ErrorKind.MALFORMED
    if content is None:
        assert "directory" in error.detail
    else:
        assert "line " in error.detail, error.detail
    assert len(errors) == 1, errors  # nothing else went wrong because of it
    # The rest of the node configuration was still read.
    if witness_is_docker:
        assert config.docker is not None
    else:
        assert config.crictl is not None
    if target in ("kubelet-dropin", "instance-config"):
        assert config.kubelet is not None
        assert config.kubelet.settings["maxPods"].value == 9


def test_line_numbers_point_at_the_problem(tmp_path: Path) -> None:
    write(tmp_path, "/etc/containerd/config.toml", 'version = 2\nroot = "/x"\nstate = \n')
    write(tmp_path, "/etc/docker/daemon.json", '{\n  "a": 1,\n  "b": 2,\n}\n')
    write(tmp_path, "/etc/crictl.yaml", "timeout: 2\ndebug: false\nruntime-endpoint: [x\n")
    write(tmp_path, "/var/lib/kubelet/kubeadm-flags.env", "A=1\n\nKUBELET_KUBEADM_ARGS='--x\n")
    _, errors = collect_node_config(HostFS(str(tmp_path)), kubelet_cmdline=None)
    lines = {e.source: e.detail.rsplit("line ", 1)[1] for e in errors}
    assert lines == {
        "host:/etc/containerd/config.toml": "3",
        "host:/etc/docker/daemon.json": "4",
        "host:/etc/crictl.yaml": "4",
        "host:/var/lib/kubelet/kubeadm-flags.env": "3",
    }


@pytest.mark.parametrize(
    "body",
    [
        "kind: KubeletConfiguration\na: &a [*a]\n",
        "kind: KubeletConfiguration\nl0: &l0 [x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 12)),
        "kind: KubeletConfiguration\ndeep: " + "[" * 200 + "]" * 200 + "\n",
    ],
    ids=["alias-cycle", "alias-bomb", "deep-nesting"],
)
def test_hostile_yaml_is_refused(tmp_path: Path, body: str) -> None:
    write(tmp_path, "/var/lib/kubelet/config.yaml", body)
    write(tmp_path, "/etc/kubernetes/kubelet.conf.d/10.conf", body)
    config, errors = collect_node_config(HostFS(str(tmp_path)), kubelet_cmdline=KUBELET_CMD)
    assert {e.source for e in errors} == {
        "host:/var/lib/kubelet/config.yaml",
        "host:/etc/kubernetes/kubelet.conf.d/10.conf",
    }
    assert all(e.kind is ErrorKind.MALFORMED for e in errors)
    assert config.kubelet is not None
