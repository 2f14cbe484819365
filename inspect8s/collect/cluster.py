"""Audits that use the Kubernetes API: a node joined with its pods' specs, and the cluster.

    node audit + API      join_node(snapshot, api, machine) / load_pod_list(file) -> Snapshot.pods
    this machine's Node   read_machine(fs), node_is_machine(node, machine): boot ID, else name
    --cluster             collect_cluster(api) -> Snapshot(pods, kube_nodes, runtime_classes)
    --cluster --agents    run_node_audits(api, nodes, parallel=N) -> NodeAudit per node
                          merge_node_audits(result, audits) -> one AuditResult

API failures that leave part of the picture missing are recorded as ProbeErrors (an agent
that fails on one node is one error naming the node; the other nodes still count); only a
cluster that cannot be listed at all raises.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from inspect8s.audit.results import (
    AuditResult,
    CheckInfo,
    Finding,
    LeftOut,
    Location,
    Outcome,
    Scope,
    Severity,
    Status,
)
from inspect8s.errors import ErrorKind, ProbeError, ProbeFailed, UsageError
from inspect8s.model import KubeletVersion, KubeNode, Pod, RuntimeClass, Snapshot
from inspect8s.model.frozen import frozen

if TYPE_CHECKING:
    from inspect8s.host.fs import HostFS
    from inspect8s.kube.live import KubeAPI

DEFAULT_PARALLEL = 4
RUNTIME_CLASSES_PATH = "/apis/node.k8s.io/v1/runtimeclasses"


# --------------------------------------------------------------------------- pods


def pods_from_items(
    items: Iterable[Mapping[str, Any]], source: str
) -> tuple[tuple[Pod, ...], list[ProbeError]]:
    """Pod objects -> Pods; a malformed pod is a ProbeError, the others are kept."""
    from inspect8s.kube.convert import pod_from_json

    pods: list[Pod] = []
    errors: list[ProbeError] = []
    for item in items:
        if item.get("kind", "Pod") != "Pod":
            continue
        try:
            pods.append(pod_from_json(item, source=source))
        except ProbeFailed as exc:
            errors.append(exc.record())
    return tuple(pods), errors


def load_pod_list(path: str) -> tuple[tuple[Pod, ...], list[ProbeError]]:
    """A ``kubectl get pods -o json`` file (a List of pods or one Pod) -> Pods.

    Raises UsageError when the file cannot be read or is not a Pod / List of pods.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"pod list {path}: {getattr(exc, 'strerror', None) or exc}", param="pods_file"
        ) from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(
            f"pod list {path}: not JSON ({exc}); use kubectl get pods -o json", param="pods_file"
        ) from exc
    if isinstance(data, dict) and data.get("kind") == "Pod":
        items: list[Any] = [data]
    elif isinstance(data, dict) and isinstance(data.get("items"), list):
        items = [i for i in data["items"] if isinstance(i, dict)]
    else:
        raise UsageError(
            f"pod list {path}: expected a Pod or a List of pods (kubectl -o json)",
            param="pods_file",
        )
    return pods_from_items(items, f"file:{path}")


def pods_of_node(
    api: KubeAPI,
    node_name: str,
    *,
    namespace: str | None = None,
    label_selector: str | None = None,
) -> tuple[tuple[Pod, ...], list[ProbeError]]:
    """The pods the API schedules on ``node_name`` (``fieldSelector=spec.nodeName``), in
    ``namespace`` (None: all) and matching ``label_selector`` (None: all)."""
    items = api.list_pods(namespace, node_name=node_name, label_selector=label_selector)
    return pods_from_items(items, "api")


@frozen
class Machine:
    """What tells this machine apart from every other Node: its boot ID and host name."""

    boot_id: str | None  # /proc/sys/kernel/random/boot_id; None: unreadable (a bundle, a tree)
    hostname: str | None  # /proc/sys/kernel/hostname, else /etc/hostname; None: unreadable


def read_machine(fs: HostFS) -> Machine:
    """The boot ID and host name of the machine under ``fs`` (None for each unreadable)."""

    def first(*paths: str) -> str | None:
        for path in paths:
            try:
                text = (fs.read_text_or_none(path) or "").strip()
            except ProbeFailed:
                continue
            if text:
                return text
        return None

    return Machine(
        boot_id=first("/proc/sys/kernel/random/boot_id"),
        hostname=first("/proc/sys/kernel/hostname", "/etc/hostname"),
    )


def node_is_machine(node: Mapping[str, Any], machine: Machine) -> bool:
    """Whether the Node object ``node`` (raw JSON) is ``machine``.

    The kubelet reports ``status.nodeInfo.bootID`` from /proc/sys/kernel/random/boot_id,
    unique per boot: when both boot IDs are known they decide, whatever the Node is called
    (``--hostname-override``). Otherwise the Node's name is compared with the host name.
    """
    boot_id = ((node.get("status") or {}).get("nodeInfo") or {}).get("bootID")
    if boot_id and machine.boot_id:
        return bool(boot_id == machine.boot_id)
    return (node.get("metadata") or {}).get("name") == machine.hostname


def this_node_name(api: KubeAPI, machine: Machine) -> str | None:
    """The name of the Node that is ``machine`` (a boot ID match first, then a name match).

    None when no Node matches; the host name when Nodes cannot be listed (no RBAC).
    """
    from inspect8s.kube.live import KubeAPIError

    try:
        nodes = list(api.list_nodes())
    except KubeAPIError:
        return machine.hostname
    matches = [n for n in nodes if node_is_machine(n, machine)]
    by_boot = [n for n in matches if ((n.get("status") or {}).get("nodeInfo") or {}).get("bootID")]
    for node in by_boot or matches:
        return str(node["metadata"]["name"])
    return None


def node_here(
    api: KubeAPI, node_name: str, machine: Machine
) -> tuple[bool, Mapping[str, Any] | None]:
    """Whether the Node ``node_name`` is ``machine``, and the Node object (None: it could
    not be read; then the name alone decides)."""
    from inspect8s.kube.live import KubeAPIError

    try:
        node = api.get_node(node_name)
    except KubeAPIError:
        return node_name == machine.hostname, None
    return node_is_machine(node, machine), node


def kubelet_version_of(node: Mapping[str, Any]) -> KubeletVersion | None:
    """The kubelet's version as its Node object reports it (None: not reported)."""
    said = ((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion")
    name = (node.get("metadata") or {}).get("name")
    if isinstance(said, str) and said:
        return KubeletVersion(said, f"api:node/{name}")
    return None


def join_node(
    snapshot: Snapshot,
    api: KubeAPI,
    *,
    machine: Machine,
    node_name: str | None = None,
    namespace: str | None = None,
    selector: str | None = None,
) -> Snapshot:
    """The node snapshot with its pods, its Node object, the RuntimeClasses and the
    kubelet's /configz from the API.

    ``node_name`` is the Node's name (None: the Node that is ``machine``); its pods are those
    in ``namespace`` (None: all) whose labels match ``selector`` (None: all). API failures
    are ProbeErrors in the snapshot, so the host checks still run; raises UsageError when
    no Node is this machine.
    """
    from inspect8s.kube.configz import read_kubelet_configz
    from inspect8s.kube.convert import node_from_json
    from inspect8s.kube.live import KubeAPIError

    errors: list[ProbeError] = list(snapshot.errors)
    try:
        name = node_name or this_node_name(api, machine)
        if name is None:
            raise UsageError(
                "no Node in the API has this machine's bootID or host name; name the Node",
                param="node_name",
            )
        pods, pod_errors = pods_of_node(api, name, namespace=namespace, label_selector=selector)
        errors += pod_errors
        kube_nodes = snapshot.kube_nodes
        try:
            kube_nodes = (node_from_json(api.get_node(name)),)
        except KubeAPIError as exc:
            errors.append(exc.probe_failed().record())
        classes = snapshot.runtime_classes
        if classes is None:
            classes = list_runtime_classes(api, errors)
        configz = read_kubelet_configz(api, name, errors)
    except KubeAPIError as exc:
        errors.append(exc.probe_failed().record())
        return dataclasses.replace(snapshot, errors=tuple(errors))
    return dataclasses.replace(
        snapshot,
        pods=pods,
        kube_nodes=kube_nodes,
        runtime_classes=classes,
        kubelet_configz=configz,
        errors=tuple(errors),
    )


# --------------------------------------------------------------------------- cluster


def runtime_classes_from_items(items: Iterable[Mapping[str, Any]]) -> tuple[RuntimeClass, ...]:
    out = []
    for item in items:
        name = (item.get("metadata") or {}).get("name")
        handler = item.get("handler")
        if name and handler:
            out.append(RuntimeClass(name=str(name), handler=str(handler)))
    return tuple(sorted(out, key=lambda r: r.name))


def list_runtime_classes(api: KubeAPI, errors: list[ProbeError]) -> tuple[RuntimeClass, ...] | None:
    """RuntimeClasses (node.k8s.io/v1); None when the API has none to offer (404) or
    refuses (recorded in ``errors``)."""
    from inspect8s.kube.live import KubeAPIError

    try:
        items = [
            item
            for page in api.list_pages(RUNTIME_CLASSES_PATH)
            for item in page.get("items") or ()
        ]
    except KubeAPIError as exc:
        if exc.status != 404:
            errors.append(exc.probe_failed().record())
        return None
    return runtime_classes_from_items(items)


T = TypeVar("T")


def _counted(
    items: Iterable[T], what: str, on_progress: Callable[[str, int, int | None], None] | None
) -> Iterator[T]:
    """``items`` as they come, telling ``on_progress`` how many have come so far."""
    for n, item in enumerate(items, 1):
        if on_progress is not None:
            on_progress(what, n, None)
        yield item


def collect_cluster(
    api: KubeAPI,
    *,
    page_size: int = 500,
    namespace: str | None = None,
    label_selector: str | None = None,
    on_progress: Callable[[str, int, int | None], None] | None = None,
    versions_files: Sequence[str] = (),
) -> Snapshot:
    """Every pod (in ``namespace``, None: all; matching ``label_selector``) and node
    (paginated), the RuntimeClasses, and for the API version checks the objects, Helm
    releases and served versions (collect/apiobjects.py), as one Snapshot.

    Raises KubeAPIError when pods cannot be listed (nothing to audit); a node list or
    RuntimeClass list that fails is recorded and the rest is audited. ``on_progress`` is
    told the pods and nodes listed so far.
    """
    from inspect8s.audit.apitable import load_table
    from inspect8s.collect.apiobjects import collect_api_objects
    from inspect8s.kube.convert import node_from_json
    from inspect8s.kube.live import KubeAPIError

    pages = api.list_pods(namespace, label_selector=label_selector, page_size=page_size)
    listed = _counted(pages, "pods listed", on_progress)
    pods, errors = pods_from_items(listed, "api")
    nodes: list[KubeNode] = []
    try:
        for raw in _counted(api.list_nodes(page_size=page_size), "nodes listed", on_progress):
            try:
                nodes.append(node_from_json(raw))
            except ProbeFailed as exc:
                errors.append(exc.record())
    except KubeAPIError as exc:
        errors.append(exc.probe_failed().record())
    classes = list_runtime_classes(api, errors)
    found = collect_api_objects(api, load_table(tuple(versions_files)), page_size=page_size)
    return Snapshot(
        pods=pods,
        kube_nodes=tuple(sorted(nodes, key=lambda n: n.name)),
        runtime_classes=classes,
        errors=(*errors, *found.errors),
        objects=found.objects,
        unread_sources=found.unread,
        api_server=found.server,
    )


# --------------------------------------------------------------------------- agents


@frozen
class NodeAudit:
    """What the agent on one node returned: its audit result, or why there is none."""

    node: str
    result: AuditResult | None  # None: the agent failed (see error)
    error: ProbeError | None
    started: float  # time.monotonic() at start and end, for progress and tests
    ended: float


def _location(data: Mapping[str, Any] | None) -> Location | None:
    if not data:
        return None
    return Location(str(data.get("file")), data.get("documentIndex"), data.get("line"))


def result_from_json(doc: Mapping[str, Any]) -> AuditResult:
    """An ``inspect8s audit -o json`` document (render/json.py) -> AuditResult.

    Passed and failed outcomes come back as counts only in that format, so they are rebuilt
    from the findings: a failed outcome per (check, subject) with findings; passes are
    counted in the summary and not restored. Raises ProbeFailed(MALFORMED) on another shape.
    """
    if doc.get("kind") != "AuditResult":
        raise ProbeFailed(
            ErrorKind.MALFORMED, "agent", f"expected an AuditResult, got {doc.get('kind')!r}"
        )
    try:
        checks = tuple(
            CheckInfo(
                id=str(c["id"]),
                title=str(c["title"]),
                severity=Severity(c["severity"]),
                scope=Scope(c["scope"]),
                rationale=str(c.get("rationale") or ""),
                origin=str(c.get("origin") or ""),
                properties={str(k): str(v) for k, v in (c.get("properties") or {}).items()},
            )
            for c in doc.get("checks") or ()
        )
        findings = tuple(
            Finding(
                check_id=str(f["checkId"]),
                title=str(f["title"]),
                severity=Severity(f["severity"]),
                subject=str(f["subject"]),
                message=str(f["message"]),
                location=_location(f.get("location")),
                suppressed=(f.get("suppressed") or {}).get("reason"),
            )
            for f in doc.get("findings") or ()
        )
        outcomes = [
            Outcome(
                str(o["checkId"]),
                str(o["subject"]),
                Status(o["status"]),
                o.get("reason"),
                _location(o.get("location")),
            )
            for o in doc.get("incomplete") or ()
        ]
        errors = tuple(
            ProbeError(ErrorKind(e["kind"]), str(e["source"]), str(e["detail"]))
            for e in doc.get("errors") or ()
        )
        subjects = int((doc.get("summary") or {}).get("subjects") or 0)
        left_out = tuple(
            LeftOut(str(x["subject"]), str(x["reason"])) for x in doc.get("leftOut") or ()
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise ProbeFailed(ErrorKind.MALFORMED, "agent", f"unexpected audit JSON: {exc}") from exc
    by_outcome: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        by_outcome.setdefault((finding.check_id, finding.subject), []).append(finding)
    for (check_id, subject), found in by_outcome.items():
        outcomes.append(Outcome(check_id, subject, Status.FAILED, None, None, tuple(found)))
    return AuditResult(
        target=str(doc.get("target") or "node"),
        inputs=tuple(str(i) for i in doc.get("inputs") or ()),
        checks=checks,
        outcomes=tuple(outcomes),
        findings=findings,
        errors=errors,
        subjects=subjects,
        left_out=left_out,
    )


def _rename_node(subject: str, node: str) -> str:
    """``node/<host name>[/...]`` from an agent -> ``node/<Node name>[/...]``."""
    if not subject.startswith("node/"):
        return subject
    _, sep, tail = subject[5:].partition("/")
    return f"node/{node}{sep}{tail}"


def _agent_error(node: str, exc: BaseException) -> ProbeError:
    from inspect8s.kube.live import KubeAPIError

    if isinstance(exc, KubeAPIError):
        return ProbeError(exc.kind, f"agent:node/{node}", str(exc))
    if isinstance(exc, ProbeFailed):
        return ProbeError(exc.kind, f"agent:node/{node}", exc.detail)
    return ProbeError(ErrorKind.UNAVAILABLE, f"agent:node/{node}", f"{type(exc).__name__}: {exc}")


def run_node_audits(
    api: KubeAPI,
    nodes: Sequence[str],
    agent_args: Sequence[str],
    *,
    parallel: int = DEFAULT_PARALLEL,
    image: str | None = None,
    namespace: str = "default",
    timeout: float = 120.0,
    poll_interval: float = 0.5,
    on_done: Callable[[NodeAudit, int, int], None] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> list[NodeAudit]:
    """Run ``inspect8s audit <agent_args> --root /host -o json`` on every node through the
    agent pod (kube/agent.py), ``parallel`` nodes at a time; one NodeAudit per node, in the
    order of ``nodes``. A failing node gives a NodeAudit with ``error``; nothing raises
    except KeyboardInterrupt (nodes not started yet are then not started; running agents
    stop at their next poll and delete their pods, a create in flight included).
    """
    from inspect8s.kube.agent import DEFAULT_AGENT_IMAGE, run_agent

    if parallel < 1:
        raise UsageError("parallel must be at least 1", param="parallel")
    total = len(nodes)
    finished = 0
    lock = threading.Lock()
    cancel = threading.Event()  # Ctrl-C: running agents stop at their next poll

    def one(node: str) -> NodeAudit:
        nonlocal finished
        started = time.monotonic()
        if on_start is not None:
            with lock:
                on_start(node)
        try:
            run = run_agent(
                api,
                node,
                ["audit", *agent_args],
                image=image or DEFAULT_AGENT_IMAGE,
                namespace=namespace,
                timeout=timeout,
                poll_interval=poll_interval,
                cancel=cancel,
            )
            result: AuditResult | None = result_from_json(run.output)
            error = None
        except Exception as exc:  # one node's failure is that node's error, not the run's
            result, error = None, _agent_error(node, exc)
        audit = NodeAudit(node, result, error, started, time.monotonic())
        with lock:
            finished += 1
            if on_done is not None:
                on_done(audit, finished, total)
        return audit

    pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="inspect8s-agent")
    try:
        futures = [pool.submit(one, node) for node in nodes]
        return [f.result() for f in futures]
    except KeyboardInterrupt:
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


def merge_node_audits(base: AuditResult, audits: Sequence[NodeAudit]) -> AuditResult:
    """The cluster result with every node's findings, outcomes and errors added.

    Node-scope subjects from an agent are renamed to the Node's name; a failed agent is
    one ProbeError (``agent:node/<name>``).
    """
    checks = {c.id: c for c in base.checks}
    findings = list(base.findings)
    outcomes = list(base.outcomes)
    errors = list(base.errors)
    left_out = {x.subject: x for x in base.left_out}
    subjects = base.subjects
    for audit in audits:
        if audit.error is not None:
            errors.append(audit.error)
        if audit.result is None:
            continue
        result = audit.result
        for info in result.checks:
            checks.setdefault(info.id, info)
        renamed = [
            dataclasses.replace(f, subject=_rename_node(f.subject, audit.node))
            for f in result.findings
        ]
        findings.extend(renamed)
        for o in result.outcomes:
            outcomes.append(
                dataclasses.replace(
                    o,
                    subject=_rename_node(o.subject, audit.node),
                    findings=tuple(
                        dataclasses.replace(f, subject=_rename_node(f.subject, audit.node))
                        for f in o.findings
                    ),
                )
            )
        errors.extend(
            dataclasses.replace(e, source=f"node/{audit.node}: {e.source}") for e in result.errors
        )
        subjects += result.subjects
        for x in result.left_out:
            left_out.setdefault(x.subject, x)
    findings.sort(key=Finding.sort_key)
    outcomes.sort(key=lambda o: (o.check_id, o.subject, o.location.text() if o.location else ""))
    return dataclasses.replace(
        base,
        checks=tuple(sorted(checks.values(), key=lambda i: i.id)),
        findings=tuple(findings),
        outcomes=tuple(outcomes),
        errors=tuple(sorted(errors, key=lambda e: (e.source, e.detail))),
        subjects=subjects,
        left_out=tuple(left_out[s] for s in sorted(left_out)),
    )
