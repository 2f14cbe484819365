from __future__ import annotations

from pathlib import Path

from nodeconfig_util import proc_cmdline, tree, write

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.nodeconfig.containerd import (
    collect_containerd_config,
    config_path_from_cmdline,
    parse_containerd_file,
    toml_key_lines,
)

CRI = 'plugins."io.containerd.grpc.v1.cri"'


def test_real_126_config() -> None:
    errors: list[ProbeFailed] = []
    cfg = collect_containerd_config(tree("real-1.26"), proc_cmdline("real-1.26", 22467), errors)
    assert errors == [] and cfg is not None
    assert (cfg.version, cfg.files) == (2, ("/etc/containerd/config.toml",))
    assert cfg.version_value is not None and cfg.version_value.line == 1
    assert cfg.cri_plugin_ids == ("io.containerd.grpc.v1.cri",)
    assert cfg.cri_disabled is False
    assert cfg.sandbox_image is not None
    assert (cfg.sandbox_image.value, cfg.sandbox_image.line) == ("registry.k8s.io/pause:3.6", 22)
    assert cfg.sandbox_image.key == f"{CRI}.sandbox_image"
    assert cfg.default_runtime_name is not None and cfg.default_runtime_name.value == "runc"
    runc = cfg.runtimes["runc"]
    assert runc.runtime_type is not None and runc.runtime_type.value == "io.containerd.runc.v2"
    assert runc.systemd_cgroup is False
    assert runc.options["SystemdCgroup"].line == 35
    assert runc.line == 32
    assert cfg.snapshotter is not None and cfg.snapshotter.value == "overlayfs"
    assert [d.id for d in cfg.deprecated_keys] == ["cni.bin_dir"]
    assert cfg.plugins["io.containerd.internal.v1.opt"].line == 18


def test_docker_containerd_io_v1_with_cri_disabled() -> None:
    errors: list[ProbeFailed] = []
    cfg = collect_containerd_config(tree("kubeadm-1.23-docker"), None, errors)
    assert errors == [] and cfg is not None
    assert cfg.version == 1 and cfg.version_value is None
    assert [(d.value, d.line) for d in cfg.disabled_plugins] == [("cri", 4)]
    assert cfg.cri_disabled is True
    assert cfg.runtimes == {} and cfg.sandbox_image is None


def test_v2_config_with_removed_keys() -> None:
    errors: list[ProbeFailed] = []
    cfg = collect_containerd_config(tree("containerd2-v2-removed-keys"), None, errors)
    assert errors == [] and cfg is not None
    found = {(d.id, d.value.key, d.value.line, d.removed_in) for d in cfg.deprecated_keys}
    ctrd = f"{CRI}.containerd"
    assert found == {
        ("systemd_cgroup", f"{CRI}.systemd_cgroup", 8, "2.0"),
        ("disable_cgroup", f"{CRI}.disable_cgroup", 9, "2.0"),
        ("default_runtime", f"{ctrd}.default_runtime", 13, "2.0"),
        ("untrusted_workload_runtime", f"{ctrd}.untrusted_workload_runtime", 17, "2.0"),
        ("runtime.v1.linux", f"{ctrd}.default_runtime.runtime_type", 14, "2.0"),
        ("runtime_engine", f"{ctrd}.default_runtime.runtime_engine", 15, "2.0"),
        ("runtime_root", f"{ctrd}.default_runtime.runtime_root", 16, "2.0"),
        ("runc.v1", f"{ctrd}.untrusted_workload_runtime.runtime_type", 18, "2.0"),
        ("runc.v1", f"{ctrd}.runtimes.runc.runtime_type", 20, "2.0"),
        ("runtime_engine", f"{ctrd}.runtimes.runc.runtime_engine", 21, "2.0"),
        ("runtime_root", f"{ctrd}.runtimes.runc.runtime_root", 22, "2.0"),
        ("CriuPath", f"{ctrd}.runtimes.runc.options.CriuPath", 24, "2.0"),
        ("registry.mirrors", f"{CRI}.registry.mirrors", 27, "2.2"),
        ("registry.configs", f"{CRI}.registry.configs", 30, "2.2"),
        ("registry.auths", f"{CRI}.registry.auths", 34, "2.2"),
        ("runtime.v1.linux", 'plugins."io.containerd.runtime.v1.linux"', 37, "2.0"),
    }
    assert all(d.replacement for d in cfg.deprecated_keys)
    assert cfg.registry_mirrors["docker.io"].value == ["https://mirror.example.internal"]
    assert cfg.registry_mirrors["docker.io"].line == 28
    assert set(cfg.registry_configs) == {"registry.example.internal"}
    assert set(cfg.registry_auths) == {"https://gcr.io"}
    # Credentials never leave the parser.
    dumped = repr(cfg)
    assert "s3cret-in-config" not in dumped and "dXNlcjpwYXNz" not in dumped
    assert cfg.registry_configs["registry.example.internal"].value == {
        "auth": {"username": "***", "password": "***"}
    }
    assert cfg.runtimes["runc"].options["BinaryName"].value == "/usr/bin/runc"


def test_v3_config_split_cri_plugins() -> None:
    errors: list[ProbeFailed] = []
    cfg = collect_containerd_config(tree("containerd-v3"), None, errors)
    assert errors == [] and cfg is not None
    assert cfg.version == 3
    assert cfg.cri_plugin_ids == ("io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images")
    assert cfg.sandbox_image is not None
    assert (cfg.sandbox_image.value, cfg.sandbox_image.line) == ("registry.k8s.io/pause:3.10", 10)
    assert cfg.sandbox_image.key == 'plugins."io.containerd.cri.v1.images".pinned_images.sandbox'
    assert cfg.registry_config_path is not None
    assert cfg.registry_config_path.value == "/etc/containerd/certs.d"
    assert cfg.runtimes["runc"].systemd_cgroup is True
    assert cfg.runtimes["kata"].runtime_type is not None
    assert cfg.runtimes["kata"].systemd_cgroup is None
    assert cfg.default_runtime_name is not None and cfg.default_runtime_name.line == 19
    assert [(d.id, d.value.key, d.value.line) for d in cfg.deprecated_keys] == [
        ("v2-key-in-v3", f"{CRI}.sandbox_image", 33)
    ]
    assert cfg.disabled_plugins == ()


def test_imports_replace_plugin_sections_and_append_lists() -> None:
    errors: list[ProbeFailed] = []
    cfg = collect_containerd_config(tree("containerd-imports"), None, errors)
    assert errors == [] and cfg is not None
    assert cfg.files == (
        "/etc/containerd/config.toml",
        "/etc/containerd/conf.d/10-sandbox.toml",
        "/etc/containerd/conf.d/20-more.toml",
        "/etc/containerd/extra.toml",
    )
    assert cfg.sandbox_image is not None
    assert (cfg.sandbox_image.value, cfg.sandbox_image.source, cfg.sandbox_image.line) == (
        "registry.k8s.io/pause:3.9",
        "/etc/containerd/conf.d/10-sandbox.toml",
        5,
    )
    # The imported CRI section replaced the main one whole: runtimes are gone.
    assert cfg.runtimes == {} and cfg.default_runtime_name is None
    assert [(d.value, d.source) for d in cfg.disabled_plugins] == [
        ("io.containerd.snapshotter.v1.btrfs", "/etc/containerd/config.toml"),
        ("io.containerd.snapshotter.v1.zfs", "/etc/containerd/conf.d/20-more.toml"),
    ]
    assert cfg.plugins["io.containerd.internal.v1.opt"].source == "/etc/containerd/extra.toml"
    assert cfg.version == 2


def test_missing_named_import_and_cycles(tmp_path: Path) -> None:
    write(
        tmp_path, "/etc/containerd/config.toml", 'version = 2\nimports = ["a.toml", "gone.toml"]\n'
    )
    write(tmp_path, "/etc/containerd/a.toml", 'imports = ["/etc/containerd/config.toml"]\n')
    errors: list[ProbeFailed] = []
    cfg = collect_containerd_config(HostFS(str(tmp_path)), None, errors)
    assert cfg is not None
    assert cfg.files == ("/etc/containerd/config.toml", "/etc/containerd/a.toml")
    assert [(e.kind, e.source) for e in errors] == [
        (ErrorKind.MISSING, "host:/etc/containerd/gone.toml")
    ]


def test_v1_short_plugin_names_are_mapped(tmp_path: Path) -> None:
    write(
        tmp_path,
        "/etc/containerd/config.toml",
        "[plugins.cri]\n"
        '  sandbox_image = "k8s.gcr.io/pause:3.2"\n'
        "  systemd_cgroup = true\n"
        "[plugins.cri.containerd.runtimes.runc]\n"
        '  runtime_type = "io.containerd.runc.v1"\n'
        "[plugins.linux]\n"
        '  shim = "containerd-shim"\n',
    )
    errors: list[ProbeFailed] = []
    cfg = collect_containerd_config(HostFS(str(tmp_path)), None, errors)
    assert errors == [] and cfg is not None
    assert cfg.version == 1
    assert set(cfg.plugins) == {"io.containerd.grpc.v1.cri", "io.containerd.runtime.v1.linux"}
    assert cfg.sandbox_image is not None and cfg.sandbox_image.key == "plugins.cri.sandbox_image"
    assert {(d.id, d.value.line) for d in cfg.deprecated_keys} == {
        ("systemd_cgroup", 3),
        ("runc.v1", 5),
        ("runtime.v1.linux", 6),
    }


def test_config_path_from_cmdline() -> None:
    assert config_path_from_cmdline(None) == "/etc/containerd/config.toml"
    assert config_path_from_cmdline(["containerd", "-c", "/x.toml"]) == "/x.toml"
    assert config_path_from_cmdline(["containerd", "--config=/y.toml"]) == "/y.toml"
    assert config_path_from_cmdline(["containerd", "--config", "z.toml"]) == "/z.toml"


def test_absent_config_is_not_a_source(tmp_path: Path) -> None:
    errors: list[ProbeFailed] = []
    assert collect_containerd_config(HostFS(str(tmp_path)), None, errors) is None
    assert errors == []


def test_key_lines_quoted_dotted_and_multiline_strings() -> None:
    text = "a = '''\n[not.a.table]\nb = 1\n'''\n[x.'y.z'.\"w\"]\nk.l = 2 # comment\n\"q r\" = 3\n"
    index = toml_key_lines(text)
    assert index[("a",)] == 1
    assert ("not", "a", "table") not in index and ("b",) not in index
    assert index[("x", "y.z", "w")] == 5
    assert index[("x", "y.z", "w", "k", "l")] == 6
    assert index[("x", "y.z", "w", "q r")] == 7


def test_wrong_types_are_malformed() -> None:
    for body in ('version = "2"\n', 'disabled_plugins = "cri"\n', "plugins = 3\n"):
        try:
            parse_containerd_file(body, "/etc/containerd/config.toml")
        except ProbeFailed as exc:
            assert exc.kind is ErrorKind.MALFORMED
            assert exc.source == "host:/etc/containerd/config.toml"
        else:
            raise AssertionError(f"accepted {body!r}")
