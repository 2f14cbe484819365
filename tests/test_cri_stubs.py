"""The committed CRI stubs are what scripts/gen_cri.sh makes from api.proto today."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CRI_DIR = REPO / "inspect8s" / "runtime" / "_cri"
TESTBED = REPO / "tests" / "testbed"
# the package ships the wire codec's table, schema.py, written from the messages; the
# messages (protobuf) and the gRPC service stubs (grpcio) are the tests' only
COMMITTED = {
    "api_pb2.py": TESTBED,
    "api_pb2.pyi": TESTBED,
    "api_pb2_grpc.py": TESTBED,
    "schema.py": CRI_DIR,
}


def test_committed_stubs_match_a_fresh_generation(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHON=sys.executable)
    run = subprocess.run(
        ["bash", str(REPO / "scripts" / "gen_cri.sh"), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    stale = [
        name
        for name, where in COMMITTED.items()
        if (tmp_path / name).read_text() != (where / name).read_text()
    ]
    assert not stale, (
        f"stubs out of date with api.proto: {stale}; run `bash scripts/gen_cri.sh` "
        "(with the grpcio-tools version pinned in pyproject.toml)"
    )


def test_grpc_stubs_import_the_test_bed_messages_and_the_package_neither() -> None:
    text = (COMMITTED["api_pb2_grpc.py"] / "api_pb2_grpc.py").read_text()
    assert "from . import api_pb2 as api__pb2" in text
    assert "\nimport api_pb2" not in text
    package = REPO / "inspect8s"
    importing = [
        str(p.relative_to(REPO))
        for p in package.rglob("*.py")
        if any(
            line.strip().startswith(("import grpc", "from grpc", "import google", "from google"))
            or ("import" in line and "api_pb2" in line)
            for line in p.read_text().splitlines()
        )
    ]
    assert importing == []


@pytest.mark.parametrize(
    ("message", "field", "number"),
    [
        # Spot checks against the CRI specification (k8s.io/cri-api runtime/v1/api.proto).
        ("VersionResponse", "runtime_api_version", 4),
        ("PodSandboxConfig", "linux", 8),
        ("LinuxPodSandboxConfig", "cgroup_parent", 1),
        ("LinuxSandboxSecurityContext", "run_as_group", 8),
        ("LinuxContainerResources", "memory_limit_in_bytes", 4),
        ("LinuxContainerResources", "memory_swap_limit_in_bytes", 10),
        ("LinuxContainerSecurityContext", "run_as_group", 12),
        ("ContainerConfig", "linux", 15),
        ("ContainerStatus", "resources", 16),
        ("ContainerStatusResponse", "info", 2),
        ("Mount", "propagation", 5),
        ("ImageSpec", "user_specified_image", 18),
        ("StatusResponse", "runtime_handlers", 3),
    ],
)
def test_field_numbers_are_the_specifications(message: str, field: str, number: int) -> None:
    from testbed import api_pb2

    descriptor = api_pb2.DESCRIPTOR.message_types_by_name[message]
    assert descriptor.full_name == f"runtime.v1.{message}"
    assert descriptor.fields_by_name[field].number == number
