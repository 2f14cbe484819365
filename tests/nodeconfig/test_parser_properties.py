"""Property: whatever bytes a configuration file holds, the parsers raise nothing but
ProbeFailed (and the pure merges nothing at all)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nodeconfig_util import FIXTURES

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.nodeconfig import collect_node_config
from inspect8s.nodeconfig._parse import decode
from inspect8s.nodeconfig.containerd import merge_containerd_files, parse_containerd_file
from inspect8s.nodeconfig.crictl import parse_crictl_config
from inspect8s.nodeconfig.crio import merge_crio_files, parse_crio_file
from inspect8s.nodeconfig.docker import parse_daemon_json
from inspect8s.nodeconfig.envfile import parse_env_file
from inspect8s.nodeconfig.kubelet import merge_kubelet, parse_flags, parse_kubelet_config
from inspect8s.nodeconfig.systemd import Word, parse_unit

PATH = "/etc/some/config"


def _containerd(text: str, path: str) -> object:
    return merge_containerd_files([parse_containerd_file(text, path)])


def _crio(text: str, path: str) -> object:
    return merge_crio_files([parse_crio_file(text, path)])


def _kubelet(text: str, path: str) -> object:
    data, lines = parse_kubelet_config(text, path)
    return merge_kubelet({}, [(path, data, lines)], {})


PARSERS: dict[str, Callable[[str, str], object]] = {
    "kubelet": _kubelet,
    "containerd": _containerd,
    "crio": _crio,
    "docker": parse_daemon_json,
    "crictl": parse_crictl_config,
    "envfile": parse_env_file,
    "unit": parse_unit,
}

SEEDS: list[bytes] = [
    (FIXTURES / "real-1.26/var/lib/kubelet/config.yaml").read_bytes(),
    (FIXTURES / "real-1.26/etc/containerd/config.toml").read_bytes(),
    (FIXTURES / "containerd2-v2-removed-keys/etc/containerd/config.toml").read_bytes(),
    (FIXTURES / "containerd-v3/etc/containerd/config.toml").read_bytes(),
    (FIXTURES / "crio/etc/crio/crio.conf").read_bytes(),
    (FIXTURES / "kubeadm-1.23-docker/etc/docker/daemon.json").read_bytes(),
    (FIXTURES / "kubeadm-1.23-docker/etc/crictl.yaml").read_bytes(),
    (FIXTURES / "kubeadm-1.23-docker/etc/default/kubelet").read_bytes(),
    (
        FIXTURES / "kubeadm-1.23-docker/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"
    ).read_bytes(),
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real configuration file with random bytes spliced in, cut, or both."""
    seed = draw(st.sampled_from(SEEDS))
    start = draw(st.integers(0, len(seed)))
    end = draw(st.integers(start, min(len(seed), start + 64)))
    insert = draw(st.binary(max_size=32) | st.text(max_size=16).map(str.encode))
    out = seed[:start] + insert + seed[end:]
    if draw(st.booleans()):
        out = out[: draw(st.integers(0, len(out)))]
    return out


ANY_BYTES = st.binary(max_size=2048) | mutated()


def _run(parser: Callable[[str, str], object], data: bytes) -> None:
    try:
        parser(decode(data, PATH), PATH)
    except ProbeFailed as exc:
        assert exc.kind is ErrorKind.MALFORMED
        assert exc.source == f"host:{PATH}"


@settings(max_examples=150, deadline=None)
@given(data=ANY_BYTES, name=st.sampled_from(sorted(PARSERS)))
def test_parsers_raise_only_probe_failed(data: bytes, name: str) -> None:
    _run(PARSERS[name], data)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=512), name=st.sampled_from(sorted(PARSERS)))
def test_parsers_on_arbitrary_text(text: str, name: str) -> None:
    _run(PARSERS[name], text.encode("utf-8", "surrogatepass"))


# Arbitrary nested data where the merges expect tables: the merges are pure and total.
SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
NESTED = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.sampled_from(
            ["containerd", "runtimes", "runc", "options", "registry", "mirrors", "auths",
             "configs", "endpoint", "runtime_type", "sandbox_image", "pinned_images",
             "sandbox", "cni", "bin_dir", "default_runtime", "snapshotter", "x"]
        ),
        inner,
        max_size=4,
    ),
    max_leaves=12,
)  # fmt: skip
PLUGIN_IDS = st.sampled_from(
    ["cri", "linux", "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime",
     "io.containerd.cri.v1.images", "io.containerd.runtime.v1.linux", "other"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    version=st.none() | st.integers(0, 4),
    plugins=st.dictionaries(PLUGIN_IDS, NESTED, max_size=4),
    disabled=st.lists(st.text(max_size=8), max_size=3),
)
def test_containerd_merge_is_total(
    version: int | None, plugins: dict[str, Any], disabled: list[str]
) -> None:
    data: dict[str, Any] = {"plugins": plugins, "disabled_plugins": disabled}
    if version is not None:
        data["version"] = version
    config = merge_containerd_files([("/etc/containerd/config.toml", data, {})])
    assert config.version >= 1


@settings(max_examples=100, deadline=None)
@given(data=st.dictionaries(st.sampled_from(["crio", "runtime", "runtimes", "x"]), NESTED))
def test_crio_merge_is_total(data: dict[str, Any]) -> None:
    merge_crio_files([("/etc/crio/crio.conf", data, {})])


@settings(max_examples=100, deadline=None)
@given(
    data=st.dictionaries(
        st.sampled_from(["featureGates", "maxPods", "cgroupDriver", "kind"]), NESTED
    ),
    args=st.lists(st.text(max_size=12), max_size=8),
)
def test_kubelet_merge_and_flags_are_total(data: dict[str, Any], args: list[str]) -> None:
    flags = parse_flags([Word(a, "cmdline", None) for a in args])
    merge_kubelet({}, [("/var/lib/kubelet/config.yaml", data, {})], flags)


FILES = [
    "/var/lib/kubelet/config.yaml",
    "/etc/containerd/config.toml",
    "/etc/crio/crio.conf",
    "/etc/docker/daemon.json",
    "/etc/crictl.yaml",
    "/var/lib/kubelet/kubeadm-flags.env",
    "/etc/systemd/system/kubelet.service",
]


@pytest.fixture(scope="module")
def host_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root every example of test_collect_never_raises writes its files into (each
    example writes all of FILES, over the last example's)."""
    return tmp_path_factory.mktemp("collect")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contents=st.lists(ANY_BYTES, min_size=len(FILES), max_size=len(FILES)))
def test_collect_never_raises(host_root: Path, contents: list[bytes]) -> None:
    for host_path, data in zip(FILES, contents, strict=True):
        target = host_root / host_path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    _, errors = collect_node_config(
        HostFS(str(host_root)), kubelet_cmdline=["kubelet", "--config=/var/lib/kubelet/config.yaml"]
    )
    assert all(isinstance(e, ProbeFailed) for e in errors)
    # Each names a host file (a unit's EnvironmentFile= may name one not written here).
    assert all(e.source.startswith("host:/") for e in errors)
