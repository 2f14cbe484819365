"""The API side of `inspect8s audit`: a node joined with its pods, and `--cluster [--agents]`."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from inspect8s.render.escape import escape

if TYPE_CHECKING:
    from inspect8s.audit.registry import Check, CheckSettings
    from inspect8s.audit.results import AuditResult
    from inspect8s.audit.runner import IgnoreRule
    from inspect8s.model import RuntimeClass, Snapshot

ClusterOpt = Annotated[
    bool,
    typer.Option(
        "--cluster",
        help="Audit the whole cluster through the API: every pod's spec and every Node.",
    ),
]
AgentsOpt = Annotated[
    bool,
    typer.Option(
        "--agents",
        help="With --cluster: also audit every node's host through a short-lived agent pod.",
    ),
]
ParallelOpt = Annotated[
    int, typer.Option("--parallel", min=1, help="Agent pods running at the same time.")
]
PodsFileOpt = Annotated[
    str | None,
    typer.Option(
        "--pods",
        help="Pod specs for the node audit from a `kubectl get pods -o json` file "
        "(instead of asking the API).",
    ),
]
NodeNameOpt = Annotated[
    str | None,
    typer.Option(
        "--node",
        help="This node's Node name in the API (default: the Node with this machine's bootID).",
    ),
]
CheckOptionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--check-option",
        help="KEY=VALUE for checks (e.g. throttle-ratio-max=0.1; see docs/checks.md).",
    ),
]
RuntimeClassOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--runtime-class",
        help="NAME=HANDLER: a RuntimeClass to check against this node's runtime "
        "(the agent gets them this way; with --kubeconfig they are listed).",
    ),
]


def parse_pairs(values: Sequence[str] | None, option: str) -> dict[str, str]:
    """``KEY=VALUE`` option values -> dict; UsageError (exit 2) on one without ``=``."""
    from inspect8s.errors import UsageError

    out: dict[str, str] = {}
    for value in values or ():
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} {value!r}: expected KEY=VALUE")
        out[key.strip()] = rest.strip()
    return out


def runtime_classes_option(values: Sequence[str] | None) -> tuple[RuntimeClass, ...] | None:
    from inspect8s.model import RuntimeClass

    pairs = parse_pairs(values, "--runtime-class")
    if not values:
        return None
    return tuple(RuntimeClass(name=k, handler=v) for k, v in sorted(pairs.items()))


def _local_text(root: str, path: str) -> str | None:
    from inspect8s.errors import ProbeFailed
    from inspect8s.host.fs import HostFS

    try:
        return HostFS(root).read_text(path).strip() or None
    except ProbeFailed:
        return None


def join_api(
    snapshot: Snapshot,
    *,
    root: str,
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    node_name: str | None,
) -> Snapshot:
    """The node snapshot with its pods, its Node object and the RuntimeClasses from the API.

    API failures are ProbeErrors in the snapshot: the host checks still run.
    """
    from inspect8s.collect import cluster as cluster
    from inspect8s.errors import ProbeError, UsageError
    from inspect8s.kube.convert import node_from_json
    from inspect8s.kube.live import KubeAPI, KubeAPIError

    errors: list[ProbeError] = list(snapshot.errors)
    try:
        with KubeAPI.from_config(kubeconfig=kubeconfig, context=context, timeout=timeout) as api:
            name = node_name or cluster.this_node_name(
                api,
                _local_text(root, "/proc/sys/kernel/random/boot_id"),
                snapshot.node.node.hostname if snapshot.node else None,
            )
            if name is None:
                raise UsageError(
                    "no Node in the API has this machine's bootID or host name; name it with --node"
                )
            pods, pod_errors = cluster.pods_of_node(api, name)
            errors += pod_errors
            kube_nodes = snapshot.kube_nodes
            try:
                kube_nodes = (node_from_json(api.get_node(name)),)
            except KubeAPIError as exc:
                errors.append(exc.probe_failed().record())
            classes = snapshot.runtime_classes
            if classes is None:
                classes = cluster.list_runtime_classes(api, errors)
    except KubeAPIError as exc:
        errors.append(exc.probe_failed().record())
        return dataclasses.replace(snapshot, errors=tuple(errors))
    return dataclasses.replace(
        snapshot,
        pods=pods,
        kube_nodes=kube_nodes,
        runtime_classes=classes,
        errors=tuple(errors),
    )


def audit_cluster(
    checks: Sequence[Check],
    *,
    settings: CheckSettings,
    ignore: Sequence[IgnoreRule],
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    agents: bool,
    parallel: int,
    agent_args: Sequence[str],
    agent_image: str | None,
    agent_namespace: str,
    agent_timeout: float,
) -> AuditResult:
    """`inspect8s audit --cluster [--agents]`: the API audit, then each node's, merged."""
    from inspect8s.audit import runner as engine
    from inspect8s.collect import cluster as cluster
    from inspect8s.kube.live import KubeAPI

    interactive = sys.stderr.isatty()
    with KubeAPI.from_config(kubeconfig=kubeconfig, context=context, timeout=timeout) as api:
        if interactive:
            sys.stderr.write("inspect8s: listing pods, nodes and RuntimeClasses...\n")
        snapshot = cluster.collect_cluster(api)
        inputs = [f"api:{api.host}"]
        result = engine.run_checks(
            snapshot,
            checks,
            settings=settings,
            ignore=ignore,
            target="cluster",
            inputs=inputs,
        )
        if not agents:
            return result
        args = [*agent_args]
        for rc in snapshot.runtime_classes or ():
            args += ["--runtime-class", f"{rc.name}={rc.handler}"]

        def progress(done: cluster.NodeAudit, finished: int, total: int) -> None:
            if interactive:
                state = "failed" if done.error is not None else "done"
                sys.stderr.write(
                    f"inspect8s: node {escape(done.node)} {escape(state)} ({finished}/{total})\n"
                )

        names = [n.name for n in snapshot.kube_nodes]
        if interactive:
            sys.stderr.write(
                f"inspect8s: auditing {len(names)} nodes through agent pods, "
                f"{parallel} at a time...\n"
            )
        audits = cluster.run_node_audits(
            api,
            names,
            args,
            parallel=parallel,
            image=agent_image,
            namespace=agent_namespace,
            timeout=agent_timeout,
            on_done=progress,
        )
    return cluster.merge_node_audits(result, audits)
