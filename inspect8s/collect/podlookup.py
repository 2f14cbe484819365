"""Which pod a container belongs to, and the pods on a node, by identity.

A pod is its UID (the kubelet's labels and the cgroup path carry it); a namespace/name pair
is only a name, which two runtimes, or one runtime while a StatefulSet pod is replaced, can
hold twice (docs/architecture.md, "Identity, never names").
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from inspect8s.collect.node import NodeCollection
from inspect8s.errors import NotFoundError, UsageError
from inspect8s.model import Container, NodeReport


def pod_key(c: Container) -> tuple[str, ...]:
    """A pod's identity: its UID; without one (no label, no pod cgroup), its namespace and
    name within the daemon that runs it."""
    if c.pod_uid:
        return ("uid", c.pod_uid)
    return ("name", c.pod_namespace or "", c.pod_name or "", str(c.runtime_pid or ""))


def pods_on_node(report: NodeReport) -> dict[tuple[str, ...], list[Container]]:
    """Every pod on the node by identity (:func:`pod_key`), with its containers."""
    pods: dict[tuple[str, ...], list[Container]] = {}
    for c in report.containers:
        if c.pod_name or c.pod_uid:
            pods.setdefault(pod_key(c), []).append(c)
    return pods


def pod_label(report: NodeReport, members: Sequence[Container]) -> str:
    """ "NS/NAME (UID u, runtime PID p)": how a pod is named in messages."""
    first = next((c for c in members if c.pod_name), members[0])
    daemon = next((d for d in report.runtimes if d.pid and d.pid == first.runtime_pid), None)
    runtime = f"{daemon.name} PID {daemon.pid}" if daemon else first.runtime
    uid = first.pod_uid or "no UID"
    return f"{first.pod_namespace or '?'}/{first.pod_name or '?'} (UID {uid}, {runtime})"


def find_pod(
    report: NodeReport, name: str, namespace: str | None, *, uid: str | None = None
) -> list[Container]:
    """The containers (sandbox included) of pod ``name``; errors list close matches.

    With ``uid`` (known from the API) the pod is the one with that UID, whatever its name
    says (its cgroup path or labels carry it, so this works with no runtime answering).
    Without it, a name held by several pods (two runtimes, or a StatefulSet pod being
    replaced) means the one in the kubelet's runtime when exactly one is there; otherwise
    every candidate is listed with its UID and runtime, and none is guessed.
    """
    pods = pods_on_node(report)
    if uid:
        found = pods.get(("uid", uid))
        if found:
            return found
        where = f"{namespace}/{name}" if namespace else name
        raise NotFoundError(f"no container of pod {where} (UID {uid}) runs on this node")
    matches = [
        members
        for members in pods.values()
        if any(c.pod_name == name for c in members)
        and (namespace is None or any(c.pod_namespace == namespace for c in members))
    ]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        namespaces = {next((c.pod_namespace for c in m if c.pod_namespace), "") for m in matches}
        kubelet = report.kubelet_runtime
        if len(namespaces) == 1 and kubelet is not None and kubelet.daemon_pid is not None:
            mine = [m for m in matches if any(c.runtime_pid == kubelet.daemon_pid for c in m)]
            if len(mine) == 1:
                return mine[0]
        listed = "; ".join(sorted(pod_label(report, m) for m in matches))
        if len(namespaces) > 1 and namespace is None:
            raise UsageError(
                f"pod {name!r} exists in several namespaces: {listed}; name the namespace",
                param="namespace",
            )
        raise UsageError(
            f"{len(matches)} pods are named {name!r} here: {listed}; "
            "name the pod's UID to pick one",
            param="uid",
        )
    names = sorted(
        {f"{m[0].pod_namespace or ''}/{m[0].pod_name}" for m in pods.values() if m[0].pod_name}
    )
    close = difflib.get_close_matches(
        name if namespace is None else f"{namespace}/{name}",
        names if namespace is not None else [n.split("/", 1)[1] for n in names],
        n=5,
        cutoff=0.5,
    )
    where = f" in namespace {namespace!r}" if namespace else ""
    hint = f"; did you mean: {', '.join(close)}" if close else ""
    if not pods:
        hint = "; no pod containers were found on this node (is a runtime reachable?)"
    raise NotFoundError(f"no pod {name!r}{where} on this node{hint}")


def same_name_notes(report: NodeReport, members: Sequence[Container]) -> tuple[str, ...]:
    """Other pods on the node with the same namespace/name as the pod of ``members``."""
    first = next((c for c in members if c.pod_name), None)
    if first is None:
        return ()
    key = pod_key(first)
    others = [
        m
        for k, m in pods_on_node(report).items()
        if k != key
        and any(c.pod_name == first.pod_name and c.pod_namespace == first.pod_namespace for c in m)
    ]
    return tuple(
        f"another pod has this namespace/name: {pod_label(report, m)}"
        for m in sorted(others, key=lambda m: pod_key(m[0]))
    )


def pod_containers(collection: NodeCollection, c: Container) -> list[Container]:
    """All containers of ``c``'s pod (``[c]`` when it belongs to no pod): by pod UID, and
    only by namespace/name within the same runtime when no UID is known."""
    if c.pod_uid is None and c.pod_name is None:
        return [c]
    return [
        x
        for x in collection.report.containers
        if (c.pod_uid and x.pod_uid == c.pod_uid)
        or (
            not c.pod_uid
            and x.pod_name == c.pod_name
            and x.pod_namespace == c.pod_namespace
            and x.runtime_pid == c.runtime_pid
        )
    ]
