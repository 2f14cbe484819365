"""Where each kubelet value came from: unit, env files and their variables, config files,
drop-ins, version defaults; the running command line credited to its unit lines; the
kubelet's /configz answer; kube-proxy's kubeconfig; file modes in bundles."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from nodeconfig_util import tree, write

from inspect8s.collect.bundle import ReplayHostFS, load_bundle
from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.kube.configz import configz_from_json
from inspect8s.model import ProcessInfo
from inspect8s.nodeconfig.kubelet import (
    attribute_cmdline,
    collect_kubelet_config,
    gate_defaults,
    kubelet_defaults,
    merge_kubelet,
    parse_flags,
    parse_kubelet_config,
)
from inspect8s.nodeconfig.kubeproxy import collect_kube_proxy, find_kube_proxy
from inspect8s.nodeconfig.systemd import Word

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_unit_expansion_names_the_file_line_and_variable_of_each_flag() -> None:
    cfg = collect_kubelet_config(tree("kubeadm-1.23-docker"), None, [], version="1.23.17")
    assert cfg is not None
    kubeconfig = cfg.flags["--kubeconfig"]
    assert (kubeconfig.origin, kubeconfig.via) == ("unit-drop-in", "KUBELET_KUBECONFIG_ARGS")
    network = cfg.flags["--network-plugin"]
    assert (network.origin, network.via) == ("env-file", "KUBELET_KUBEADM_ARGS")
    docker = cfg.flags["--docker-endpoint"]
    assert (docker.source, docker.origin, docker.via) == (
        "/etc/default/kubelet",
        "env-file",
        "KUBELET_EXTRA_ARGS",
    )


def test_running_command_line_is_credited_to_the_unit_words_it_matches() -> None:
    unit = [
        Word("/usr/bin/kubelet", "/u.conf", 9, "unit-drop-in"),
        Word("--config=/c.yaml", "/u.conf", 4, "unit-drop-in", "KUBELET_CONFIG_ARGS"),
        Word("--max-pods=10", "/etc/default/kubelet", 1, "env-file", "KUBELET_EXTRA_ARGS"),
    ]
    # started before someone added --v=4 by hand: only that word is the command line's own
    cmd = ["/usr/local/bin/kubelet", "--config=/c.yaml", "--v=4", "--max-pods=10"]
    words = attribute_cmdline(cmd, unit)
    assert [(w.text, w.source, w.origin) for w in words] == [
        ("/usr/local/bin/kubelet", "cmdline", "cmdline"),
        ("--config=/c.yaml", "/u.conf", "unit-drop-in"),
        ("--v=4", "cmdline", "cmdline"),
        ("--max-pods=10", "/etc/default/kubelet", "env-file"),
    ]
    flags = parse_flags(words)
    assert flags["--max-pods"].via == "KUBELET_EXTRA_ARGS"
    assert flags["--v"].origin == "cmdline"
    # a unit edited since the kubelet started: the changed value stays the command line's
    edited = attribute_cmdline(["kubelet", "--max-pods=20"], unit)
    assert edited[1].source == "cmdline"


def test_flag_over_nested_field_keeps_every_value_it_replaced() -> None:
    text = (
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
        "authentication:\n  anonymous:\n    enabled: false\n  x509:\n"
        "    clientCAFile: /ca.crt\n"
    )
    data, lines = parse_kubelet_config(text, "/c.yaml")
    dropin = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
    drop_data, drop_lines = parse_kubelet_config(
        dropin + "authentication:\n  x509:\n    clientCAFile: /other.crt\n", "/d/10.conf"
    )
    flags = parse_flags(
        [
            Word("--anonymous-auth=false", "/env", 1, "env-file", "KUBELET_KUBEADM_ARGS"),
            Word("--anonymous-auth=true", "/etc/default/kubelet", 1, "env-file", "X"),
        ]
    )
    merged = merge_kubelet(
        kubelet_defaults("1.31"),
        [("/c.yaml", data, lines), ("/d/10.conf", drop_data, drop_lines)],
        flags,
        drop_ins={"/d/10.conf"},
    )
    anon = merged.leaves["authentication.anonymous.enabled"]
    assert (anon.value, anon.source, anon.key) == (True, "/etc/default/kubelet", "--anonymous-auth")
    assert [(o.value, o.source, o.line) for o in anon.overrides] == [
        (False, "/env", 1),
        (False, "/c.yaml", 5),
        (False, "default", None),
    ]
    ca = merged.leaves["authentication.x509.clientCAFile"]
    assert (ca.value, ca.source, ca.line, ca.origin) == (
        "/other.crt",
        "/d/10.conf",
        5,
        "config-drop-in",
    )
    assert ca.overrides[0].source == "/c.yaml"
    # the merged struct is still there as a whole
    assert merged.settings["authentication"].value["x509"] == {"clientCAFile": "/other.crt"}
    assert merged.settings["authentication"].value["anonymous"] == {"enabled": True}


def test_defaults_depend_on_version_and_on_a_config_file() -> None:
    with_file = kubelet_defaults("1.28.0")
    assert with_file["authentication.anonymous.enabled"].value is False
    assert with_file["authorization.mode"].value == "Webhook"
    assert with_file["readOnlyPort"].value == 0
    legacy = kubelet_defaults("1.28.0", legacy=True)
    assert legacy["authentication.anonymous.enabled"].value is True
    assert legacy["authentication.webhook.enabled"].value is False
    assert legacy["authorization.mode"].value == "AlwaysAllow"
    assert legacy["readOnlyPort"].value == 10255
    assert kubelet_defaults("1.26")["eventRecordQPS"].value == 5
    assert kubelet_defaults("1.27")["eventRecordQPS"].value == 50
    assert "seccompDefault" not in kubelet_defaults("1.21")
    assert kubelet_defaults("1.22")["seccompDefault"].value is False
    assert "failCgroupV1" not in kubelet_defaults("1.28")
    assert gate_defaults("1.11")["RotateKubeletServerCertificate"].value is False
    assert gate_defaults("1.12")["RotateKubeletServerCertificate"].value is True
    assert "SeccompDefault" not in gate_defaults("1.21")
    assert gate_defaults("1.24")["SeccompDefault"].value is False
    assert gate_defaults("1.25")["SeccompDefault"].value is True


def test_kubelet_without_config_file_keeps_flag_defaults(tmp_path: Path) -> None:
    cfg = collect_kubelet_config(HostFS(str(tmp_path)), ["kubelet", "--v=2"], [], version="1.30")
    assert cfg is not None and cfg.legacy_defaults
    anon = cfg.get("authentication.anonymous.enabled")
    assert anon is not None and (anon.value, anon.origin) == (True, "default")
    assert cfg.get("authorization.mode").value == "AlwaysAllow"  # type: ignore[union-attr]


def test_files_the_kubelet_uses_carry_mode_and_owner(tmp_path: Path) -> None:
    write(tmp_path, "/etc/kubernetes/kubelet.conf", "apiVersion: v1\n").chmod(0o640)
    write(
        tmp_path,
        "/var/lib/kubelet/config.yaml",
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
        "authentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n",
    ).chmod(0o600)
    cmd = [
        "kubelet",
        "--config=/var/lib/kubelet/config.yaml",
        "--kubeconfig=/etc/kubernetes/kubelet.conf",
    ]
    cfg = collect_kubelet_config(HostFS(str(tmp_path)), cmd, [], version="1.31")
    assert cfg is not None
    files = {f.role: f for f in cfg.files}
    assert files["kubeconfig"].mode == 0o640 and files["kubeconfig"].uid == os.getuid()
    assert files["config"].mode == 0o600
    assert files["config"].named_by is not None and files["config"].named_by.key == "--config"
    ca = files["client-ca"]
    assert ca.mode is None and ca.error is not None and ca.error.kind is ErrorKind.MISSING
    assert ca.named_by is not None and ca.named_by.line == 5


def test_configz_answer_keeps_every_field_with_its_source() -> None:
    data = json.loads(
        (FIXTURES / "kubelet/real-node-1.28/api/kubelet-configz-direct.json").read_text()
    )
    live = configz_from_json(data, "rk-node", "api:GET /x")
    anon = live.get("authentication.anonymous.enabled")
    assert anon is not None and (anon.value, anon.origin, anon.source) == (
        False,
        "configz",
        "api:GET /x",
    )
    assert live.get("streamingConnectionIdleTimeout").value == "4h0m0s"  # type: ignore[union-attr]
    assert live.get("eventRecordQPS").value == 50  # type: ignore[union-attr]
    assert live.error is None
    assert configz_from_json({"kind": "Status"}, "n", "s").error is not None


def _proc(pid: int, argv: tuple[str, ...], mnt: int) -> ProcessInfo:
    return ProcessInfo(pid, 1, argv[0].rsplit("/", 1)[-1][:15], argv, "S", 0, {"mnt": mnt}, ())


def test_kube_proxy_on_the_host_and_in_a_pod(tmp_path: Path) -> None:
    write(tmp_path, "/var/lib/kube-proxy/kubeconfig", "apiVersion: v1\n").chmod(0o644)
    write(
        tmp_path,
        "/etc/kube-proxy/config.yaml",
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
        "clientConnection:\n  kubeconfig: /var/lib/kube-proxy/kubeconfig\n",
    )
    fs = HostFS(str(tmp_path))
    processes = {
        9: _proc(9, ("/usr/bin/kube-proxy", "--config=/etc/kube-proxy/config.yaml"), 1),
    }
    found = find_kube_proxy(processes, 1)
    assert found is not None and found.on_host
    config = collect_kube_proxy(fs, found, [])
    assert config.kubeconfig is not None and config.kubeconfig.mode == 0o644
    assert config.kubeconfig.named_by is not None
    assert (config.kubeconfig.named_by.source, config.kubeconfig.named_by.line) == (
        "/etc/kube-proxy/config.yaml",
        4,
    )
    in_pod = find_kube_proxy({9: _proc(9, ("/usr/local/bin/kube-proxy", "--kubeconfig=/k"), 2)}, 1)
    assert in_pod is not None and in_pod.on_host is False
    outside = collect_kube_proxy(fs, in_pod, [])
    assert outside.kubeconfig is None and outside.reason is not None and "pod" in outside.reason
    assert find_kube_proxy({}, 1) is None


def test_replayed_stat_is_the_recorded_one(tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    write(bundle, "/host/etc/kubernetes/kubelet.conf", "x").chmod(0o600)
    write(bundle, "/host/var/lib/kubelet/config.yaml", "y")
    (bundle / "bundle.json").write_text(json.dumps({"format": "inspect8s-bundle", "version": 1}))
    (bundle / "host-stat.json").write_text(
        json.dumps({"/etc/kubernetes/kubelet.conf": {"mode": 0o644, "uid": 0, "gid": 0, "size": 1}})
    )
    fs = ReplayHostFS(load_bundle(str(bundle)))
    st = fs.stat("/etc/kubernetes/kubelet.conf")
    assert (st.mode, st.uid, st.gid) == (0o644, 0, 0)  # not the unpacked file's 0600
    with pytest.raises(ProbeFailed) as unrecorded:
        fs.stat("/var/lib/kubelet/config.yaml")
    assert unrecorded.value.kind is ErrorKind.UNAVAILABLE
    with pytest.raises(ProbeFailed) as absent:
        fs.stat("/etc/kubernetes/pki/ca.crt")
    assert absent.value.kind is ErrorKind.MISSING
