"""`inspect8s record`: the recording HostFS, redaction, and replay of what it wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect8s.audit.registry import CheckSettings, load_checks
from inspect8s.audit.runner import run_checks
from inspect8s.collect.nodeaudit import collect_for_node, parse_dpkg_version, parse_proc_net_unix
from inspect8s.collect.redact import redact_args, redact_file, redact_json, redact_text
from tests.clirun import cli

REPO = Path(__file__).resolve().parents[2]
AUDIT = REPO / "tests" / "fixtures" / "audit"
NODE_MODULES = ("inspect8s.audit.checks.node", "inspect8s.audit.checks.upgrade")


def test_redact_args() -> None:
    args, n = redact_args(
        [
            "kubeadm",
            "join",
            "--token=abcdef.0123456789abcdef",
            "--discovery-token-ca-cert-hash",
            "sha256:x",
            "--password",
            "hunter2",
            "--tls-private-key-file=/etc/k.pem",
            "API_TOKEN=zzz",
            "https://user:pw@registry.example/v2",
            "--authentication-token-webhook",
        ]
    )
    assert args == [
        "kubeadm",
        "join",
        "--token=***",
        "--discovery-token-ca-cert-hash",
        "***",
        "--password",
        "***",
        "--tls-private-key-file=/etc/k.pem",
        "API_TOKEN=***",
        "https://***@registry.example/v2",
        "--authentication-token-webhook",
    ]
    assert n == 5


def test_redact_text_keeps_lines() -> None:
    text = (
        '[plugins.x.registry.configs."r".auth]\n'
        '  username = "builder"\n'
        '  password = "s3cret"\n'
        '  auth = "dXNlcjpwYXNz"\n'
        'KUBELET_EXTRA_ARGS="--node-ip=10.0.0.1 --bootstrap-token=abc.def"\n'
        '{"auths": {"r": {"auth": "Zm9vOmJhcg==", "email": "a@b"}}}\n'
        "authentication:\n  webhook:\n    enabled: true\n"
    )
    out, n = redact_text(text)
    assert out.count("\n") == text.count("\n")
    assert "s3cret" not in out and "dXNlcjpwYXNz" not in out and "abc.def" not in out
    assert '  password = "***"' in out and "--node-ip=10.0.0.1" in out
    assert "authentication:\n  webhook:\n    enabled: true" in out
    assert n >= 3


def test_redact_json_answers() -> None:
    answer = {
        "config": {
            "registry": {"configs": {"r": {"auth": {"username": "u", "password": "p"}}}},
            "sandboxImage": "registry.k8s.io/pause:3.6",
        }
    }
    out, n = redact_json(answer)
    assert out["config"]["registry"]["configs"]["r"]["auth"] == {
        "username": "***",
        "password": "***",
    }
    assert out["config"]["sandboxImage"] == "registry.k8s.io/pause:3.6"
    assert n == 2


def test_cmdline_file_redaction() -> None:
    data, n = redact_file("/proc/700/cmdline", b"/usr/bin/agent\0--api-key=K\0--site=x\0")
    assert data == b"/usr/bin/agent\0--api-key=***\0--site=x\0" and n == 1
    same, none = redact_file("/proc/700/stat", b"700 (agent) S --token=x")
    assert same == b"700 (agent) S --token=x" and none == 0


def _copy_host(tmp_path: Path, name: str) -> Path:
    root = tmp_path / "host"
    shutil.copytree(AUDIT / name / "host", root, symlinks=True)
    return root


def test_record_a_root_and_replay_gives_the_same_audit(tmp_path: Path) -> None:
    root = _copy_host(tmp_path, "containerd-2.1-v2-removed-keys")
    cmdline = root / "proc/700/cmdline"
    cmdline.write_bytes(cmdline.read_bytes() + b"--bootstrap-token=abc.0123456789abcdef\0")
    bundle = tmp_path / "bundle"
    proc = cli("record", str(bundle), "--root", str(root), "--kubelet-version", "v1.33.5")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((bundle / "bundle.json").read_text())
    assert manifest["format"] == "inspect8s-bundle" and manifest["version"] == 1
    assert manifest["kubeletVersion"] == {"version": "v1.33.5", "source": "option"}
    assert manifest["recorderPid"] is None  # under --root the top of host/ is the root's
    # credentials are gone, lines stay where they were
    original = (root / "etc/containerd/config.toml").read_text()
    kept = (bundle / "host/etc/containerd/config.toml").read_text()
    assert "s3cret-in-config" in original and "s3cret-in-config" not in kept
    assert "dXNlcjpwYXNz" not in kept
    assert kept.count("\n") == original.count("\n")
    assert b"abc.0123456789abcdef" not in (bundle / "host/proc/700/cmdline").read_bytes()
    assert manifest["redactions"]["files"]["/etc/containerd/config.toml"] == 2
    # namespace links are kept as links
    assert (bundle / "host/proc/1101/ns/net").is_symlink()

    checks = [c for c in load_checks() if c.info.origin in NODE_MODULES]
    direct = collect_for_node(str(root), kubelet_version="v1.33.5")
    replayed = collect_for_node("/", from_dirs=[str(bundle)])
    cfg = CheckSettings(target_version="1.36")  # past 1.35: config keys judged without CRI
    a = {
        (f.check_id, f.subject, f.location)
        for f in run_checks(direct, checks, settings=cfg).findings
    }
    b = {
        (f.check_id, f.subject, f.location)
        for f in run_checks(replayed, checks, settings=cfg).findings
    }
    assert a == b and a
    assert direct.node is not None and replayed.node is not None
    assert [c.id for c in direct.node.containers] == [c.id for c in replayed.node.containers]


def test_record_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("")
    proc = cli("record", str(tmp_path))
    assert proc.returncode == 2 and "not an empty directory" in proc.stderr


def test_parsers_of_small_sources() -> None:
    rows = parse_proc_net_unix(
        "Num       RefCount Protocol Flags    Type St Inode Path\n"
        "0000000000000000: 00000002 00000000 00010000 0001 01 40000 /run/docker.sock\n"
        "0000000000000000: 00000003 00000000 00000000 0001 03 50001\n"
        "0000000000000000: 00000002 00000000 00010000 0001 01 40100 @/containerd-shim/x.sock\n"
    )
    assert rows == [(40000, 0x10000, 1, "/run/docker.sock")]
    status = "Package: kubelet\nStatus: deinstall ok config-files\nVersion: 1.22.0-00\n"
    assert parse_dpkg_version(status) is None
    assert (
        parse_dpkg_version(
            status + "\nPackage: kubelet\nStatus: install ok installed\nVersion: 1.30.2-1.1\n"
        )
        == "1.30.2-1.1"
    )


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_parsers_never_raise_on_random_bytes(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    parse_proc_net_unix(text)
    parse_dpkg_version(text)
    redact_text(text)
    redact_file("/proc/1/cmdline", data)
    redact_file("/etc/containerd/config.toml", data)


@pytest.mark.parametrize(
    ("value", "pid"), [(4321, 4321), (None, None), ("4321", None), (True, None), (0, None)]
)
def test_replay_takes_the_recorder_as_its_own_process(
    tmp_path: Path, value: object, pid: int | None
) -> None:
    """The top of ``host/`` is the recorder's view: replay resolves other processes' paths
    against it as the live run did (a daemon in another mount namespace binding the same
    path is another socket); a damaged value is no PID."""
    from inspect8s.collect.bundle import Bundle, ReplayHostFS

    bundle = Bundle(str(tmp_path), {"format": "inspect8s-bundle", "recorderPid": value})
    assert bundle.recorder_pid == pid
    assert ReplayHostFS(bundle).own_pid == pid
