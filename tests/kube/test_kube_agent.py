"""The agent pod's lifecycle against tests/kubeserver.py, with the real kubernetes client."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspect8s.errors import ErrorKind
from inspect8s.kube.agent import (
    DEFAULT_AGENT_IMAGE,
    AgentError,
    agent_pod_spec,
    parse_agent_log,
    run_agent,
)
from inspect8s.kube.live import KubeAPI
from tests.kubeserver import AgentScript, KubeServer

NODE_JSON = {"node": {"hostname": "worker-7", "kernel": "6.1.0"}, "containers": [], "errors": []}


@pytest.fixture
def server() -> Iterator[KubeServer]:
    with KubeServer() as srv:
        yield srv


@pytest.fixture
def api(server: KubeServer, tmp_path: Path) -> KubeAPI:
    return KubeAPI.from_config(str(server.kubeconfig(tmp_path / "config")), environ={}, timeout=5)


def _run(api: KubeAPI, **kwargs: object) -> object:
    options: dict[str, object] = {
        "image": "registry.example/inspect8s:test",
        "namespace": "kube-system",
        "timeout": 5.0,
        "poll_interval": 0.01,
    }
    options.update(kwargs)
    return run_agent(api, "worker-7", ["node", "--timeout", "3"], **options)  # type: ignore[arg-type]


def _assert_deleted_once(server: KubeServer) -> str:
    assert len(server.requests_for("POST")) == 1
    (delete,) = server.requests_for("DELETE")
    name = delete.path.rsplit("/", 1)[-1]
    assert delete.path == f"/api/v1/namespaces/kube-system/pods/{name}"
    assert name.startswith("inspect8s-agent-")
    assert delete.body["gracePeriodSeconds"] == 0
    assert server.created == {}
    return name


def test_the_pod_spec_sent(server: KubeServer, api: KubeAPI) -> None:
    server.agent = AgentScript(logs=json.dumps(NODE_JSON) + "\n")
    _run(api)
    (post,) = server.requests_for("POST")
    assert post.path == "/api/v1/namespaces/kube-system/pods"
    body = post.body
    assert body["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "inspect8s"
    # Named by the client, so that a pod whose create is in flight on Ctrl-C is known.
    assert "generateName" not in body["metadata"]
    assert re.fullmatch(r"inspect8s-agent-[a-z0-9]{5}", body["metadata"]["name"])
    spec = body["spec"]
    assert spec["nodeName"] == "worker-7"
    assert spec["hostPID"] is True
    assert spec["restartPolicy"] == "Never"
    assert spec["tolerations"] == [{"operator": "Exists"}]
    assert spec["automountServiceAccountToken"] is False
    assert spec["activeDeadlineSeconds"] >= 35
    assert "priorityClassName" not in spec  # None values are not sent
    (container,) = spec["containers"]
    assert container["image"] == "registry.example/inspect8s:test"
    assert container["securityContext"] == {"privileged": True}
    assert container["command"] == [
        "inspect8s",
        "node",
        "--timeout",
        "3",
        "--root",
        "/host",
        "-o",
        "json",
    ]
    assert container["resources"]["requests"] == {"cpu": "50m", "memory": "64Mi"}
    assert container["resources"]["limits"] == {"cpu": "500m", "memory": "256Mi"}
    (mount,) = container["volumeMounts"]
    assert (mount["mountPath"], mount["readOnly"]) == ("/host", True)
    (volume,) = spec["volumes"]
    assert volume["name"] == mount["name"]
    assert volume["hostPath"]["path"] == "/"


def test_success_reads_the_logs_and_deletes(server: KubeServer, api: KubeAPI) -> None:
    server.agent = AgentScript(
        phases=("Pending", "Pending", "Running", "Succeeded"),
        logs="inspect8s: warning: kubelet config unreadable\n" + json.dumps(NODE_JSON, indent=2),
    )
    result = _run(api)
    assert result.output == NODE_JSON  # type: ignore[attr-defined]
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert result.log_lines_not_json == ("inspect8s: warning: kubelet config unreadable",)  # type: ignore[attr-defined]
    name = _assert_deleted_once(server)
    assert result.pod_name == name  # type: ignore[attr-defined]
    gets = [r.path for r in server.requests_for("GET")]
    assert gets.count(f"/api/v1/namespaces/kube-system/pods/{name}") == 4
    assert gets[-1] == f"/api/v1/namespaces/kube-system/pods/{name}/log"
    (log_request,) = [r for r in server.requests_for("GET") if r.path.endswith("/log")]
    assert log_request.q("container") == "inspect8s"
    # Order: create, polls, log, delete.
    assert server.requests[0].method == "POST"
    assert server.requests[-1].method == "DELETE"


def test_a_failed_agent_with_json_still_answers(server: KubeServer, api: KubeAPI) -> None:
    # inspect8s exits 3 (incomplete) but printed its JSON: use it, report the exit code.
    server.agent = AgentScript(
        phases=("Running", "Failed"), logs=json.dumps(NODE_JSON), exit_code=3
    )
    result = _run(api)
    assert result.exit_code == 3 and result.output == NODE_JSON  # type: ignore[attr-defined]
    _assert_deleted_once(server)


def test_a_failed_agent_without_json_raises_and_deletes(server: KubeServer, api: KubeAPI) -> None:
    server.agent = AgentScript(
        phases=("Running", "Failed"),
        logs="exec /usr/local/bin/inspect8s: exec format error\n",
        exit_code=1,
    )
    with pytest.raises(AgentError) as info:
        _run(api)
    message = str(info.value)
    assert "ended Failed (exit code 1) without a JSON result" in message
    assert "exec format error" in message and "\n" not in message
    assert info.value.exit_code == 4
    _assert_deleted_once(server)


def test_an_image_that_cannot_be_pulled_fails_fast(server: KubeServer, api: KubeAPI) -> None:
    server.agent = AgentScript(phases=("Pending",), waiting_reason="ErrImagePull")
    started = time.monotonic()
    with pytest.raises(AgentError, match="cannot start: ErrImagePull") as info:
        _run(api, timeout=30.0)
    assert time.monotonic() - started < 5
    assert info.value.param == "agent_image"  # the CLI names --agent-image
    _assert_deleted_once(server)


def test_timeout_deletes_the_pod(server: KubeServer, api: KubeAPI) -> None:
    server.agent = AgentScript(phases=("Pending", "Running"))  # never finishes
    started = time.monotonic()
    with pytest.raises(AgentError) as info:
        _run(api, timeout=0.3, poll_interval=0.05)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 10  # the deadline, not a hang (whatever the machine's load)
    assert info.value.kind is ErrorKind.TIMEOUT
    assert "did not finish within 0.3s (last phase Running)" in str(info.value)
    assert info.value.param == "agent_timeout"  # the CLI names --agent-timeout
    _assert_deleted_once(server)
    assert not [r for r in server.requests if r.path.endswith("/log")]


def test_ctrl_c_from_the_poll_callback_deletes_the_pod(server: KubeServer, api: KubeAPI) -> None:
    server.agent = AgentScript(phases=("Pending", "Running"))
    seen: list[str] = []

    def interrupt(phase: str) -> None:
        seen.append(phase)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(api, on_poll=interrupt)
    assert seen == ["Pending", "Running"]
    _assert_deleted_once(server)


def test_ctrl_c_during_a_request_deletes_the_pod(server: KubeServer, api: KubeAPI) -> None:
    # The interrupt arrives while a GET is in flight: the server hook interrupts the
    # main thread (as Ctrl-C would), and the DELETE still goes out.
    import _thread

    def hook(count: int) -> None:
        if count == 2:
            _thread.interrupt_main()
            time.sleep(0.2)

    server.agent = AgentScript(phases=("Pending", "Running"), on_get=hook)
    with pytest.raises(KeyboardInterrupt):
        _run(api)
    _assert_deleted_once(server)


def test_forbidden_create_names_the_missing_permission(server: KubeServer, api: KubeAPI) -> None:
    server.forbid_create_in.add("kube-system")
    with pytest.raises(AgentError) as info:
        _run(api)
    message = str(info.value)
    assert "not allowed to create pods in namespace kube-system" in message
    assert 'may not create pods in namespace "kube-system"' in message
    assert "on the node itself" in message and "plugins/kubectl/rbac.yaml" in message
    assert info.value.param == "agent_namespace"  # the CLI names --agent-namespace
    assert (info.value.status, info.value.kind, info.value.exit_code) == (
        403,
        ErrorKind.PERMISSION,
        4,
    )
    assert server.requests_for("DELETE") == []  # nothing was created


def test_a_failed_delete_is_reported_with_the_command_to_clean_up(
    server: KubeServer, api: KubeAPI
) -> None:
    server.agent = AgentScript(logs=json.dumps(NODE_JSON))
    server.fail("/api/v1/namespaces/kube-system/pods/", 500, method="DELETE")
    with pytest.raises(AgentError) as info:
        _run(api)
    assert "could not delete the agent pod kube-system/inspect8s-agent-" in str(info.value)
    assert "kubectl delete pod -n kube-system inspect8s-agent-" in str(info.value)


def test_pod_spec_defaults() -> None:
    spec = agent_pod_spec("n1", ["node"])
    assert spec["spec"]["containers"][0]["image"] == DEFAULT_AGENT_IMAGE
    assert DEFAULT_AGENT_IMAGE.startswith("ghcr.io/inspect8s/inspect8s:")


@pytest.mark.parametrize(
    ("log", "document", "other"),
    [
        ('{"a": 1}', {"a": 1}, ()),
        (
            'inspect8s: warn\n{"a": 1}\ninspect8s: late\n',
            {"a": 1},
            ("inspect8s: warn", "inspect8s: late"),
        ),
        ('{"a": {\n  "b": [1, 2]\n}}\n', {"a": {"b": [1, 2]}}, ()),
        ("{not json\n", None, ("{not json",)),
        ("", None, ()),
    ],
)
def test_parse_agent_log(log: str, document: object, other: tuple[str, ...]) -> None:
    assert parse_agent_log(log) == (document, other)
