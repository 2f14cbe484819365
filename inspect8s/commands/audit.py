"""`inspect8s audit`: run the checks and report findings, with CI-friendly exit codes."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from inspect8s.commands._options import RootOpt, TimeoutOpt

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
    from inspect8s.errors import UsageError
    from inspect8s.results import Severity

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
) -> int:
    """Run the checks on this node, or on manifests with --manifests, and report findings.

    Exit codes: 0 no finding at or above --fail-on (default high); 1 such findings;
    2 usage error; 3 incomplete (with --require-complete); 4 tool error.
    """
    from inspect8s import audit as engine
    from inspect8s.checks.registry import CheckSettings, filter_checks, load_checks
    from inspect8s.errors import UsageError
    from inspect8s.render import get_renderer
    from inspect8s.results import Scope, Severity

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
    all_checks = load_checks(checks_path or ())
    scopes = [Scope.POD] if manifest_paths else None
    checks = filter_checks(all_checks, select=select or (), ignore=ignore or (), scopes=scopes)
    if select and not checks:
        raise UsageError(f"--select {','.join(select)} matches no check")
    rules = engine.load_ignore_file(ignore_file) if ignore_file else ()
    settings = CheckSettings(target_version=target_version)

    if manifest_paths:
        result = engine.audit_manifests(
            manifest_paths, checks, settings=settings, ignore=rules, stdin=sys.stdin
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
        if settings.target_version is None and snapshot.kubelet_version is not None:
            minor = snapshot.kubelet_version.minor
            if minor is not None:  # default: the kubelet's own minor
                settings = CheckSettings(target_version=f"1.{minor}")
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
            f"report written to {output_file}\n"
        )
    else:
        renderer(result, sys.stdout)
    return engine.exit_code(result, threshold, require_complete)
