"""Pure converters: Kubernetes API JSON (the shape of ``kubectl get -o json``) -> frozen models.

Nothing here does I/O. ``pod_from_json`` also accepts a manifest's pod (no ``status``): its
QoS class is then computed from the spec the way Kubernetes computes it.

Malformed input (a quantity Kubernetes would reject, a container without a name, a
``hostPort`` that is not a number, a field of the wrong JSON type) raises
``ProbeFailed(ErrorKind.MALFORMED, source, detail)`` so the caller can record it; no other
exception leaves these functions (``shape.total``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.model import (
    ContainerSpec,
    KubeNode,
    Pod,
    QoS,
    ResourceList,
    Volume,
    VolumeMount,
)
from inspect8s.shape import (
    integer,
    items,
    obj,
    objects,
    required_items,
    required_obj,
    string_map,
    total,
)

# --------------------------------------------------------------------------- quantities

# The quantity grammar of k8s.io/apimachinery/pkg/api/resource (quantity.go):
#   <quantity> ::= <signedNumber><suffix>
#   <suffix>   ::= <binarySI> | <decimalExponent> | <decimalSI>
#   <binarySI> ::= Ki | Mi | Gi | Ti | Pi | Ei
#   <decimalSI> ::= n | u | m | "" | k | M | G | T | P | E
#   <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
_QUANTITY_RE = re.compile(
    r"^(?P<num>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|n|u|m|k|M|G|T|P|E|)$"
)

_SUFFIX_MULTIPLIERS: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def parse_quantity(text: str | int | float) -> Decimal:
    """Parse a Kubernetes quantity ("100m", "0.5", "128Mi", "1G", "1e3") exactly.

    Raises ValueError for anything the API server's parser would reject. JSON numbers
    (a manifest may say ``cpu: 2``) are accepted too.
    """
    if isinstance(text, bool):
        raise ValueError(f"not a quantity: {text!r}")
    if isinstance(text, int | float):
        text = repr(text) if isinstance(text, float) else str(text)
    match = _QUANTITY_RE.match(text.strip())
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    suffix = match.group("suffix")
    try:
        number = Decimal(match.group("num"))
        if suffix[:1] in ("e", "E"):
            return number.scaleb(int(suffix[1:]))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid numbers
        raise ValueError(f"not a Kubernetes quantity: {text!r}") from exc
    return number * _SUFFIX_MULTIPLIERS[suffix]


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def cpu_millicores(text: str | int | float) -> int:
    """A CPU quantity in millicores, rounded up like ``Quantity.MilliValue()`` ("1.5" -> 1500)."""
    return _ceil(parse_quantity(text) * 1000)


def quantity_bytes(text: str | int | float) -> int:
    """A memory/storage quantity in bytes, rounded up like ``Quantity.Value()`` ("1Ki" -> 1024)."""
    return _ceil(parse_quantity(text))


def resource_list_from_json(data: Mapping[str, Any] | None, *, source: str = "api") -> ResourceList:
    """``resources.requests`` or ``resources.limits`` -> ResourceList (unset keys stay None)."""
    if not data:
        return ResourceList()
    if not isinstance(data, Mapping):
        raise ProbeFailed(ErrorKind.MALFORMED, source, "resources are not an object")
    try:
        cpu = data.get("cpu")
        memory = data.get("memory")
        storage = data.get("ephemeral-storage")
        return ResourceList(
            cpu_millicores=None if cpu is None else cpu_millicores(cpu),
            memory_bytes=None if memory is None else quantity_bytes(memory),
            ephemeral_storage_bytes=None if storage is None else quantity_bytes(storage),
        )
    except ValueError as exc:
        raise ProbeFailed(ErrorKind.MALFORMED, source, str(exc)) from exc


# --------------------------------------------------------------------------- QoS

_QOS_RESOURCES = ("cpu", "memory")


def compute_qos(spec: Mapping[str, Any]) -> QoS:
    """The QoS class Kubernetes gives a pod with this spec.

    Follows ``GetPodQOS`` in kubernetes pkg/apis/core/v1/helper/qos/qos.go (1.26): only
    cpu and memory count; requests and limits are summed over init and regular containers;
    no positive request or limit at all -> BestEffort; every container limiting both cpu and
    memory with summed requests equal to summed limits -> Guaranteed; else Burstable.
    A manifest has not been through API defaulting, so a missing request defaults to the
    limit first (SetDefaults_Container in pkg/apis/core/v1/defaults.go), as the API server
    would do before computing ``status.qosClass``. Raises ValueError for a quantity that
    is not one (``pod_from_json`` reports it as malformed).
    """
    spec = obj(spec)
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    containers = [*objects(spec.get("initContainers")), *objects(spec.get("containers"))]
    for container in containers:
        resources = obj(container.get("resources"))
        raw_limits = dict(obj(resources.get("limits")))
        raw_requests = dict(obj(resources.get("requests")))
        for name, value in raw_limits.items():
            raw_requests.setdefault(name, value)
        for name in _QOS_RESOURCES:
            if name in raw_requests:
                quantity = parse_quantity(raw_requests[name])
                if quantity > 0:
                    requests[name] = requests.get(name, Decimal(0)) + quantity
        seen_limits = set()
        for name in _QOS_RESOURCES:
            if name in raw_limits:
                quantity = parse_quantity(raw_limits[name])
                if quantity > 0:
                    seen_limits.add(name)
                    limits[name] = limits.get(name, Decimal(0)) + quantity
        if seen_limits != set(_QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return QoS.BESTEFFORT
    if (
        guaranteed
        and len(requests) == len(limits)
        and all(name in limits and limits[name] == value for name, value in requests.items())
    ):
        return QoS.GUARANTEED
    return QoS.BURSTABLE


# --------------------------------------------------------------------------- pods


def _effective(container_sc: Mapping[str, Any], pod_sc: Mapping[str, Any], key: str) -> Any:
    # A field set in the container's securityContext wins over the pod's (core/v1 API docs:
    # "If set in both SecurityContext and PodSecurityContext, the value specified in
    # SecurityContext takes precedence").
    if key in container_sc and container_sc[key] is not None:
        return container_sc[key]
    return pod_sc.get(key)


def _seccomp_type(sc: Mapping[str, Any] | None) -> str | None:
    if not sc:
        return None
    profile = obj(sc.get("seccompProfile"))
    if not profile:
        return None
    value = profile.get("type")
    return str(value) if value is not None else None


def _status_by_name(statuses: Iterable[Mapping[str, Any]] | None) -> dict[str, Mapping[str, Any]]:
    return {str(s.get("name")): s for s in objects(statuses) if s.get("name") is not None}


def _state_of(status: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    if not status:
        return None, None
    state = obj(status.get("state"))
    for name in ("running", "waiting", "terminated"):
        if name in state and state[name] is not None:
            reason = obj(state[name]).get("reason")
            return name, str(reason) if reason is not None else None
    return None, None


@total("api")
def container_from_json(
    data: Mapping[str, Any],
    status: Mapping[str, Any] | None = None,
    *,
    pod_security_context: Mapping[str, Any] | None = None,
    init: bool = False,
    source: str = "api",
) -> ContainerSpec:
    """One entry of ``spec.containers`` / ``spec.initContainers`` plus its container status.

    Security fields are the effective ones: the container's securityContext, else the pod's
    (privileged and capabilities exist only per container).
    """
    data = obj(data)
    name = data.get("name")
    if not name or not isinstance(name, str):
        raise ProbeFailed(ErrorKind.MALFORMED, source, "a container has no name")
    container_source = f"{source} container {name!r}"
    sc = required_obj(data.get("securityContext"), "securityContext", container_source)
    pod_sc: Mapping[str, Any] = obj(pod_security_context)
    capabilities = required_obj(sc.get("capabilities"), "capabilities", container_source)
    resources = required_obj(data.get("resources"), "resources", container_source)
    status = obj(status)
    seccomp = _seccomp_type(sc) or _seccomp_type(pod_sc)
    run_as_non_root = _effective(sc, pod_sc, "runAsNonRoot")
    allow_escalation = sc.get("allowPrivilegeEscalation")
    read_only_root = sc.get("readOnlyRootFilesystem")
    run_as_user = _effective(sc, pod_sc, "runAsUser")
    windows = _effective(sc, pod_sc, "windowsOptions") or {}
    pull_policy = data.get("imagePullPolicy")
    proc_mount = sc.get("procMount")
    state, state_reason = _state_of(status)
    last_terminated = obj(obj(status.get("lastState")).get("terminated"))
    last_reason = last_terminated.get("reason")
    container_id = status.get("containerID") or None
    ready = status.get("ready")
    return ContainerSpec(
        name=str(name),
        image=str(data.get("image") or ""),
        requests=resource_list_from_json(resources.get("requests"), source=container_source),
        limits=resource_list_from_json(resources.get("limits"), source=container_source),
        privileged=bool(sc.get("privileged") or False),
        allow_privilege_escalation=None if allow_escalation is None else bool(allow_escalation),
        capabilities_add=tuple(str(c) for c in items(capabilities.get("add"))),
        capabilities_drop=tuple(str(c) for c in items(capabilities.get("drop"))),
        run_as_non_root=None if run_as_non_root is None else bool(run_as_non_root),
        read_only_root_filesystem=None if read_only_root is None else bool(read_only_root),
        seccomp_profile=seccomp,
        host_ports=_host_ports(data.get("ports"), container_source),
        volume_mounts=tuple(
            VolumeMount(
                name=str(m.get("name") or ""),
                mount_path=str(m.get("mountPath") or ""),
                read_only=bool(m.get("readOnly") or False),
            )
            for m in required_items(data.get("volumeMounts"), "volumeMounts", container_source)
        ),
        init=init,
        run_as_user=None if run_as_user is None else int(run_as_user),
        image_pull_policy=str(pull_policy) if pull_policy else None,
        proc_mount=str(proc_mount) if proc_mount else None,
        host_process=bool(windows.get("hostProcess") or False),
        container_id=str(container_id) if container_id else None,
        restart_count=integer(status.get("restartCount")) or 0,
        last_termination_reason=str(last_reason) if last_reason is not None else None,
        ready=None if ready is None else bool(ready),
        state=state,
        state_reason=state_reason,
    )


def _host_ports(ports: Any, source: str) -> tuple[int, ...]:
    """The ``hostPort`` of each entry of ``ports``; one that is not a port number is
    malformed (the API server rejects it: core/v1 ContainerPort.hostPort is an int32)."""
    found: list[int] = []
    for port in required_items(ports, "ports", source):
        value = port.get("hostPort")
        if value is None:
            continue
        number = integer(value)
        if number is None or not 0 <= number <= 65535:
            raise ProbeFailed(ErrorKind.MALFORMED, source, f"hostPort {value!r} is not a port")
        found.append(number)
    return tuple(found)


def volume_from_json(data: Mapping[str, Any]) -> Volume:
    """One entry of ``spec.volumes``; ``kind`` is its source key (hostPath, emptyDir, ...)."""
    data = obj(data)
    kind = next((str(k) for k in data if k != "name"), "other")
    host_path = obj(data.get("hostPath")) or None
    return Volume(
        name=str(data.get("name") or ""),
        host_path=str(host_path.get("path")) if host_path else None,
        host_path_type=(str(host_path["type"]) if host_path and host_path.get("type") else None),
        kind=kind,
    )


def _owner(metadata: Mapping[str, Any]) -> str | None:
    refs = objects(metadata.get("ownerReferences"))
    if not refs:
        return None
    controller = next((r for r in refs if r.get("controller")), refs[0])
    return f"{controller.get('kind')}/{controller.get('name')}"


@total("api")
def pod_from_json(
    data: Mapping[str, Any], *, source: str = "api", default_namespace: str = "default"
) -> Pod:
    """A Pod object (API answer or manifest) -> Pod.

    ``qos`` is ``status.qosClass`` when the API reported one, else computed from the spec
    (:func:`compute_qos`). Container statuses are joined to containers by name, so
    ``container_id`` keeps its runtime scheme ("containerd://", "cri-o://", "docker://").
    """
    data = obj(data)
    metadata: Mapping[str, Any] = obj(data.get("metadata"))
    spec: Mapping[str, Any] = obj(data.get("spec"))
    status: Mapping[str, Any] = obj(data.get("status"))
    name = metadata.get("name") or metadata.get("generateName")
    if not name or not isinstance(name, str):
        raise ProbeFailed(ErrorKind.MALFORMED, source, "a pod has no metadata.name")
    namespace = str(metadata.get("namespace") or default_namespace)
    pod_source = f"{source} pod {namespace}/{name}"
    pod_sc = required_obj(spec.get("securityContext"), "spec.securityContext", pod_source)
    statuses = _status_by_name(status.get("containerStatuses"))
    init_statuses = _status_by_name(status.get("initContainerStatuses"))
    containers = [
        container_from_json(
            c,
            init_statuses.get(str(c.get("name"))),
            pod_security_context=pod_sc,
            init=True,
            source=pod_source,
        )
        for c in required_items(spec.get("initContainers"), "spec.initContainers", pod_source)
    ]
    containers += [
        container_from_json(
            c, statuses.get(str(c.get("name"))), pod_security_context=pod_sc, source=pod_source
        )
        for c in required_items(spec.get("containers"), "spec.containers", pod_source)
    ]
    qos_class = status.get("qosClass")
    try:
        qos = QoS(qos_class) if qos_class else compute_qos(spec)
    except ValueError as exc:
        raise ProbeFailed(ErrorKind.MALFORMED, pod_source, str(exc)) from exc
    uid = metadata.get("uid")
    node_name = spec.get("nodeName")
    phase = status.get("phase")
    runtime_class = spec.get("runtimeClassName")
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    automount = spec.get("automountServiceAccountToken")
    return Pod(
        name=str(name),
        namespace=namespace,
        uid=str(uid) if uid else None,
        node_name=str(node_name) if node_name else None,
        phase=str(phase) if phase else None,
        qos=qos,
        containers=tuple(containers),
        host_network=bool(spec.get("hostNetwork") or False),
        host_pid=bool(spec.get("hostPID") or False),
        host_ipc=bool(spec.get("hostIPC") or False),
        share_process_namespace=bool(spec.get("shareProcessNamespace") or False),
        seccomp_profile=_seccomp_type(pod_sc),
        volumes=tuple(
            volume_from_json(v)
            for v in required_items(spec.get("volumes"), "spec.volumes", pod_source)
        ),
        annotations=string_map(metadata.get("annotations")),
        labels=string_map(metadata.get("labels")),
        runtime_class=str(runtime_class) if runtime_class else None,
        owner=_owner(metadata),
        source=source,
        service_account=str(account) if account else None,
        automount_service_account_token=None if automount is None else bool(automount),
    )


@total("api")
def pods_from_list(data: Mapping[str, Any], *, source: str = "api") -> list[Pod]:
    """A PodList / List answer -> its pods (items of other kinds are skipped)."""
    return [
        pod_from_json(item, source=source)
        for item in objects(obj(data).get("items"))
        if item.get("kind", "Pod") == "Pod"
    ]


# --------------------------------------------------------------------------- nodes


@total("api node")
def node_from_json(data: Mapping[str, Any]) -> KubeNode:
    """A Node object -> KubeNode (versions from ``status.nodeInfo``, taints, addresses)."""
    data = obj(data)
    metadata: Mapping[str, Any] = obj(data.get("metadata"))
    spec: Mapping[str, Any] = obj(data.get("spec"))
    status: Mapping[str, Any] = obj(data.get("status"))
    info: Mapping[str, Any] = obj(status.get("nodeInfo"))
    name = metadata.get("name")
    if not name or not isinstance(name, str):
        raise ProbeFailed(ErrorKind.MALFORMED, "api node", "a node has no metadata.name")

    def text(key: str) -> str | None:
        value = info.get(key)
        return str(value) if value else None

    return KubeNode(
        name=str(name),
        kubelet_version=text("kubeletVersion"),
        container_runtime_version=text("containerRuntimeVersion"),
        os_image=text("osImage"),
        kernel_version=text("kernelVersion"),
        annotations=string_map(metadata.get("annotations")),
        labels=string_map(metadata.get("labels")),
        taints=tuple(
            {str(k): str(v) for k, v in taint.items() if v is not None}
            for taint in objects(spec.get("taints"))
        ),
        addresses=tuple(
            (str(a.get("type") or ""), str(a.get("address") or ""))
            for a in objects(status.get("addresses"))
        ),
    )


def container_runtime_of(container_id: str | None) -> tuple[str | None, str | None]:
    """Split an API ``containerID`` into (scheme, id): "containerd://abc" -> ("containerd", "abc").

    (None, None) for a container that has not started.
    """
    if not container_id:
        return None, None
    scheme, sep, ident = container_id.partition("://")
    if not sep:
        return None, container_id
    return scheme, ident
