"""`inspect8s node`: the whole node from the host's point of view."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from inspect8s.commands._options import OutputFormat, OutputOpt, RootOpt, TimeoutOpt

CriEndpointOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--cri-endpoint",
        help="Also ask this CRI socket (unix:///path or /path, as the host sees it). Repeatable.",
    ),
]
DockerHostOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--docker-host",
        help="Also ask this Docker Engine socket (unix:///path or /path). Repeatable.",
    ),
]
NoRuntimeOpt = Annotated[
    bool,
    typer.Option(
        "--no-runtime-calls",
        help="Read host files only; do not ask any runtime (names then come from cgroups).",
    ),
]
RequireCompleteOpt = Annotated[
    bool,
    typer.Option(
        "--require-complete", help="Exit 3 when any probe failed (the report is still printed)."
    ),
]


def node(
    root: RootOpt = "/",
    output: OutputOpt = OutputFormat.TABLE,
    timeout: TimeoutOpt = 3.0,
    cri_endpoint: CriEndpointOpt = None,
    docker_host: DockerHostOpt = None,
    no_runtime_calls: NoRuntimeOpt = False,
    require_complete: RequireCompleteOpt = False,
) -> int:
    """Show what runs on this node and how it is isolated: runtimes, sockets, shims, the
    kubelet, and every container with its pod, PIDs, QoS, the limits the kernel enforces and
    the namespaces it shares with the host."""
    from inspect8s.collect import RuntimeOptions, collect_node
    from inspect8s.errors import UsageError
    from inspect8s.host.fs import HostFS
    from inspect8s.render.views import write_node_table, write_structured

    if output not in (OutputFormat.TABLE, OutputFormat.JSON, OutputFormat.YAML):
        raise UsageError(f"`node` prints table, json or yaml, not {output.value}")
    fs = HostFS(root)
    if not fs.is_dir("/proc"):
        raise UsageError(f"{root} has no proc directory: is --root the host's / ?")
    options = RuntimeOptions(
        cri_endpoints=tuple(cri_endpoint or ()),
        docker_hosts=tuple(docker_host or ()),
        timeout=timeout,
        query_runtimes=not no_runtime_calls,
    )
    report = collect_node(fs, options)
    if output is OutputFormat.TABLE:
        write_node_table(report, sys.stdout)
    else:
        write_structured("NodeReport", report, output.value, sys.stdout)
    if require_complete and report.errors:
        return 3
    return 0
