"""verbose_info over real containerd answers (recorded 1.26 node) and CRI-O's shapes
(tests/fixtures/bundles/crio-1.29)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from inspect8s.runtime.convert import CRIO_RUNTIME_HANDLER, verbose_info

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CONTAINERD = json.loads((FIXTURES / "cri" / "containerd-1.6.20-kubelet-1.26.json").read_text())
CRIO = json.loads((FIXTURES / "bundles" / "crio-1.29" / "runtime" / "cri.json").read_text())[
    "/run/crio/crio.sock"
]
CRIO_TREE = json.loads((FIXTURES / "nodes" / "crio" / "expected.json").read_text())


def _answers(calls: dict[str, Any], call: str) -> dict[str, Any]:
    return {k: v["answer"] for k, v in calls[call].items()}


@pytest.mark.parametrize("runtime", ["containerd", None])
def test_containerd_container_status(runtime: str | None) -> None:
    listed = {c["id"]: c for c in CONTAINERD["ListContainers"]["containers"]}
    assert CONTAINERD["ContainerStatus"]
    for cid, answer in CONTAINERD["ContainerStatus"].items():
        got = verbose_info(answer, runtime)
        assert got.shape == "containerd"
        assert got.runtime_type == "io.containerd.runc.v2"
        assert got.sandbox_id == listed[cid]["podSandboxId"]
        assert got.pid == answer["info"]["info"]["pid"] and got.pid > 0
        assert got.snapshotter == "overlayfs"
        wanted = answer["status"].get("resources", {}).get("linux", {})
        if "memoryLimitInBytes" in wanted:
            assert got.resources["memory"]["limit"] == int(wanted["memoryLimitInBytes"])


def test_containerd_sandbox_status_names_the_default_handler() -> None:
    for answer in CONTAINERD["PodSandboxStatus"].values():
        got = verbose_info(answer, "containerd")
        assert got.shape == "containerd"
        assert (got.runtime_handler, got.handler_source) == ("", "cri:info.runtimeHandler")
        assert got.runtime_type == "io.containerd.runc.v2"


@pytest.mark.parametrize("runtime", ["crio", None])
def test_crio_container_status(runtime: str | None) -> None:
    tree = {c["id"]: c for c in CRIO_TREE["containers"]}
    statuses = _answers(CRIO, "ContainerStatus")
    assert len(statuses) == 3
    for cid, answer in statuses.items():
        got = verbose_info(answer, runtime)
        want = tree[cid]
        assert got.shape == "cri-o"
        assert got.pid == want["init_pid"]
        sandbox = next(
            c["id"] for c in CRIO_TREE["containers"] if c["sandbox"] and c["pod"] == want["pod"]
        )
        assert got.sandbox_id == sandbox
        assert got.runtime_type is None and got.runtime_options == {}  # CRI-O says neither
        assert got.privileged is (want["name"] == "shell")
        assert got.resources["memory"].get("limit") == want["limits"]["memory_max_bytes"]
        assert got.resources["cpu"].get("quota") == want["limits"]["cpu_quota_us"]
        assert got.cgroups_path is not None and got.cgroups_path.endswith(f":crio:{cid}")


def test_crio_sandbox_handler_from_status_then_annotation() -> None:
    for answer in _answers(CRIO, "PodSandboxStatus").values():
        got = verbose_info(answer, "crio")
        assert (got.runtime_handler, got.handler_source) == ("crun", "cri:status.runtimeHandler")
        older = copy.deepcopy(answer)
        del older["status"]["runtimeHandler"]  # runtimes before the CRI field existed
        got = verbose_info(older, None)
        assert got.shape == "cri-o" and got.runtime_handler == "crun"
        assert got.handler_source == f"cri:info.runtimeSpec.annotations[{CRIO_RUNTIME_HANDLER}]"


def test_crio_sandbox_without_infra_container() -> None:
    """drop_infra_ctr: only the spec (1.2x+) or an empty document (older) comes back."""
    answer = next(iter(_answers(CRIO, "PodSandboxStatus").values()))
    spec_only = copy.deepcopy(answer)
    spec_only["info"]["info"] = {"runtimeSpec": answer["info"]["info"]["runtimeSpec"]}
    got = verbose_info(spec_only, "crio")
    assert got.pid is None and got.runtime_handler == "crun"
    empty = copy.deepcopy(answer)
    empty["info"]["info"] = {}
    got = verbose_info(empty, "crio")
    assert got.shape == "cri-o" and got.pid is None and got.resources == {}


def test_answer_without_info() -> None:
    got = verbose_info({"status": {"id": "x"}}, "containerd")
    assert got.shape == "none" and got.pid is None and got.runtime_handler is None
    got = verbose_info({"status": {"runtimeHandler": "kata"}, "info": {}}, None)
    assert (got.shape, got.runtime_handler) == ("none", "kata")


def test_cri_dockerd_container_status() -> None:
    answers = json.loads(
        (FIXTURES / "bundles" / "cri-dockerd-0.3" / "runtime" / "cri.json").read_text()
    )["/run/cri-dockerd.sock"]
    (answer,) = _answers(answers, "ContainerStatus").values()
    for runtime in ("cri-dockerd", None):
        got = verbose_info(answer, runtime)
        assert got.shape == "cri-dockerd"
        assert got.pid == answer["info"]["info"]["pid"] == 2402
        assert got.sandbox_id == answer["info"]["info"]["sandboxID"]
        assert got.runtime_type is None and got.resources == {}
