"""Pure converters from runtime answers (CRI and Docker, live or recorded) to metadata.

CRI answers are in protobuf ``MessageToDict`` shape (camelCase keys); Docker answers are
the Engine API's JSON. Nothing here does I/O. Every converter is total (``shape.total``):
an answer of an unexpected shape gives ``ProbeFailed(MALFORMED)`` or, for one odd field,
that field unknown, never another exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import field
from typing import Any

from inspect8s.model.frozen import frozen
from inspect8s.shape import obj, objects, string_map, text, total

# Labels the kubelet puts on sandboxes and containers (kubelet/types/labels.go).
POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
# cri-dockerd / dockershim name Docker containers k8s_<container>_<pod>_<ns>_<uid>_<attempt>.
_DOCKER_K8S_PREFIX = "k8s_"


@frozen
class ContainerMeta:
    """What a runtime says about one container (or sandbox)."""

    id: str
    runtime: str  # "containerd" | "crio" | "docker" | ...
    name: str | None
    pod_name: str | None
    pod_namespace: str | None
    pod_uid: str | None
    is_sandbox: bool
    image: str | None
    state: str | None
    sandbox_id: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    source: str = ""
    endpoint: str | None = None  # the socket (host path) that answered; None: recorded


def runtime_name_from_cri_version(version: Mapping[str, Any]) -> str:
    """CRI ``runtimeName`` as inspect8s names runtimes ("cri-o" -> "crio")."""
    name = (text(obj(version).get("runtimeName")) or "unknown").lower()
    return {"cri-o": "crio", "docker": "cri-dockerd"}.get(name, name)


@total("cri:ListPodSandbox")
def cri_index(
    runtime: str, sandboxes: Iterable[Mapping[str, Any]], containers: Iterable[Mapping[str, Any]]
) -> dict[str, ContainerMeta]:
    """Index ListPodSandbox + ListContainers answers by ID (entries that are not objects
    or have no ID are left out)."""
    out: dict[str, ContainerMeta] = {}
    pods: dict[str, Mapping[str, Any]] = {}
    for sb in objects(sandboxes if isinstance(sandboxes, list) else list(sandboxes)):
        sid = text(sb.get("id"))
        if not sid:
            continue
        meta = obj(sb.get("metadata"))
        labels = string_map(sb.get("labels"))
        pods[sid] = meta
        out[sid] = ContainerMeta(
            id=sid,
            runtime=runtime,
            name=None,
            pod_name=text(meta.get("name")) or labels.get(POD_NAME),
            pod_namespace=text(meta.get("namespace")) or labels.get(POD_NAMESPACE),
            pod_uid=text(meta.get("uid")) or labels.get(POD_UID),
            is_sandbox=True,
            image=None,
            state=text(sb.get("state")),
            sandbox_id=sid,
            labels=labels,
            source="cri:ListPodSandbox",
        )
    for ctr in objects(containers if isinstance(containers, list) else list(containers)):
        cid = text(ctr.get("id"))
        if not cid:
            continue
        labels = string_map(ctr.get("labels"))
        sandbox_id = text(ctr.get("podSandboxId"))
        pod = pods.get(str(sandbox_id), {})
        image = text(obj(ctr.get("image")).get("image")) or text(ctr.get("imageRef"))
        out[cid] = ContainerMeta(
            id=cid,
            runtime=runtime,
            name=text(obj(ctr.get("metadata")).get("name")) or labels.get(CONTAINER_NAME),
            pod_name=labels.get(POD_NAME) or text(pod.get("name")),
            pod_namespace=labels.get(POD_NAMESPACE) or text(pod.get("namespace")),
            pod_uid=labels.get(POD_UID) or text(pod.get("uid")),
            is_sandbox=False,
            image=image,
            state=text(ctr.get("state")),
            sandbox_id=sandbox_id,
            labels=labels,
            source="cri:ListContainers",
        )
    return out


def parse_k8s_name(name: str) -> tuple[str, str, str, str] | None:
    """``k8s_<container>_<pod>_<namespace>_<uid>_<attempt>`` -> (container, pod, ns, uid).

    dockershim and cri-dockerd name Docker containers this way, and CRI-O passes the same
    form to conmon's ``-n``. The sandbox's container part is ``POD`` (dockershim) or empty
    (CRI-O). Pod and namespace names cannot hold ``_`` (DNS-1123), so the split is exact.
    """
    name = name.lstrip("/")
    if not name.startswith(_DOCKER_K8S_PREFIX):
        return None
    parts = name.split("_")
    if len(parts) < 6:
        return None
    return parts[1], parts[2], parts[3], parts[4]


@total("docker:/containers/json")
def docker_index(containers: Iterable[Mapping[str, Any]]) -> dict[str, ContainerMeta]:
    """Index a Docker ``/containers/json?all=1`` answer by ID.

    Containers made by dockershim or cri-dockerd carry the kubelet labels and the
    ``k8s_<container>_<pod>_<namespace>_<uid>_<attempt>`` name; the pause container is
    ``k8s_POD_...``.
    """
    out: dict[str, ContainerMeta] = {}
    for ctr in objects(containers if isinstance(containers, list) else list(containers)):
        cid = text(ctr.get("Id"))
        if not cid:
            continue
        labels = string_map(ctr.get("Labels"))
        names = [str(n).lstrip("/") for n in ctr.get("Names") or [] if isinstance(n, str)]
        name = names[0] if names else None
        pod_name = labels.get(POD_NAME)
        pod_ns = labels.get(POD_NAMESPACE)
        pod_uid = labels.get(POD_UID)
        cname = labels.get(CONTAINER_NAME)
        is_sandbox = False
        parsed = parse_k8s_name(name) if name else None
        if parsed is not None:
            cname = cname or parsed[0]
            pod_name = pod_name or parsed[1]
            pod_ns = pod_ns or parsed[2]
            pod_uid = pod_uid or parsed[3]
            is_sandbox = parsed[0] == "POD"
        out[cid] = ContainerMeta(
            id=cid,
            runtime="docker",
            name=None if is_sandbox else (cname or name),
            pod_name=pod_name,
            pod_namespace=pod_ns,
            pod_uid=pod_uid,
            is_sandbox=is_sandbox or labels.get("io.kubernetes.docker.type") == "podsandbox",
            image=text(ctr.get("Image")),
            state=text(ctr.get("State")),
            labels=labels,
            source="docker:/containers/json",
        )
    return out


# --------------------------------------------------------------------------- verbose status

# Annotations CRI-O puts in the OCI spec of sandboxes and containers
# (cri-o pkg/annotations: io.kubernetes.cri-o.*).
CRIO_RUNTIME_HANDLER = "io.kubernetes.cri-o.RuntimeHandler"
CRIO_SANDBOX_ID = "io.kubernetes.cri-o.SandboxID"
CRIO_PRIVILEGED = "io.kubernetes.cri-o.PrivilegedRuntime"


@frozen
class VerboseInfo:
    """What a runtime's verbose ``ContainerStatus`` / ``PodSandboxStatus`` says, whichever
    runtime gave it. ``shape`` names the ``info`` document read: "containerd" (keys
    ``runtimeType``, ``runtimeOptions``, ``snapshotter``, ``sandboxID``, ``pid``,
    ``runtimeSpec``, ``config``; sandboxes also ``runtimeHandler``), "cri-o" (containers:
    ``sandboxID``, ``pid``, ``runtimeSpec``, ``privileged``; sandboxes: ``image``, ``pid``,
    ``runtimeSpec``, or only ``runtimeSpec`` / nothing for a sandbox without an infra
    container), "cri-dockerd" (containers: ``sandboxID`` and ``pid`` only), or "none" when
    the answer had no ``info``. None means "not said"."""

    shape: str
    pid: int | None = None
    sandbox_id: str | None = None
    runtime_handler: str | None = None
    runtime_type: str | None = None
    runtime_options: dict[str, Any] = field(default_factory=dict)
    snapshotter: str | None = None
    privileged: bool | None = None
    cgroups_path: str | None = None
    resources: dict[str, Any] = field(default_factory=dict)  # runtimeSpec.linux.resources
    annotations: dict[str, str] = field(default_factory=dict)  # runtimeSpec.annotations
    handler_source: str | None = None  # where runtime_handler came from


_RESOURCE_GROUPS = ("cpu", "memory", "pids", "blockIO")  # objects in the OCI spec


def _resources(value: Any) -> dict[str, Any]:
    """``linux.resources`` of an OCI spec, without members of the wrong JSON type (the
    groups are objects, ``devices`` and ``hugepageLimits`` lists)."""
    return {
        str(k): v
        for k, v in obj(value).items()
        if isinstance(v, Mapping) or (isinstance(v, list) and k not in _RESOURCE_GROUPS)
    }


def _crio_shaped(info: Mapping[str, Any], annotations: Mapping[str, str]) -> bool:
    if any(k.startswith("io.kubernetes.cri-o.") for k in annotations):
        return True
    return "privileged" in info and "runtimeType" not in info


@total("cri:ContainerStatus")
def verbose_info(answer: Mapping[str, Any], runtime: str | None = None) -> VerboseInfo:
    """Read a verbose ``ContainerStatus`` or ``PodSandboxStatus`` answer (``MessageToDict``
    shape with ``info["info"]`` parsed from JSON, as :class:`~inspect8s.runtime.cri.CRIClient`
    and bundles give it). ``runtime`` ("containerd", "crio") picks the shape; without it the
    keys decide. The sandbox's handler comes from ``status.runtimeHandler`` (CRI v1, filled
    by recent runtimes), else containerd's ``info.runtimeHandler``, else CRI-O's
    ``io.kubernetes.cri-o.RuntimeHandler`` annotation. A field of the wrong JSON type counts
    as not said."""
    answer = obj(answer)
    raw = answer.get("info")
    info = raw.get("info") if isinstance(raw, Mapping) else None
    status = obj(answer.get("status"))
    status_handler = text(status.get("runtimeHandler"))
    if not isinstance(info, Mapping):
        return VerboseInfo(
            "none",
            runtime_handler=status_handler,
            handler_source="cri:status.runtimeHandler" if status_handler else None,
        )
    spec = obj(info.get("runtimeSpec"))
    linux = obj(spec.get("linux"))
    annotations = string_map(spec.get("annotations"))
    said_pid = info.get("pid")
    pid = said_pid if isinstance(said_pid, int) and not isinstance(said_pid, bool) else None
    pid = pid if pid is not None and pid > 0 else None
    sandbox_id = text(info.get("sandboxID")) or annotations.get(CRIO_SANDBOX_ID) or None
    if runtime == "cri-dockerd" or (runtime is None and set(info) <= {"sandboxID", "pid"}):
        return VerboseInfo(
            "cri-dockerd",
            pid=pid,
            sandbox_id=sandbox_id,
            runtime_handler=status_handler,
            handler_source="cri:status.runtimeHandler" if status_handler else None,
        )
    crio = runtime == "crio" if runtime in ("crio", "containerd") else None
    if crio is None:
        crio = _crio_shaped(info, annotations)
    handler, source = status_handler, "cri:status.runtimeHandler" if status_handler else None
    cgroups_path = text(linux.get("cgroupsPath"))
    resources = _resources(linux.get("resources"))
    if crio:
        if handler is None and annotations.get(CRIO_RUNTIME_HANDLER):
            handler = annotations[CRIO_RUNTIME_HANDLER]
            source = f"cri:info.runtimeSpec.annotations[{CRIO_RUNTIME_HANDLER}]"
        privileged = info.get("privileged")
        if privileged is None and CRIO_PRIVILEGED in annotations:
            privileged = annotations[CRIO_PRIVILEGED] == "true"
        return VerboseInfo(
            "cri-o",
            pid=pid,
            sandbox_id=sandbox_id,
            runtime_handler=handler,
            privileged=privileged if isinstance(privileged, bool) else None,
            cgroups_path=cgroups_path,
            resources=resources,
            annotations=annotations,
            handler_source=source,
        )
    said_handler = info.get("runtimeHandler")
    if handler is None and isinstance(said_handler, str):  # "": the default handler
        handler = said_handler
        source = "cri:info.runtimeHandler"
    config = obj(info.get("config"))
    security = obj(obj(config.get("linux")).get("securityContext"))
    privileged = security.get("privileged")
    return VerboseInfo(
        "containerd",
        pid=pid,
        sandbox_id=sandbox_id,
        runtime_handler=handler,
        runtime_type=text(info.get("runtimeType")),
        runtime_options=dict(obj(info.get("runtimeOptions"))),
        snapshotter=text(info.get("snapshotter")),
        privileged=privileged if isinstance(privileged, bool) else None,
        cgroups_path=cgroups_path,
        resources=resources,
        annotations=annotations,
        handler_source=source,
    )
