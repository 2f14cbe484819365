"""Run the node probe on another node, in a short-lived pod, and always clean it up.

When a pod runs on a node this machine is not, ``inspect8s`` starts a pod pinned to that
node (``spec.nodeName``: no scheduler, so it also lands on cordoned or NotReady nodes),
with the host's PID namespace, privileged, the host's ``/`` mounted read-only at ``/host``
and a toleration for every taint, runs ``inspect8s <args> --root /host -o json`` in it,
reads the JSON from its log, and deletes it: after success, after failure, after the
deadline and on Ctrl-C (``try/finally``). ``activeDeadlineSeconds`` makes the kubelet
stop it too, should this process die before the DELETE.

RBAC the caller needs in the agent namespace: create, get, delete pods and get pods/log
(``plugins/kubectl/rbac.yaml``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inspect8s._version import AGENT_IMAGE_REPOSITORY, __version__
from inspect8s.errors import ErrorKind
from inspect8s.kube.live import KubeAPI, KubeAPIError, forbidden_hint
from inspect8s.model.chain import RuntimeChain, chain_from_document
from inspect8s.model.kube import OWN_POD_LABEL

DEFAULT_AGENT_IMAGE = f"{AGENT_IMAGE_REPOSITORY}:{__version__}"
DEFAULT_AGENT_NAMESPACE = "default"
DEFAULT_AGENT_TIMEOUT_S = 120.0
MANAGED_BY_LABEL = OWN_POD_LABEL  # audits leave pods with this label out (audit/runner.py)
AGENT_NAME_PREFIX = "inspect8s-agent-"
AGENT_CONTAINER = "inspect8s"
HOST_MOUNT = "/host"

# Waiting reasons after which the container will not start by itself
# (kubelet's pkg/kubelet/images and kuberuntime error reasons).
_FATAL_WAITING = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


class AgentError(KubeAPIError):
    """The agent pod could not be run or gave no usable answer (exit 4)."""


@dataclass(frozen=True, slots=True)
class AgentRun:
    """What the agent returned."""

    output: dict[str, Any]  # the JSON document inspect8s printed on the node
    exit_code: int | None  # the agent's exit code; None: not reported
    pod_name: str
    namespace: str
    node_name: str
    log_lines_not_json: tuple[str, ...] = ()  # stderr lines mixed into the log (warnings)


def agent_pod_spec(
    node_name: str,
    inspect8s_args: Sequence[str],
    *,
    image: str = DEFAULT_AGENT_IMAGE,
    timeout: float = DEFAULT_AGENT_TIMEOUT_S,
) -> dict[str, Any]:
    """The Pod object the agent runs as (pure; tests assert it)."""
    command = ["inspect8s", *inspect8s_args, "--root", HOST_MOUNT, "-o", "json"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": AGENT_NAME_PREFIX,
            "labels": {
                MANAGED_BY_LABEL[0]: MANAGED_BY_LABEL[1],
                "app.kubernetes.io/name": "inspect8s-agent",
            },
            "annotations": {"inspect8s.io/node": node_name},
        },
        "spec": {
            "nodeName": node_name,
            "hostPID": True,
            "restartPolicy": "Never",
            # The kubelet kills it after this even if nobody deletes it.
            "activeDeadlineSeconds": max(30, math.ceil(timeout) + 30),
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            # An empty key with operator Exists tolerates every taint (core/v1 Toleration).
            "tolerations": [{"operator": "Exists"}],
            "priorityClassName": None,
            "containers": [
                {
                    "name": AGENT_CONTAINER,
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": command,
                    "env": [{"name": "INSPECT8S_ROOT", "value": HOST_MOUNT}],
                    "securityContext": {"privileged": True},
                    "resources": {
                        "requests": {"cpu": "50m", "memory": "64Mi"},
                        "limits": {"cpu": "500m", "memory": "256Mi"},
                    },
                    "volumeMounts": [
                        {
                            "name": "host-root",
                            "mountPath": HOST_MOUNT,
                            "readOnly": True,
                            "mountPropagation": "HostToContainer",
                        }
                    ],
                }
            ],
            "volumes": [{"name": "host-root", "hostPath": {"path": "/", "type": "Directory"}}],
        },
    }


def _strip_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nones(v) for v in value]
    return value


def parse_agent_log(log: str) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
    """Find the JSON document in an agent's log; return it and the other (stderr) lines.

    The container log interleaves stdout and stderr; inspect8s prints exactly one JSON
    object on stdout and prefixes its stderr lines with "inspect8s:".
    """
    decoder = json.JSONDecoder()
    lines = log.splitlines(keepends=True)
    offset = 0
    for index, line in enumerate(lines):
        if line.lstrip().startswith("{"):
            start = offset + (len(line) - len(line.lstrip()))
            try:
                document, end = decoder.raw_decode(log, start)
            except ValueError:
                offset += len(line)
                continue
            if isinstance(document, dict):
                rest = log[end:].splitlines()
                other = [x.rstrip("\n") for x in lines[:index]] + rest
                return document, tuple(x for x in other if x.strip())
        offset += len(line)
    return None, tuple(x.rstrip("\n") for x in lines if x.strip())


def _container_state(pod: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    statuses = list((pod.get("status") or {}).get("containerStatuses") or ())
    mine = [s for s in statuses if s.get("name") == AGENT_CONTAINER] or statuses[:1]
    for status in mine:
        state = status.get("state") or {}
        for name in ("terminated", "running", "waiting"):
            if state.get(name) is not None:
                return name, state[name]
    return None, {}


def run_agent(
    api: KubeAPI,
    node_name: str,
    inspect8s_args: Sequence[str],
    *,
    image: str = DEFAULT_AGENT_IMAGE,
    namespace: str = DEFAULT_AGENT_NAMESPACE,
    timeout: float = DEFAULT_AGENT_TIMEOUT_S,
    poll_interval: float = 0.5,
    on_poll: Callable[[str], None] | None = None,
) -> AgentRun:
    """Run ``inspect8s <inspect8s_args> --root /host -o json`` on ``node_name``; return its JSON.

    ``timeout`` bounds the whole run (scheduling, image pull, the probe). ``on_poll`` is
    called with the pod's phase after every poll (progress display; tests raise
    KeyboardInterrupt from it). The pod is deleted whatever happens; KeyboardInterrupt
    propagates after the delete.

    Raises AgentError (exit 4): RBAC refused (names the missing permission), the image
    could not be pulled, the agent failed without JSON, or the deadline passed.
    """
    body = _strip_nones(agent_pod_spec(node_name, inspect8s_args, image=image, timeout=timeout))
    create_path = f"/api/v1/namespaces/{namespace}/pods"
    try:
        created = api.create_pod(namespace, body)
    except KubeAPIError as exc:
        if exc.status == 403:
            hint = forbidden_hint(exc.api_message or "") or "forbidden"
            raise AgentError(
                f"cannot start the agent pod on node {node_name}: not allowed to create pods "
                f"in namespace {namespace} ({hint}); grant "
                f"create/get/delete on pods and get on pods/log in {namespace} "
                "(plugins/kubectl/rbac.yaml), pick another namespace for the agent, or run "
                "inspect8s on the node itself without the API",
                param="agent_namespace",
                status=403,
                kind=ErrorKind.PERMISSION,
                method="POST",
                path=create_path,
                reason=exc.reason,
                api_message=exc.api_message,
            ) from exc
        raise
    pod_name = str((created.get("metadata") or {}).get("name") or "")
    if not pod_name:
        raise AgentError(
            "the API server created the agent pod but returned no name",
            status=None,
            kind=ErrorKind.MALFORMED,
            method="POST",
            path=create_path,
        )
    pod_path = f"{create_path}/{pod_name}"
    try:
        result = _wait_and_read(
            api, namespace, pod_name, node_name, pod_path, image, timeout, poll_interval, on_poll
        )
    except BaseException as exc:  # success, failure, timeout and Ctrl-C all delete the pod
        leftover = _delete(api, namespace, pod_name, pod_path)
        if leftover is not None:
            exc.add_note(str(leftover))  # the first failure stays the one reported
        raise
    leftover = _delete(api, namespace, pod_name, pod_path)
    if leftover is not None:
        raise leftover
    return result


def _wait_and_read(
    api: KubeAPI,
    namespace: str,
    pod_name: str,
    node_name: str,
    pod_path: str,
    image: str,
    timeout: float,
    poll_interval: float,
    on_poll: Callable[[str], None] | None,
) -> AgentRun:
    deadline = time.monotonic() + timeout
    phase = "Pending"
    while True:
        pod = api.get_pod(namespace, pod_name)
        phase = str((pod.get("status") or {}).get("phase") or "Pending")
        if on_poll is not None:
            on_poll(phase)
        state_name, state = _container_state(pod)
        if phase in ("Succeeded", "Failed"):
            break
        if state_name == "waiting" and state.get("reason") in _FATAL_WAITING:
            raise AgentError(
                f"the agent pod {namespace}/{pod_name} on node {node_name} cannot start: "
                f"{state.get('reason')}: {state.get('message') or 'no message'} (image "
                f"{image}; name an image the node can pull)",
                param="agent_image",
                status=None,
                kind=ErrorKind.UNAVAILABLE,
                method="GET",
                path=pod_path,
            )
        if time.monotonic() >= deadline:
            raise AgentError(
                f"the agent pod {namespace}/{pod_name} on node {node_name} did not finish "
                f"within {timeout:g}s (last phase {phase}); raise the agent timeout or check "
                "the node",
                param="agent_timeout",
                status=None,
                kind=ErrorKind.TIMEOUT,
                method="GET",
                path=pod_path,
            )
        time.sleep(max(0.0, min(poll_interval, deadline - time.monotonic())))
    state_name, state = _container_state(pod)
    exit_code = state.get("exitCode") if state_name == "terminated" else None
    log = api.pod_log(namespace, pod_name, container=AGENT_CONTAINER)
    document, other = parse_agent_log(log)
    if document is None:
        tail = " | ".join(other[-3:]) if other else "empty log"
        raise AgentError(
            f"the agent pod {namespace}/{pod_name} on node {node_name} ended {phase} "
            f"(exit code {exit_code}) without a JSON result: {tail}",
            status=None,
            kind=ErrorKind.MALFORMED if phase == "Succeeded" else ErrorKind.UNAVAILABLE,
            method="GET",
            path=f"{pod_path}/log",
        )
    return AgentRun(
        output=document,
        exit_code=int(exit_code) if exit_code is not None else None,
        pod_name=pod_name,
        namespace=namespace,
        node_name=node_name,
        log_lines_not_json=other,
    )


def agent_chain(run: AgentRun) -> RuntimeChain:
    """The ``RuntimeChain`` an agent pod printed (``pod NAME --trace-runtime -o json``), read
    back into the models a local trace gives. A document that is not one (another kind, a
    newer schema, a wrong type anywhere) is ``ProbeFailed(MALFORMED)`` naming the agent pod
    and where in the document it went wrong."""
    where = f"agent pod {run.namespace}/{run.pod_name} on node {run.node_name}"
    return chain_from_document(run.output, where)


def _delete(api: KubeAPI, namespace: str, pod_name: str, pod_path: str) -> AgentError | None:
    """Delete the agent pod; the error to report if that failed (the pod is left behind)."""
    try:
        api.delete_pod(namespace, pod_name, grace_period_seconds=0)
    except KubeAPIError as exc:
        return AgentError(
            f"could not delete the agent pod {namespace}/{pod_name}: {exc}; delete it with "
            f"`kubectl delete pod -n {namespace} {pod_name}`",
            status=exc.status,
            kind=exc.kind,
            method="DELETE",
            path=pod_path,
            reason=exc.reason,
        )
    return None
