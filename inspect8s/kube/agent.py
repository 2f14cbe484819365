"""Run the node probe on another node, in a short-lived pod, and always clean it up.

When a pod runs on a node this machine is not, ``inspect8s`` starts a pod pinned to that
node (``spec.nodeName``: no scheduler, so it also lands on cordoned or NotReady nodes),
with the host's PID namespace, privileged, the host's ``/`` mounted read-only at ``/host``
and a toleration for every taint, runs ``inspect8s <args> --root /host -o json`` in it,
reads the JSON from its log, and deletes it: after success, after failure, after the
deadline and on Ctrl-C. ``activeDeadlineSeconds`` makes the kubelet stop it too, should
this process die before the DELETE.

Deletion is certain, whenever Ctrl-C comes: the pod's name is chosen here before the
create is sent (not by the server's ``generateName``), so a pod whose create was in flight
is known by name; in the main thread the create and the delete run to their end while
SIGINT only takes note (each call is bounded by the API deadline), then the pod is
deleted and the interrupt goes on. Agents run on other threads stop at their next
poll when ``cancel`` is set.

RBAC the caller needs in the agent namespace: create, get, delete pods and get pods/log
(``plugins/kubectl/rbac.yaml``).
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from inspect8s._version import AGENT_IMAGE_REPOSITORY, __version__
from inspect8s.errors import ErrorKind
from inspect8s.kube.live import KubeAPI, KubeAPIError, forbidden_hint, sigint_noted
from inspect8s.model.chain import RuntimeChain, chain_from_document
from inspect8s.model.frozen import frozen
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


class AgentCancelled(AgentError):
    """The run was stopped from outside (``cancel`` set: Ctrl-C in the main thread)."""


T = TypeVar("T")
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # what generateName suffixes are made of
_CREATE_ATTEMPTS = 3


def agent_pod_name() -> str:
    """A fresh agent pod name, chosen by the client so that it is known before the create."""
    return AGENT_NAME_PREFIX + "".join(secrets.choice(_NAME_CHARS) for _ in range(5))


def _to_the_end(fn: Callable[[], T]) -> tuple[T | None, Exception | None, bool]:
    """Run ``fn`` to its end even if Ctrl-C comes meanwhile: ``(result, error, interrupted)``.

    In the main thread, SIGINT only takes note while ``fn`` runs (kube/live.sigint_noted);
    other threads never get KeyboardInterrupt. ``fn`` must be bounded: every API call has
    a deadline."""
    with sigint_noted() as noted:
        try:
            return fn(), None, noted.is_set()
        except Exception as exc:
            return None, exc, noted.is_set()


@frozen
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
    cancel: threading.Event | None = None,
) -> AgentRun:
    """Run ``inspect8s <inspect8s_args> --root /host -o json`` on ``node_name``; return its JSON.

    ``timeout`` bounds the whole run (scheduling, image pull, the probe). ``on_poll`` is
    called with the pod's phase after every poll (progress display; tests raise
    KeyboardInterrupt from it). ``cancel`` set stops the run at the next poll
    (AgentCancelled). The pod is deleted whatever happens, a create in flight included;
    KeyboardInterrupt propagates after the delete.

    Raises AgentError (exit 4): RBAC refused (names the missing permission), the image
    could not be pulled, the agent failed without JSON, or the deadline passed.
    """
    body = _strip_nones(agent_pod_spec(node_name, inspect8s_args, image=image, timeout=timeout))
    create_path = f"/api/v1/namespaces/{namespace}/pods"
    metadata = body["metadata"]
    metadata.pop("generateName", None)
    pod_name = ""  # the pod this run created, or may have created: deleted at the end
    unsure = False  # a create failed without an answer: the pod may exist all the same
    try:
        for _attempt in range(_CREATE_ATTEMPTS):
            if cancel is not None and cancel.is_set():
                raise AgentCancelled(
                    "stopped before the agent pod was created",
                    status=None,
                    kind=ErrorKind.UNAVAILABLE,
                    method="POST",
                    path=create_path,
                )
            # Named before the create is sent: a Ctrl-C from here on deletes this name.
            pod_name = metadata["name"] = agent_pod_name()
            _created, error, interrupted = _to_the_end(lambda: api.create_pod(namespace, body))
            status = error.status if isinstance(error, KubeAPIError) else None
            taken = status == 409
            if taken or status == 403:
                pod_name = ""  # not created: the name is someone else's, or nothing exists
            unsure = error is not None and status is None
            if interrupted:
                raise KeyboardInterrupt
            if taken:
                continue  # the name exists already: another name
            if error is not None:
                raise _create_error(error, node_name, namespace, create_path)
            break
        else:
            raise AgentError(
                f"cannot start the agent pod on node {node_name}: {_CREATE_ATTEMPTS} fresh "
                f"names were all taken in namespace {namespace}",
                status=409,
                kind=ErrorKind.UNAVAILABLE,
                method="POST",
                path=create_path,
            )
        pod_path = f"{create_path}/{pod_name}"
        result = _wait_and_read(
            api,
            namespace,
            pod_name,
            node_name,
            pod_path,
            image,
            timeout,
            poll_interval,
            on_poll,
            cancel,
        )
    except BaseException as exc:  # failure, timeout and Ctrl-C all delete the pod
        if pod_name:
            leftover, _ = _delete(api, namespace, pod_name, f"{create_path}/{pod_name}", unsure)
            if leftover is not None:
                exc.add_note(str(leftover))  # the first failure stays the one reported
        raise
    leftover, interrupted = _delete(api, namespace, pod_name, pod_path, False)
    if interrupted:  # Ctrl-C while the pod was being deleted: deleted, then stop
        raise KeyboardInterrupt
    if leftover is not None:
        raise leftover
    return result


def _create_error(
    error: BaseException, node_name: str, namespace: str, create_path: str
) -> BaseException:
    if isinstance(error, KubeAPIError) and error.status == 403:
        hint = forbidden_hint(error.api_message or "") or "forbidden"
        return AgentError(
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
            reason=error.reason,
            api_message=error.api_message,
        )
    return error


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
    cancel: threading.Event | None = None,
) -> AgentRun:
    deadline = time.monotonic() + timeout
    phase = "Pending"
    while True:
        if cancel is not None and cancel.is_set():
            raise AgentCancelled(
                f"the agent pod {namespace}/{pod_name} on node {node_name} was stopped",
                status=None,
                kind=ErrorKind.UNAVAILABLE,
                method="GET",
                path=pod_path,
            )
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
        pause = max(0.0, min(poll_interval, deadline - time.monotonic()))
        if cancel is not None:
            cancel.wait(pause)
        else:
            time.sleep(pause)
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


def _delete(
    api: KubeAPI, namespace: str, pod_name: str, pod_path: str, unsure: bool
) -> tuple[AgentError | None, bool]:
    """Delete the agent pod, to the end even if Ctrl-C comes meanwhile: (the error to
    report if that failed and the pod is left behind, whether Ctrl-C came). ``unsure``: the
    create got no answer, so the API server may still be storing the pod; a DELETE that
    finds nothing is then tried again."""
    attempts = 3 if unsure else 1
    interrupted = False
    for attempt in range(attempts):
        gone, error, stopped = _to_the_end(
            lambda: api.delete_pod(namespace, pod_name, grace_period_seconds=0)
        )
        interrupted = interrupted or stopped
        if error is not None:
            api_error = error if isinstance(error, KubeAPIError) else None
            return AgentError(
                f"could not delete the agent pod {namespace}/{pod_name}: {error}; delete it "
                f"with `kubectl delete pod -n {namespace} {pod_name}`",
                status=api_error.status if api_error else None,
                kind=api_error.kind if api_error else ErrorKind.UNAVAILABLE,
                method="DELETE",
                path=pod_path,
                reason=api_error.reason if api_error else None,
            ), interrupted
        if gone is not None or attempt == attempts - 1:
            break
        time.sleep(0.5)  # 404: maybe not stored yet
    return None, interrupted
