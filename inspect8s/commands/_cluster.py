"""The API side of `inspect8s audit`: a node joined with its pods, and `--cluster [--agents]`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from inspect8s.audit.registry import Check, CheckSettings
    from inspect8s.audit.results import AuditResult
    from inspect8s.audit.runner import IgnoreRule
    from inspect8s.commands._env import Environment
    from inspect8s.model import RuntimeClass, Snapshot
    from inspect8s.render.progress import Progress

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
    env: Environment,
    snapshot: Snapshot,
    *,
    root: str,
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    node_name: str | None,
    namespace: str | None = None,
    selector: str | None = None,
) -> Snapshot:
    """The node snapshot with its pods (in ``namespace``, matching ``selector``; None: all),
    its Node object, the RuntimeClasses and the kubelet's /configz from the API.

    API failures are ProbeErrors in the snapshot: the host checks still run.
    """
    from inspect8s.collect import cluster as cluster
    from inspect8s.errors import ProbeError, UsageError
    from inspect8s.kube.configz import read_kubelet_configz
    from inspect8s.kube.convert import node_from_json
    from inspect8s.kube.live import KubeAPI, KubeAPIError

    errors: list[ProbeError] = list(snapshot.errors)
    try:
        with KubeAPI.from_config(
            kubeconfig=kubeconfig, context=context, timeout=timeout, environ=env.environ
        ) as api:
            name = node_name or cluster.this_node_name(
                api,
                _local_text(root, "/proc/sys/kernel/random/boot_id"),
                snapshot.node.node.hostname if snapshot.node else None,
            )
            if name is None:
                raise UsageError(
                    "no Node in the API has this machine's bootID or host name; name it with --node"
                )
            pods, pod_errors = cluster.pods_of_node(
                api, name, namespace=namespace, label_selector=selector
            )
            errors += pod_errors
            kube_nodes = snapshot.kube_nodes
            try:
                kube_nodes = (node_from_json(api.get_node(name)),)
            except KubeAPIError as exc:
                errors.append(exc.probe_failed().record())
            classes = snapshot.runtime_classes
            if classes is None:
                classes = cluster.list_runtime_classes(api, errors)
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


def audit_cluster(
    env: Environment,
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
    progress: Progress,
    namespace: str | None = None,
    selector: str | None = None,
) -> AuditResult:
    """`inspect8s audit --cluster [--agents]`: the API audit (the pods in ``namespace``,
    None: all, that match ``selector``), then each node's, merged. ``progress`` is told
    the pods listed and the agent pods started and finished per node."""
    from inspect8s.audit import runner as engine
    from inspect8s.collect import cluster as cluster
    from inspect8s.kube.live import KubeAPI

    with KubeAPI.from_config(
        kubeconfig=kubeconfig, context=context, timeout=timeout, environ=env.environ
    ) as api:
        progress.update("listing pods, nodes, RuntimeClasses and the API version table's kinds",
                        force=True)  # fmt: skip
        snapshot = cluster.collect_cluster(
            api,
            namespace=namespace,
            label_selector=selector,
            on_progress=progress.step,
            versions_files=settings.versions_files,
        )
        server = snapshot.api_server
        settings = engine.default_target(settings, server.version if server else None)
        inputs = [f"api:{api.host}"]
        result = engine.run_checks(
            snapshot,
            checks,
            settings=settings,
            ignore=ignore,
            target="cluster",
            inputs=inputs,
            leave_out_own=True,
        )
        if not agents:
            return result
        args = [*agent_args]
        for rc in snapshot.runtime_classes or ():
            args += ["--runtime-class", f"{rc.name}={rc.handler}"]

        names = [n.name for n in snapshot.kube_nodes]
        running: set[str] = set()
        finished_count = 0

        def status() -> None:
            now = ", ".join(sorted(running)) or "-"
            progress.update(
                f"agent pods: {finished_count}/{len(names)} nodes done; running on {now}",
                force=True,
            )

        def started(node: str) -> None:
            running.add(node)
            status()

        def finished(done: cluster.NodeAudit, count: int, total: int) -> None:
            nonlocal finished_count
            running.discard(done.node)
            finished_count = count
            state = f"failed: {done.error.detail}" if done.error is not None else "done"
            progress.log(f"node {done.node} {state} ({count}/{total})")
            status()

        progress.log(f"auditing {len(names)} nodes through agent pods, {parallel} at a time")
        audits = cluster.run_node_audits(
            api,
            names,
            args,
            parallel=parallel,
            image=agent_image,
            namespace=agent_namespace,
            timeout=agent_timeout,
            on_done=finished,
            on_start=started,
        )
    return cluster.merge_node_audits(result, audits)
