"""Inputs that crashed inspect8s ("internal error ... please report it", exit 4): each is now
a one-line error with its documented exit code, or a recorded probe error with the rest of
the report printed.

Cases about the output and the exit code run the CLI in this process (``run_here``); those
about the process itself run one: a fresh ``python -m inspect8s`` for dropped capabilities
and a closed pipe, a child of tests/zygote.py for a full disk as stdout and one malformed
kubeconfig."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.nodeconfig.containerd import parse_containerd_file
from tests.hostile.conftest import (
    FIXTURE_BUNDLES,
    REPO,
    inspect8s_cmd,
    one_line,
    run_cli,
    run_here,
)
from tests.zygote import run_forked

FIXTURE_HOST = REPO / "tests/fixtures/audit/containerd-2.1-v2-removed-keys/host"

# --------------------------------------------------------------------------- endpoints


@pytest.mark.parametrize("endpoint", ["tcp://127.0.0.1:9", "127.0.0.1:9", "localhost:10010"])
def test_a_tcp_cri_endpoint_is_a_usage_error(endpoint: str) -> None:
    proc = run_here("node", "--root", str(FIXTURE_HOST), "--cri-endpoint", endpoint)
    assert proc.returncode == 2
    assert "unix" in one_line(proc.stderr)


@pytest.mark.parametrize("endpoint", ["tcp://127.0.0.1:9", "127.0.0.1:9", "npipe:////./pipe/x"])
def test_a_tcp_endpoint_never_crashes_a_client(endpoint: str) -> None:
    from inspect8s.host.fs import HostFS
    from inspect8s.model import SocketInfo
    from inspect8s.runtime.clients import LIVE

    socket_info = SocketInfo(path=endpoint, runtime="containerd", kind="socket")
    for make in (LIVE.cri, LIVE.docker):
        with (
            make(HostFS(str(FIXTURE_HOST)), socket_info, 1.0) as client,
            pytest.raises(ProbeFailed) as failed,
        ):
            client.version()
        assert failed.value.kind in (ErrorKind.UNAVAILABLE, ErrorKind.MALFORMED)
    for args in (["node"], ["audit", "-o", "json"]):
        proc = run_here(*args, "--root", str(FIXTURE_HOST), "--cri-endpoint", endpoint)
        assert proc.returncode in (0, 1, 2, 3), proc.stderr
        assert "internal error" not in proc.stderr


# --------------------------------------------------------------------------- sockets


@pytest.fixture
def foreign_socket(tmp_path: Path) -> Iterator[Path]:
    """A listening socket owned by another user, mode 0600."""
    path = tmp_path / "runtime.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(4)
    os.chown(path, 65534, 65534)
    os.chmod(path, 0o600)
    yield path
    server.close()


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv (util-linux) to drop CAP_DAC_OVERRIDE",
)
@pytest.mark.parametrize("flag", ["--cri-endpoint", "--docker-host"])
def test_a_socket_refused_by_permission_says_run_as_root(foreign_socket: Path, flag: str) -> None:
    # Root without CAP_DAC_OVERRIDE is refused by the socket's mode like any user.
    proc = subprocess.run(
        ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *inspect8s_cmd(),
         "node", "-o", "json", flag, str(foreign_socket)],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # only what concerns the test's socket: a busy host's own runtimes are asked too
    errors = [e for e in json.loads(proc.stdout)["errors"]
              if e["source"].startswith(("cri:", "docker:"))
              and str(foreign_socket) in e["detail"]]  # fmt: skip
    assert errors and all(e["kind"] == "permission" for e in errors), errors
    assert all("run as root" in e["detail"] for e in errors)


# --------------------------------------------------------------------------- kubeconfigs

KUBECONFIGS = {
    "a list": ("[]\n", "is a list, not a mapping"),
    "a string": ('"text"\n', "is a string"),
    "broken YAML": ("clusters: [\n", "is not valid YAML at line 2"),
    "clusters a number": ("clusters: 5\ncurrent-context: c\n", "clusters is a number"),
    "a context of the wrong type": (
        "contexts: [{name: c, context: 7}]\ncurrent-context: c\n", "contexts[0].context"),
    "an entry without a name": ("users: [{user: {}}]\n", "users[0] has no name"),
    "empty": ("", "is empty"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(KUBECONFIGS))
def test_a_malformed_kubeconfig_is_one_line_exit_2(tmp_path: Path, case: str) -> None:
    text, expected = KUBECONFIGS[case]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(text)
    for args in (["pod", "web"], ["audit", "--cluster"]):
        proc = run_here(*args, "--kubeconfig", str(kubeconfig))
        assert proc.returncode == 2, proc.stderr
        assert expected in one_line(proc.stderr)


def test_a_malformed_kubeconfig_in_a_real_process_is_the_same_line(tmp_path: Path) -> None:
    text, expected = KUBECONFIGS["broken YAML"]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(text)
    for args in (["pod", "web"], ["audit", "--cluster"]):
        proc = run_cli(*args, "--kubeconfig", str(kubeconfig))
        assert proc.returncode == 2, proc.stderr
        assert expected in one_line(proc.stderr)
        assert proc.stderr == run_here(*args, "--kubeconfig", str(kubeconfig)).stderr


# --------------------------------------------------------------------------- output


@pytest.mark.parametrize("args", [["node"], ["audit", "-o", "json"], ["audit"]])
def test_stdout_on_a_full_disk_is_one_line_exit_4(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        proc = run_forked(
            [*args, "--root", str(FIXTURE_HOST)], stdout=full, stderr=subprocess.PIPE,
            text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO,
        )  # fmt: skip
    assert proc.returncode == 4
    assert (
        one_line(proc.stderr)
        == "inspect8s: error: cannot write the output: No space left on device"
    )


@pytest.mark.parametrize("args", [["node", "-o", "json"], ["audit", "-o", "json"], ["checks"]])
def test_a_closed_output_pipe_exits_141_quietly(args: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte
    proc = subprocess.Popen(
        [*inspect8s_cmd(), *args, *(["--root", str(FIXTURE_HOST)] if args[0] != "checks" else [])],
        stdout=write, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
    )  # fmt: skip
    os.close(write)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGPIPE == 141
    assert err == b""


# --------------------------------------------------------------------------- bundles


@pytest.mark.parametrize(
    ("field", "value"),
    [("options", 5), ("options", {"criEndpoints": "x"}), ("sockets", "a"), ("kubeletVersion", [])],
)
def test_a_damaged_bundle_manifest_is_one_line_exit_2(
    tmp_path: Path, field: str, value: object
) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(FIXTURE_BUNDLES / "crio-1.29", bundle, symlinks=True)
    manifest = json.loads((bundle / "bundle.json").read_text())
    manifest[field] = value
    (bundle / "bundle.json").write_text(json.dumps(manifest))
    for args in (["audit", "--from", str(bundle)], ["pid", "1", "--from", str(bundle)]):
        proc = run_here(*args)
        assert proc.returncode == 2, proc.stderr
        assert "the bundle is damaged" in one_line(proc.stderr)


def test_damaged_runtime_answers_are_probe_errors_and_the_rest_is_reported(
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(FIXTURE_BUNDLES / "crio-1.29", bundle, symlinks=True)
    answers = json.loads((bundle / "runtime/cri.json").read_text())
    calls = answers["/run/crio/crio.sock"]
    calls["ListContainers"] = {"answer": [1, 2]}
    calls["RuntimeConfig"] = 5
    first = next(iter(calls["ContainerStatus"]))
    calls["ContainerStatus"][first]["answer"]["info"]["info"]["runtimeSpec"] = ["not", "a", "map"]
    (bundle / "runtime/cri.json").write_text(json.dumps(answers))
    proc = run_here("audit", "--from", str(bundle), "-o", "json")
    assert proc.returncode in (0, 1, 3), proc.stderr
    doc = json.loads(proc.stdout)
    kinds = {(e["source"], e["kind"]) for e in doc["errors"]}
    assert ("cri:ListContainers", "malformed") in kinds
    assert doc["summary"]["subjects"] > 0 and doc["summary"]["outcomes"]["passed"] > 0


# --------------------------------------------------------------------------- configs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version = 99\n",
         "version 99 is not a config version containerd reads (1, 2 or 3), line 1"),
        ('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = 12\n',
         'plugins."io.containerd.grpc.v1.cri".sandbox_image is 12, expected a string, line 3'),
        ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n'
         '  SystemdCgroup = "true"\n',
         "SystemdCgroup is 'true', expected a boolean (true or false), line 3"),
        ('version = 3\n[plugins."io.containerd.cri.v1.images".pinned_images]\n  sandbox = 1\n',
         "pinned_images.sandbox is 1, expected a string, line 3"),
    ],
)  # fmt: skip
def test_containerd_configs_containerd_would_refuse_are_malformed(text: str, expected: str) -> None:
    with pytest.raises(ProbeFailed) as failed:
        parse_containerd_file(text, "/etc/containerd/config.toml")
    assert failed.value.kind is ErrorKind.MALFORMED
    assert expected in failed.value.detail


def test_a_malformed_containerd_config_is_reported_not_accepted(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(FIXTURE_HOST, root, symlinks=True)
    (root / "etc/containerd/config.toml").write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = 12\n'
    )
    proc = run_here("audit", "--root", str(root), "-o", "json")
    assert proc.returncode in (0, 1, 3), proc.stderr
    errors = json.loads(proc.stdout)["errors"]
    assert any(e["source"] == "host:/etc/containerd/config.toml" and e["kind"] == "malformed"
               for e in errors)  # fmt: skip
