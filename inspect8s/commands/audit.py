"""`inspect8s audit`: run the checks and report findings, with CI-friendly exit codes."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from inspect8s.render.escape import escape

if TYPE_CHECKING:
    from inspect8s.model import Snapshot

from inspect8s.commands._cluster import (
    AgentsOpt,
    CheckOptionOpt,
    ClusterOpt,
    NodeNameOpt,
    ParallelOpt,
    PodsFileOpt,
    RuntimeClassOpt,
)
from inspect8s.commands._options import ContextOpt, KubeconfigOpt, RootOpt, TimeoutOpt
from inspect8s.commands.trace import AgentImageOpt, AgentNamespaceOpt, AgentTimeoutOpt

ManifestsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--manifests",
        help=(
            "Audit Kubernetes manifests offline: YAML/JSON files or directories (recursive), "
            "'-' for standard input. Repeatable; further paths may follow as arguments."
        ),
    ),
]
PathsArg = Annotated[
    list[str] | None,
    typer.Argument(help="More manifest paths (with --manifests).", show_default=False),
]
AuditOutputOpt = Annotated[
    str,
    typer.Option(
        "--output", "-o", help="Output format: table, json, yaml, sarif, junit (or a plugin's)."
    ),
]
OutputFileOpt = Annotated[
    str | None,
    typer.Option(
        "--output-file",
        help="Write the report to this file instead of standard output "
        "(a one-line summary goes to standard error).",
    ),
]
FailOnOpt = Annotated[
    str,
    typer.Option(
        "--fail-on",
        help="Exit 1 when a finding has this severity or higher: "
        "info, low, medium, high, critical, or none.",
    ),
]
RequireCompleteOpt = Annotated[
    bool,
    typer.Option(
        "--require-complete",
        help="Exit 3 when a probe failed or a check was skipped or crashed.",
    ),
]
SelectOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--select", help="Run only checks whose ID starts with this (repeatable, or a,b)."
    ),
]
IgnoreOpt = Annotated[
    list[str] | None,
    typer.Option("--ignore", help="Skip checks whose ID starts with this (repeatable, or a,b)."),
]
IgnoreFileOpt = Annotated[
    str | None,
    typer.Option(
        "--ignore-file",
        help="YAML list of accepted findings: {id, subject, reason} (id and subject are globs).",
    ),
]
ChecksPathOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--checks-path", help="Also load checks from this Python file or directory (repeatable)."
    ),
]
FromOpt = Annotated[
    list[str] | None,
    typer.Option("--from", help="Audit a bundle written by `inspect8s record` (repeatable)."),
]
TargetVersionOpt = Annotated[
    str | None,
    typer.Option(
        "--target-version",
        help="Kubernetes minor to check an upgrade to (e.g. 1.31); default: the kubelet's own.",
    ),
]
CriEndpointOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--cri-endpoint",
        help="Also audit this CRI socket (unix:///path or /path; repeatable).",
    ),
]
DockerHostOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--docker-host", help="Also audit this Docker Engine socket (unix:///path; repeatable)."
    ),
]
KubeletVersionOpt = Annotated[
    str | None,
    typer.Option(
        "--kubelet-version",
        help="The kubelet's version when the node cannot tell (default: the package database "
        "or the bundle's record).",
    ),
]


def parse_fail_on(text: str) -> object:
    from inspect8s.audit.results import Severity
    from inspect8s.errors import UsageError

    if text.strip().lower() in ("none", "never"):
        return None
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise UsageError(f"--fail-on: {exc}") from None


def audit(
    manifests: ManifestsOpt = None,
    paths: PathsArg = None,
    output: AuditOutputOpt = "table",
    output_file: OutputFileOpt = None,
    fail_on: FailOnOpt = "high",
    require_complete: RequireCompleteOpt = False,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    ignore_file: IgnoreFileOpt = None,
    checks_path: ChecksPathOpt = None,
    root: RootOpt = "/",
    from_dirs: FromOpt = None,
    timeout: TimeoutOpt = 5.0,
    target_version: TargetVersionOpt = None,
    cri_endpoint: CriEndpointOpt = None,
    docker_host: DockerHostOpt = None,
    kubelet_version: KubeletVersionOpt = None,
    cluster: ClusterOpt = False,
    agents: AgentsOpt = False,
    parallel: ParallelOpt = 4,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    pods_file: PodsFileOpt = None,
    node_name: NodeNameOpt = None,
    check_option: CheckOptionOpt = None,
    runtime_class: RuntimeClassOpt = None,
    agent_image: AgentImageOpt = None,
    agent_namespace: AgentNamespaceOpt = "default",
    agent_timeout: AgentTimeoutOpt = 120.0,
) -> int:
    """Run the checks on this node, on manifests with --manifests, or on the whole cluster
    with --cluster (--agents: every node's host too), and report findings.

    On a node, --kubeconfig/--context (or --pods FILE) join the host's containers with
    their pod specs, so the spec-versus-kernel checks run.

    Exit codes: 0 no finding at or above --fail-on (default high); 1 such findings;
    2 usage error; 3 incomplete (with --require-complete); 4 tool error.
    """
    from inspect8s.audit import runner as engine
    from inspect8s.audit.registry import CheckSettings, filter_checks, load_checks
    from inspect8s.audit.results import Scope, Severity
    from inspect8s.errors import UsageError
    from inspect8s.render import get_renderer

    threshold = parse_fail_on(fail_on)
    assert threshold is None or isinstance(threshold, Severity)
    renderer = get_renderer(output)
    manifest_paths = [*(manifests or ()), *(paths or ())]
    if paths and not manifests:
        raise UsageError(
            f"unexpected argument {paths[0]!r}: manifest paths need --manifests "
            "(e.g. inspect8s audit --manifests deploy/)"
        )
    if manifest_paths and from_dirs:
        raise UsageError("--manifests and --from cannot be combined")
    if agents and not cluster:
        raise UsageError("--agents needs --cluster")
    if cluster and (manifest_paths or from_dirs or pods_file):
        raise UsageError("--cluster cannot be combined with --manifests, --from or --pods")
    if pods_file and (kubeconfig or context):
        raise UsageError("--pods and --kubeconfig/--context are two sources of pod specs: pick one")
    all_checks = load_checks(checks_path or ())
    scopes = [Scope.POD] if manifest_paths else None
    checks = filter_checks(all_checks, select=select or (), ignore=ignore or (), scopes=scopes)
    if select and not checks:
        raise UsageError(f"--select {','.join(select)} matches no check")
    rules = engine.load_ignore_file(ignore_file) if ignore_file else ()
    from inspect8s.commands import _cluster

    check_options = _cluster.parse_pairs(check_option, "--check-option")
    settings = CheckSettings(target_version=target_version, options=check_options)

    if manifest_paths:
        result = engine.audit_manifests(
            manifest_paths, checks, settings=settings, ignore=rules, stdin=sys.stdin
        )
    elif cluster:
        agent_args = ["--fail-on", "none", "--timeout", f"{timeout:g}"]
        agent_args += [f"--select={v}" for v in select or ()]
        agent_args += [f"--ignore={v}" for v in ignore or ()]
        agent_args += [f"--check-option={k}={v}" for k, v in check_options.items()]
        if target_version:
            agent_args += ["--target-version", target_version]
        result = _cluster.audit_cluster(
            checks,
            settings=settings,
            ignore=rules,
            kubeconfig=kubeconfig,
            context=context,
            timeout=timeout,
            agents=agents,
            parallel=parallel,
            agent_args=agent_args,
            agent_image=agent_image,
            agent_namespace=agent_namespace,
            agent_timeout=agent_timeout,
        )
    else:
        snapshot = engine.collect_for_node(
            root,
            from_dirs=tuple(from_dirs or ()),
            timeout=timeout,
            cri_endpoints=tuple(cri_endpoint or ()),
            docker_hosts=tuple(docker_host or ()),
            kubelet_version=kubelet_version,
        )
        snapshot = _join_specs(
            snapshot, root, pods_file, kubeconfig, context, timeout, node_name, runtime_class
        )
        if settings.target_version is None and snapshot.kubelet_version is not None:
            minor = snapshot.kubelet_version.minor
            if minor is not None:  # default: the kubelet's own minor
                settings = CheckSettings(target_version=f"1.{minor}", options=check_options)
        result = engine.run_checks(
            snapshot,
            checks,
            settings=settings,
            ignore=rules,
            target="node",
            inputs=tuple(from_dirs or (root,)),
        )

    if output_file:
        try:
            with open(output_file, "w", encoding="utf-8") as out:
                renderer(result, out)
        except OSError as exc:
            raise UsageError(f"--output-file {output_file}: {exc.strerror or exc}") from exc
        counts = result.severity_counts()
        summary = ", ".join(f"{n} {sev}" for sev, n in reversed(counts.items()) if n)
        sys.stderr.write(
            f"inspect8s: {len(result.active_findings)} findings"
            f"{' (' + summary + ')' if summary else ''}, {len(result.errors)} probe errors; "
            f"report written to {escape(output_file)}\n"
        )
    else:
        renderer(result, sys.stdout)
    return engine.exit_code(result, threshold, require_complete)


def _join_specs(
    snapshot: Snapshot,
    root: str,
    pods_file: str | None,
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    node_name: str | None,
    runtime_class: list[str] | None,
) -> Snapshot:
    """The node snapshot with pod specs from --pods or the API, and --runtime-class."""
    import dataclasses

    from inspect8s.commands import _cluster

    classes = _cluster.runtime_classes_option(runtime_class)
    if classes is not None:
        snapshot = dataclasses.replace(snapshot, runtime_classes=classes)
    if pods_file:
        from inspect8s.collect.cluster import load_pod_list

        pods, errors = load_pod_list(pods_file)
        return dataclasses.replace(snapshot, pods=pods, errors=(*snapshot.errors, *errors))
    if kubeconfig or context:
        return _cluster.join_api(
            snapshot,
            root=root,
            kubeconfig=kubeconfig,
            context=context,
            timeout=timeout,
            node_name=node_name,
        )
    return snapshot
