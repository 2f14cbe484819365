"""`inspect8s audit`: run the checks and report findings, with CI-friendly exit codes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, TextIO, TypedDict

import typer

if TYPE_CHECKING:
    from typing import TextIO

    from inspect8s.audit.results import AuditResult
    from inspect8s.commands._env import Environment
    from inspect8s.render import Renderer

from inspect8s.commands._cluster import (
    AgentsOpt,
    CheckOptionOpt,
    ClusterOpt,
    NodeNameOpt,
    ParallelOpt,
    PodsFileOpt,
    RuntimeClassOpt,
)
from inspect8s.commands._env import env_of
from inspect8s.commands._options import (
    DEFAULT_TIMEOUT,
    AgentImageOpt,
    AgentNamespaceOpt,
    AgentTimeoutOpt,
    ContextOpt,
    CriEndpointOpt,
    DockerHostOpt,
    FromOpt,
    KubeconfigOpt,
    NamespaceOpt,
    RootOpt,
    TimeoutOpt,
    one_bundle,
    root_of,
)
from inspect8s.commands._output import (
    JSONPATH_HELP,
    AllNamespacesOpt,
    NoHeadersOpt,
    Output,
    SelectorOpt,
    namespace_scope,
    parse_output,
)

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
AuditOutputOpt = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        metavar="FORMAT",
        help="Output format: table, wide, json, yaml, html, sarif, junit, "
        f"{JSONPATH_HELP}, or an installed renderer's.",
    ),
]
MaxManifestSizeOpt = Annotated[
    str | None,
    typer.Option(
        "--max-manifest-size",
        help="Largest manifest file (or standard input) to read, e.g. 512M or 2G "
        "(default 256M); a larger one is an error and the rest is still audited.",
    ),
]
PathsArg = Annotated[
    list[str] | None,
    typer.Argument(help="More manifest paths (with --manifests).", show_default=False),
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
BenchmarkOpt = Annotated[
    str | None,
    typer.Option(
        "--benchmark",
        help="Run only the checks of a benchmark: cis (CIS Kubernetes Benchmark 1.12 kubelet "
        "items, see docs/cis-kubelet.md).",
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
TargetVersionOpt = Annotated[
    str | None,
    typer.Option(
        "--target-version",
        help="Kubernetes release to check an upgrade to (1.N or v1.N[.P]); default: the "
        "kubelet's or API server's own, for manifests the newest in the API version table.",
    ),
]
VersionsFileOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--versions-file",
        help="More API version table entries (YAML; e.g. CRDs of cert-manager or Istio). "
        "Repeatable.",
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


class _CheckArgs(TypedDict):
    """The arguments every audit call takes about its checks."""

    select: Sequence[str]
    benchmark: str | None
    ignore: Sequence[str]
    checks_path: Sequence[str]
    ignore_file: str | None
    target_version: str | None
    versions_files: Sequence[str]
    check_options: Mapping[str, str]


class _KubeArgs(TypedDict):
    """How the API audits reach the API, which pods they take, how long each call may take."""

    kubeconfig: str | None
    context: str | None
    environ: Mapping[str, str]
    timeout: float
    namespace: str | None
    selector: str | None


def _manifest_cap(text: str | None) -> int | None:
    """``--max-manifest-size`` in bytes (None: the reader's default)."""
    from inspect8s.collect.manifests import parse_size
    from inspect8s.errors import UsageError

    if text is None:
        return None
    try:
        return parse_size(text)
    except ValueError as exc:
        raise UsageError(f"--max-manifest-size: {exc}") from None


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
    ctx: typer.Context,
    manifests: ManifestsOpt = None,
    paths: PathsArg = None,
    output: AuditOutputOpt = "table",
    no_headers: NoHeadersOpt = False,
    max_manifest_size: MaxManifestSizeOpt = None,
    output_file: OutputFileOpt = None,
    fail_on: FailOnOpt = "high",
    require_complete: RequireCompleteOpt = False,
    select: SelectOpt = None,
    benchmark: BenchmarkOpt = None,
    ignore: IgnoreOpt = None,
    ignore_file: IgnoreFileOpt = None,
    checks_path: ChecksPathOpt = None,
    root: RootOpt = None,
    from_dirs: FromOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    target_version: TargetVersionOpt = None,
    versions_file: VersionsFileOpt = None,
    cri_endpoint: CriEndpointOpt = None,
    docker_host: DockerHostOpt = None,
    kubelet_version: KubeletVersionOpt = None,
    cluster: ClusterOpt = False,
    agents: AgentsOpt = False,
    parallel: ParallelOpt = 4,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNamespacesOpt = False,
    selector: SelectorOpt = None,
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
    their pod specs, so the spec-versus-kernel checks run. Pods from the API are those of
    every namespace unless -n NAMESPACE; -l SELECTOR keeps those whose labels match.

    Exit codes: 0 no finding at or above --fail-on (default high); 1 such findings;
    2 usage error; 3 incomplete (with --require-complete); 4 tool error.
    """
    from inspect8s import api
    from inspect8s.audit.checks.versions import parse_target_version
    from inspect8s.audit.results import Severity
    from inspect8s.commands import _cluster
    from inspect8s.errors import UsageError
    from inspect8s.render import get_renderer

    env = env_of(ctx)
    if target_version is not None:
        target_version = parse_target_version(target_version)
    threshold = parse_fail_on(fail_on)
    assert threshold is None or isinstance(threshold, Severity)
    out_format = _audit_output(output, no_headers)
    renderer = get_renderer(out_format.format) if out_format.template is None else None
    namespace = namespace_scope(namespace, all_namespaces)
    if (namespace or selector) and not (cluster or kubeconfig or context):
        raise UsageError(
            "-n/-l choose pods from the Kubernetes API: use them with --cluster or --kubeconfig"
        )
    progress = out_format.progress(env, to_stdout=output_file is None)
    manifest_paths = env.paths([*(manifests or ()), *(paths or ())])
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
    if max_manifest_size is not None and not manifest_paths:
        raise UsageError("--max-manifest-size needs --manifests")
    checks: _CheckArgs = {
        "select": select or (),
        "benchmark": benchmark,
        "ignore": ignore or (),
        "checks_path": env.paths(checks_path),
        "ignore_file": env.path(ignore_file) if ignore_file else None,
        "target_version": target_version,
        "versions_files": env.paths(versions_file),
        "check_options": _cluster.parse_pairs(check_option, "--check-option"),
    }
    kube: _KubeArgs = {
        "kubeconfig": env.path(kubeconfig) if kubeconfig else None,
        "context": context,
        "environ": env.environ,
        "timeout": timeout,
        "namespace": namespace,
        "selector": selector,
    }
    with progress:
        if manifest_paths:
            result = api.audit_manifests(
                manifest_paths,
                stdin=env.stdin,
                max_file_bytes=_manifest_cap(max_manifest_size),
                progress=progress if progress.enabled else None,
                **checks,
            )
        elif cluster:
            result = api.audit_cluster(
                agents=agents,
                parallel=parallel,
                agent_image=agent_image,
                agent_namespace=agent_namespace,
                agent_timeout=agent_timeout,
                progress=progress,
                **kube,
                **checks,
            )
        else:
            result = api.audit_node(
                root=root_of(env, root),
                bundle=one_bundle(env, from_dirs),
                cri_endpoints=cri_endpoint or (),
                docker_hosts=docker_host or (),
                kubelet_version=kubelet_version,
                pods_file=env.path(pods_file) if pods_file else None,
                node_name=node_name,
                runtime_classes=_cluster.runtime_classes_option(runtime_class),
                **kube,
                **checks,
            )

    if output_file:
        try:
            with open(env.path(output_file), "w", encoding="utf-8") as out:
                _render(result, out, out_format, renderer, env, to_file=True)
        except OSError as exc:
            raise UsageError(f"--output-file {output_file}: {exc.strerror or exc}") from exc
        counts = result.severity_counts()
        summary = ", ".join(f"{n} {sev}" for sev, n in reversed(counts.items()) if n)
        env.say(
            f"{len(result.active_findings)} findings"
            f"{' (' + summary + ')' if summary else ''}, {len(result.errors)} probe errors; "
            f"report written to {output_file}"
        )
    else:
        _render(result, env.stdout, out_format, renderer, env, to_file=False)
    from inspect8s.audit.runner import exit_code

    return exit_code(result, threshold, require_complete)


def _audit_output(value: str, no_headers: bool) -> Output:
    """``-o``: jsonpath=, or any renderer's name (checked when it is looked up)."""
    if value.strip().lower().startswith("jsonpath"):
        return parse_output(value, "audit", no_headers=no_headers)
    return Output(value.strip().lower(), None, not no_headers)


def _render(
    result: AuditResult,
    out: TextIO,
    output: Output,
    renderer: Renderer | None,
    env: Environment,
    *,
    to_file: bool,
) -> None:
    """The result through its renderer; tables with ``--no-headers`` and the terminal's
    width, JSONPath over the JSON document."""
    if output.template is not None:
        import io
        import json

        from inspect8s.render.json import render as render_json

        text = io.StringIO()
        render_json(result, text)
        out.write(output.template.render(json.loads(text.getvalue())))
    elif output.is_table:
        from inspect8s.render.layout import Screen
        from inspect8s.render.table import render_table

        screen = Screen(headers=output.headers) if to_file else output.screen(env)
        render_table(result, out, screen)
    else:
        assert renderer is not None
        renderer(result, out)
