"""``inspect8s record`` against the real containerd and dockerd of the test bed: a pod with
environment secrets and a last-applied annotation, a Docker container with secret
environment and labels; not one of the values may be in any file of the bundle."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from testbed import ContainerRequest, TestBed

from tests.hostile.conftest import run_cli, tree_files

pytestmark = pytest.mark.integration


def _last_applied(values: dict[str, str]) -> str:
    return json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "leaky", "namespace": "hostile"},
        "spec": {"containers": [{"name": "app", "image": "busybox",
                                 "env": [{"name": k, "value": v} for k, v in values.items()]}]},
    })  # fmt: skip


def test_record_of_real_runtimes_keeps_no_env_value(testbed: TestBed, tmp_path: Path) -> None:
    names = ("cri_token", "cri_plain", "applied_key", "applied_plain", "docker_env", "docker_label")
    values = {name: f"s3cr3t-{name}-{uuid.uuid4().hex[:10]}" for name in names}
    pod = testbed.run_pod(
        "leaky",
        "hostile",
        containers=[ContainerRequest("app", env=[("SECRET_TOKEN", values["cri_token"]),
                                                 ("GREETING", values["cri_plain"])])],
        annotations={"kubectl.kubernetes.io/last-applied-configuration": _last_applied(
            {"API_KEY": values["applied_key"], "COLOR": values["applied_plain"]})},
    )  # fmt: skip
    box = testbed.run_docker(
        "hostile-leaky",
        environment={"PLAIN_NAME": values["docker_env"]},
        labels={"annotation.kubectl.kubernetes.io/last-applied-configuration": _last_applied(
            {"DB_PASSWORD": values["docker_label"]})},
    )  # fmt: skip
    try:
        bundle = tmp_path / "bundle"
        proc = run_cli(
            "record", str(bundle), "--cri-endpoint", testbed.cri_endpoint,
            "--docker-host", testbed.docker_endpoint, timeout=180,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    finally:
        testbed.remove_pod(pod)
        testbed.remove_docker(box)
    files = tree_files(bundle)
    cri = json.loads(files["runtime/cri.json"])
    docker = json.loads(files["runtime/docker.json"])
    assert pod.sandbox_id in json.dumps(cri) and box.id in json.dumps(docker)  # recorded
    for name, data in files.items():
        for key, value in values.items():
            assert value.encode() not in data, f"{key} kept in {name}"
    manifest = json.loads(files["bundle.json"])
    # At least: two CRI envs (ContainerStatus config), the process env of the spec, the
    # annotation's two values wherever the runtime copied it, the Docker env and label.
    assert manifest["redactions"]["runtimeAnswers"] >= 6
