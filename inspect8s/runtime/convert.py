"""Pure converters from runtime answers (CRI and Docker, live or recorded) to metadata.

CRI answers are in protobuf ``MessageToDict`` shape (camelCase keys); Docker answers are
the Engine API's JSON. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Labels the kubelet puts on sandboxes and containers (kubelet/types/labels.go).
POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
# cri-dockerd / dockershim name Docker containers k8s_<container>_<pod>_<ns>_<uid>_<attempt>.
_DOCKER_K8S_PREFIX = "k8s_"


@dataclass(frozen=True, slots=True)
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
    name = str(version.get("runtimeName", "") or "unknown").lower()
    return {"cri-o": "crio", "docker": "cri-dockerd"}.get(name, name)


def cri_index(
    runtime: str, sandboxes: Iterable[Mapping[str, Any]], containers: Iterable[Mapping[str, Any]]
) -> dict[str, ContainerMeta]:
    """Index ListPodSandbox + ListContainers answers by ID."""
    out: dict[str, ContainerMeta] = {}
    pods: dict[str, Mapping[str, Any]] = {}
    for sb in sandboxes:
        sid = str(sb.get("id", ""))
        if not sid:
            continue
        meta = sb.get("metadata", {}) or {}
        labels = dict(sb.get("labels", {}) or {})
        pods[sid] = meta
        out[sid] = ContainerMeta(
            id=sid,
            runtime=runtime,
            name=None,
            pod_name=meta.get("name") or labels.get(POD_NAME),
            pod_namespace=meta.get("namespace") or labels.get(POD_NAMESPACE),
            pod_uid=meta.get("uid") or labels.get(POD_UID),
            is_sandbox=True,
            image=None,
            state=sb.get("state"),
            sandbox_id=sid,
            labels=labels,
            source="cri:ListPodSandbox",
        )
    for ctr in containers:
        cid = str(ctr.get("id", ""))
        if not cid:
            continue
        labels = dict(ctr.get("labels", {}) or {})
        sandbox_id = ctr.get("podSandboxId")
        pod = pods.get(str(sandbox_id), {})
        image = (ctr.get("image") or {}).get("image") or ctr.get("imageRef")
        out[cid] = ContainerMeta(
            id=cid,
            runtime=runtime,
            name=(ctr.get("metadata") or {}).get("name") or labels.get(CONTAINER_NAME),
            pod_name=labels.get(POD_NAME) or pod.get("name"),
            pod_namespace=labels.get(POD_NAMESPACE) or pod.get("namespace"),
            pod_uid=labels.get(POD_UID) or pod.get("uid"),
            is_sandbox=False,
            image=image,
            state=ctr.get("state"),
            sandbox_id=str(sandbox_id) if sandbox_id else None,
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


def docker_index(containers: Iterable[Mapping[str, Any]]) -> dict[str, ContainerMeta]:
    """Index a Docker ``/containers/json?all=1`` answer by ID.

    Containers made by dockershim or cri-dockerd carry the kubelet labels and the
    ``k8s_<container>_<pod>_<namespace>_<uid>_<attempt>`` name; the pause container is
    ``k8s_POD_...``.
    """
    out: dict[str, ContainerMeta] = {}
    for ctr in containers:
        cid = str(ctr.get("Id", ""))
        if not cid:
            continue
        labels = {str(k): str(v) for k, v in (ctr.get("Labels") or {}).items()}
        names = [str(n).lstrip("/") for n in (ctr.get("Names") or [])]
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
            image=ctr.get("Image"),
            state=ctr.get("State"),
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


@dataclass(frozen=True, slots=True)
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


def _crio_shaped(info: Mapping[str, Any], annotations: Mapping[str, str]) -> bool:
    if any(k.startswith("io.kubernetes.cri-o.") for k in annotations):
        return True
    return "privileged" in info and "runtimeType" not in info


def verbose_info(answer: Mapping[str, Any], runtime: str | None = None) -> VerboseInfo:
    """Read a verbose ``ContainerStatus`` or ``PodSandboxStatus`` answer (``MessageToDict``
    shape with ``info["info"]`` parsed from JSON, as :class:`~inspect8s.runtime.cri.CRIClient`
    and bundles give it). ``runtime`` ("containerd", "crio") picks the shape; without it the
    keys decide. The sandbox's handler comes from ``status.runtimeHandler`` (CRI v1, filled
    by recent runtimes), else containerd's ``info.runtimeHandler``, else CRI-O's
    ``io.kubernetes.cri-o.RuntimeHandler`` annotation."""
    raw = answer.get("info") or {}
    info = raw.get("info") if isinstance(raw, Mapping) else None
    status = answer.get("status") or {}
    status_handler = str(status.get("runtimeHandler") or "") or None
    if not isinstance(info, Mapping):
        return VerboseInfo(
            "none",
            runtime_handler=status_handler,
            handler_source="cri:status.runtimeHandler" if status_handler else None,
        )
    spec = info.get("runtimeSpec") or {}
    linux = spec.get("linux") or {} if isinstance(spec, Mapping) else {}
    annotations = {str(k): str(v) for k, v in (spec.get("annotations") or {}).items()}
    said_pid = info.get("pid")
    pid = said_pid if isinstance(said_pid, int) and said_pid > 0 else None
    sandbox_id = str(info.get("sandboxID") or annotations.get(CRIO_SANDBOX_ID) or "") or None
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
            cgroups_path=linux.get("cgroupsPath") or None,
            resources=dict(linux.get("resources") or {}),
            annotations=annotations,
            handler_source=source,
        )
    if handler is None and info.get("runtimeHandler") is not None:
        handler = str(info.get("runtimeHandler"))
        source = "cri:info.runtimeHandler"
    config = info.get("config") or {}
    security = ((config.get("linux") or {}).get("securityContext")) or {}
    privileged = security.get("privileged")
    return VerboseInfo(
        "containerd",
        pid=pid,
        sandbox_id=sandbox_id,
        runtime_handler=handler,
        runtime_type=str(info.get("runtimeType") or "") or None,
        runtime_options=dict(info.get("runtimeOptions") or {}),
        snapshotter=str(info.get("snapshotter") or "") or None,
        privileged=privileged if isinstance(privileged, bool) else None,
        cgroups_path=linux.get("cgroupsPath") or None,
        resources=dict(linux.get("resources") or {}),
        annotations=annotations,
        handler_source=source,
    )
