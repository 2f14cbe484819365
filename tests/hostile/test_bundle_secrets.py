"""No secret in a bundle: every environment value and every value of a secret-looking key,
in every recorded answer and file, inside JSON held in strings too; the count of redacted
values is right; bundles are private (0700 directories, 0600 files)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest

from inspect8s.collect.bundle import ReplayClients, load_bundle
from inspect8s.collect.record import RecordingClients, record_node
from inspect8s.collect.redact import (
    redact_args,
    redact_file,
    redact_json,
    redact_json_text,
    redact_text,
)
from inspect8s.host.fs import HostFS
from inspect8s.model import SocketInfo
from tests.hostile.conftest import FIXTURE_BUNDLES, REPO, one_line, run_here, tree_files

FIXTURE_HOST = REPO / "tests/fixtures/audit/containerd-2.1-v2-removed-keys/host"
CONTAINER = "ca7cb500d202fe3ddc2bfce87d4e0d99004aba9b54e7f74205aae9558f68729b"


def secret(name: str) -> str:
    return f"s3cr3t-{name}-{uuid.uuid4().hex[:12]}"


def last_applied(env: dict[str, str]) -> str:
    """The annotation kubectl apply leaves: the whole object as a JSON string."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "image": "nginx",
                                 "env": [{"name": k, "value": v} for k, v in env.items()]}]},
    }  # fmt: skip
    return json.dumps(pod)


# --------------------------------------------------------------------------- pure functions


def test_every_env_value_goes_whatever_its_name() -> None:
    answer = {
        "info": {
            "info": {
                "config": {"envs": [{"key": "DATABASE_URL", "value": "pg://u@h/db"},
                                    {"key": "MODE", "value": "fast"}]},
                "runtimeSpec": {"process": {"env": ["PATH=/bin", "GREETING=hello"]}},
            }
        },
        "status": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                                   last_applied({"API_KEY": "k-123", "COLOR": "blue"})}},
    }  # fmt: skip
    out, n = redact_json(answer)
    info = out["info"]["info"]
    assert info["config"]["envs"] == [{"key": "DATABASE_URL", "value": "***"},
                                      {"key": "MODE", "value": "***"}]  # fmt: skip
    assert info["runtimeSpec"]["process"]["env"] == ["PATH=***", "GREETING=***"]
    embedded = json.loads(
        out["status"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    )
    env = embedded["spec"]["containers"][0]["env"]
    assert env == [{"name": "API_KEY", "value": "***"}, {"name": "COLOR", "value": "***"}]
    assert embedded["spec"]["containers"][0]["image"] == "nginx"
    assert n == 6
    again, m = redact_json(out)
    assert again == out and m == 0  # nothing counted twice


def test_secret_keys_anywhere_and_their_neighbours_kept() -> None:
    data = {
        "registry": {"configs": {"r": {"auth": {"username": "u", "password": "p"}}}},
        "clientKeyData": "LS0tLS1CRUdJTiBSU0E=",
        "tlsPrivateKeyFile": "/etc/k.pem",
        "secretName": "db-creds",
        "automountServiceAccountToken": False,
        "authorization": {"mode": "Webhook"},
        "sandboxImage": "registry.k8s.io/pause:3.6",
        "url": "https://bob:hunter2@registry.example/v2",
    }
    out, n = redact_json(data)
    assert out["registry"]["configs"]["r"]["auth"] == {"username": "***", "password": "***"}
    assert out["clientKeyData"] == "***" and out["url"] == "https://***@registry.example/v2"
    assert out["tlsPrivateKeyFile"] == "/etc/k.pem" and out["secretName"] == "db-creds"
    assert out["automountServiceAccountToken"] is False
    assert out["authorization"] == {"mode": "***"}
    assert out["sandboxImage"] == "registry.k8s.io/pause:3.6"
    assert n == 5


@pytest.mark.parametrize(
    ("line", "expected", "count"),
    [
        ("Environment=MY_PASSWORD=hunter2", "Environment=MY_PASSWORD=***", 1),
        ('Environment="DB_PASSWORD=x y"', 'Environment="DB_PASSWORD=***"', 1),
        ('Environment="AWS_SECRET_ACCESS_KEY=abc" "REGION=eu"',
         'Environment="AWS_SECRET_ACCESS_KEY=***" "REGION=eu"', 1),
        ('Environment="KUBELET_EXTRA_ARGS=--node-ip=10.0.0.1 --bootstrap-token=abc.def"',
         'Environment="KUBELET_EXTRA_ARGS=--node-ip=10.0.0.1 --bootstrap-token=***"', 1),
        ("ExecStart=/bin/agent --api-key K --site x", "ExecStart=/bin/agent --api-key *** --site x",
         1),
        ("  password: s3cret", "  password: ***", 1),
        ("client-key-data: LS0tLS1CRUdJTi", "client-key-data: ***", 1),
        ('  "token": "abc", "name": "x"', '  "token": "***", "name": "x"', 1),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "Authorization: Bearer ***", 1),
        ("--token-auth-file=/etc/tokens.csv", "--token-auth-file=/etc/tokens.csv", 0),
        ("KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml",
         "KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml", 0),
        ("password = ***", "password = ***", 0),
    ],
)  # fmt: skip
def test_text_lines(line: str, expected: str, count: int) -> None:
    assert redact_text(line) == (expected, count)


def test_private_key_blocks_keep_their_lines() -> None:
    text = (
        "a: 1\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----\nb: 2\n"
    )
    out, n = redact_text(text)
    assert out.count("\n") == text.count("\n") and "MIIEow" not in out and n == 1
    assert out.splitlines()[1:5] == ["-----BEGIN RSA PRIVATE KEY-----", "***", "***",
                                     "-----END RSA PRIVATE KEY-----"]  # fmt: skip


def test_json_files_keep_their_layout() -> None:
    config = {
        "ociVersion": "1.0.2",
        "process": {"env": ["PATH=/usr/bin", "TOKEN_X=abc"], "args": ["/app", "--password=p"]},
        "annotations": {"io.kubernetes.cri.sandbox-name": "web",
                        "kubectl.kubernetes.io/last-applied-configuration":
                        last_applied({"A": "b"})},
    }  # fmt: skip
    text = json.dumps(config, indent=4)
    out, n = redact_json_text(text) or ("", 0)
    assert out.count("\n") == text.count("\n")
    assert [len(a) > 0 for a in out.splitlines()] == [len(a) > 0 for a in text.splitlines()]
    parsed = json.loads(out)
    assert parsed["process"]["env"] == ["PATH=***", "TOKEN_X=***"]
    assert parsed["process"]["args"] == ["/app", "--password=***"]
    assert parsed["annotations"]["io.kubernetes.cri.sandbox-name"] == "web"
    assert (
        "b"
        not in json.loads(
            parsed["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
        )["spec"]["containers"][0]["env"][0]["value"]
    )
    assert n == 4
    assert redact_json_text("not json {") is None


def test_command_lines_and_environ() -> None:
    assert redact_args(["agent", "--password", "***"]) == (["agent", "--password", "***"], 0)
    data, n = redact_file("/proc/9/environ", b"HOME=/root\0AWS_SECRET=x\0EMPTY=\0")
    assert data == b"HOME=***\0AWS_SECRET=***\0EMPTY=\0" and n == 2


# --------------------------------------------------------------------------- recording


def _inject(bundle: Path, values: dict[str, str]) -> dict[str, Any]:
    """Put secrets where runtimes keep them into a recorded bundle's CRI answers."""
    answers_path = bundle / "runtime/cri.json"
    answers = json.loads(answers_path.read_text())
    calls = answers["/run/crio/crio.sock"]
    annotation = last_applied({"API_KEY": values["api_key"]})
    for item in calls["ListPodSandbox"]["answer"]["items"]:
        item.setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = (
            annotation
        )
    for entry in calls["PodSandboxStatus"].values():
        entry["answer"]["status"].setdefault("annotations", {})[
            "kubectl.kubernetes.io/last-applied-configuration"] = annotation  # fmt: skip
    for entry in calls["ContainerStatus"].values():
        spec = entry["answer"]["info"]["info"]["runtimeSpec"]
        spec.setdefault("process", {})["env"] = [f"SESSION={values['env']}", "PATH=/bin"]
        spec["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = annotation
        entry["answer"]["info"]["info"]["config"] = {
            "envs": [{"key": "DB_URL", "value": values["envs"]}]
        }
    answers_path.write_text(json.dumps(answers))
    return answers


def test_recorded_runtime_answers_hold_no_secret(tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(FIXTURE_BUNDLES / "crio-1.29", bundle, symlinks=True)
    values = {"api_key": secret("api"), "env": secret("env"), "envs": secret("envs")}
    answers = _inject(bundle, values)
    clients = RecordingClients(ReplayClients(load_bundle(str(bundle))))
    calls = answers["/run/crio/crio.sock"]
    socket = SocketInfo(path="/run/crio/crio.sock", runtime="crio", kind="socket")
    with clients.cri(HostFS(str(bundle / "host")), socket, 5) as cri:
        cri.list_pod_sandboxes()
        for sandbox in calls["PodSandboxStatus"]:
            cri.pod_sandbox_status(sandbox)
        for container in calls["ContainerStatus"]:
            cri.container_status(container)
    kept = json.dumps(clients.cri_answers)
    assert not any(v in kept for v in values.values())
    sandboxes = len(calls["ListPodSandbox"]["answer"]["items"]) + len(calls["PodSandboxStatus"])
    containers = len(calls["ContainerStatus"])
    # One API_KEY value per copy of the annotation, two env values and one CRI env each.
    assert clients.redacted_answers == sandboxes + containers * (1 + 2 + 1)


def secret_tree(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "root"
    shutil.copytree(FIXTURE_HOST, root, symlinks=True)
    values = {k: secret(k) for k in ("unit_pw", "unit_db", "unit_aws", "oci_env",
                                     "oci_applied", "kubeconfig_token", "registry")}  # fmt: skip
    drop_in = root / "etc/systemd/system/kubelet.service.d/30-secrets.conf"
    drop_in.write_text(
        "[Service]\n"
        f"Environment=MY_PASSWORD={values['unit_pw']}\n"
        f'Environment="DB_PASSWORD={values["unit_db"]}"\n'
        f'Environment="AWS_SECRET_ACCESS_KEY={values["unit_aws"]}" "REGION=eu-west-1"\n'
    )
    config = root / "etc/containerd/config.toml"
    config.write_text(config.read_text() + (
        '\n[plugins."io.containerd.grpc.v1.cri".registry.configs."r.example".auth]\n'
        f'  password = "{values["registry"]}"\n'
    ))  # fmt: skip
    bundle_dir = root / f"run/containerd/io.containerd.runtime.v2.task/k8s.io/{CONTAINER}"
    bundle_dir.mkdir(parents=True)
    (bundle_dir / "config.json").write_text(json.dumps({
        "ociVersion": "1.0.2",
        "process": {"env": ["PATH=/bin", f"PLAIN={values['oci_env']}"]},
        "annotations": {
            "io.kubernetes.cri.container-type": "container",
            "io.kubernetes.cri.sandbox-name": "web", "io.kubernetes.cri.sandbox-namespace": "shop",
            "io.kubernetes.cri.container-name": "app",
            "kubectl.kubernetes.io/last-applied-configuration":
                last_applied({"HARMLESS_NAME": values["oci_applied"]}),
        },
    }, indent=2))  # fmt: skip
    return root, values


def test_record_of_a_tree_keeps_no_secret_and_counts_them(tmp_path: Path) -> None:
    root, values = secret_tree(tmp_path)
    bundle = tmp_path / "bundle"
    proc = run_here("record", str(bundle), "--root", str(root))
    assert proc.returncode == 0, proc.stderr
    files = tree_files(bundle)
    assert "etc/systemd/system/kubelet.service.d/30-secrets.conf" in {
        k.removeprefix("host/") for k in files
    }
    assert f"run/containerd/io.containerd.runtime.v2.task/k8s.io/{CONTAINER}/config.json" in {
        k.removeprefix("host/") for k in files
    }
    for name, data in files.items():
        for key, value in values.items():
            assert value.encode() not in data, f"{key} in {name}"
    manifest = json.loads(files["bundle.json"])
    counted = manifest["redactions"]["files"]
    assert counted["/etc/systemd/system/kubelet.service.d/30-secrets.conf"] == 3
    assert counted["/etc/containerd/config.toml"] == 3  # the fixture's password and auth, ours
    assert (
        counted[f"/run/containerd/io.containerd.runtime.v2.task/k8s.io/{CONTAINER}/config.json"]
        == 3
    )
    assert f"{sum(counted.values())} values redacted" in proc.stderr
    # The replayed bundle still reads the kubelet's flags from the same unit files.
    replay = run_here("audit", "--from", str(bundle), "-o", "json")
    assert replay.returncode in (0, 1, 3), replay.stderr


def test_bundles_are_private(tmp_path: Path) -> None:
    root, _ = secret_tree(tmp_path)
    bundle = tmp_path / "new" / "deeper" / "bundle"
    old = os.umask(0o022)
    try:
        record_node(str(bundle), root=str(root))
    finally:
        os.umask(old)
    for path in [bundle, *bundle.rglob("*")]:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            continue
        want = 0o700 if stat.S_ISDIR(mode) else 0o600
        assert stat.S_IMODE(mode) == want, f"{path}: {oct(stat.S_IMODE(mode))}"
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o700


def test_an_empty_directory_given_is_made_private(tmp_path: Path) -> None:
    root, _ = secret_tree(tmp_path)
    bundle = tmp_path / "given"
    bundle.mkdir(mode=0o755)
    record_node(str(bundle), root=str(root))
    assert stat.S_IMODE(os.stat(bundle).st_mode) == 0o700


@pytest.mark.parametrize("where", ["unwritable", "proc", "file"])
def test_record_into_a_place_that_cannot_hold_a_bundle(tmp_path: Path, where: str) -> None:
    if where == "unwritable":
        parent = tmp_path / "ro"
        parent.mkdir()
        target = parent / "bundle"
        if os.geteuid() == 0:  # root writes anywhere a mode allows; a read-only mount stops it
            target = Path("/proc/sys/bundle")
        else:
            parent.chmod(0o500)
    elif where == "proc":
        target = Path("/proc/inspect8s-bundle")
    else:
        target = tmp_path / "a-file"
        target.write_text("x")
    proc = run_here("record", str(target), "--root", str(FIXTURE_HOST))
    assert proc.returncode == 2, proc.stderr
    line = one_line(proc.stderr)
    assert line.startswith("inspect8s: error: record: ") and str(target) in line
