"""plugins/kubectl/daemonset.yaml and job.yaml run the probe exactly as the agent pod does.

The agent pod spec (kube/agent.py ``agent_pod_spec``) is the one the code creates and the
integration tests run on a real containerd; the shipped manifests must not drift from it:
same image (the default ``--agent-image`` of this version), command line, env, privileges,
mounts, resources and the label that keeps inspect8s's own pods out of its audits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from inspect8s.kube.agent import AGENT_CONTAINER, DEFAULT_AGENT_IMAGE, agent_pod_spec
from inspect8s.model import OWN_POD_LABEL

PLUGINS = Path(__file__).resolve().parents[2] / "plugins" / "kubectl"
PROBE_ARGS = ["node", "--timeout", "5"]
CONTAINER_KEYS = (
    "image", "imagePullPolicy", "command", "env", "securityContext", "resources",
    "volumeMounts",
)  # fmt: skip
POD_KEYS = ("hostPID", "automountServiceAccountToken", "enableServiceLinks", "tolerations",
            "volumes")  # fmt: skip


def workload(name: str) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all((PLUGINS / name).read_text()) if d]
    (found,) = [d for d in docs if d["kind"] in ("DaemonSet", "Job")]
    return found


@pytest.mark.parametrize("name", ["daemonset.yaml", "job.yaml"])
def test_manifest_probe_is_the_agent_pod(name: str) -> None:
    expected = agent_pod_spec("NODE_NAME", PROBE_ARGS)
    expected_container = expected["spec"]["containers"][0]
    template = workload(name)["spec"]["template"]
    pod = template["spec"]
    containers = [*(pod.get("initContainers") or ()), *pod["containers"]]
    (probe,) = [c for c in containers if c["name"] == AGENT_CONTAINER]
    assert probe["image"] == DEFAULT_AGENT_IMAGE
    assert {k: probe.get(k) for k in CONTAINER_KEYS} == {
        k: expected_container.get(k) for k in CONTAINER_KEYS
    }
    assert {k: pod.get(k) for k in POD_KEYS} == {k: expected["spec"].get(k) for k in POD_KEYS}
    assert template["metadata"]["labels"][OWN_POD_LABEL[0]] == OWN_POD_LABEL[1]
    assert expected["metadata"]["labels"][OWN_POD_LABEL[0]] == OWN_POD_LABEL[1]


def test_manifest_command_is_the_agents_command_line() -> None:
    # The agent runs `inspect8s <args> --root /host -o json`; so do the manifests.
    (command,) = {
        tuple(c["command"])
        for name in ("daemonset.yaml", "job.yaml")
        for c in [
            *(workload(name)["spec"]["template"]["spec"].get("initContainers") or ()),
            *workload(name)["spec"]["template"]["spec"]["containers"],
        ]
        if c["name"] == AGENT_CONTAINER
    }
    assert list(command) == ["inspect8s", *PROBE_ARGS, "--root", "/host", "-o", "json"]
