"""`inspect8s node`: the whole node from the host's point of view."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from inspect8s.commands._options import OutputFormat, OutputOpt, RootOpt, TimeoutOpt

# What node, pod and pid print (audit has its renderer plugins).
VIEW_FORMATS = (
    OutputFormat.TABLE,
    OutputFormat.WIDE,
    OutputFormat.JSON,
    OutputFormat.YAML,
    OutputFormat.HTML,
)

if TYPE_CHECKING:
    from inspect8s.model import NodeReport

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
ConfigOpt = Annotated[
    bool,
    typer.Option(
        "--config",
        help="Also show the node's configuration (kubelet, containerd, CRI-O, Docker, crictl), "
        "each value with the file and line or flag that set it.",
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
    config: ConfigOpt = False,
    require_complete: RequireCompleteOpt = False,
) -> int:
    """Show what runs on this node and how it is isolated: runtimes, sockets, shims, the
    kubelet, and every container with its pod, PIDs, QoS, the limits the kernel enforces and
    the namespaces it shares with the host."""
    from inspect8s.collect.node import RuntimeOptions, collect_node
    from inspect8s.errors import UsageError
    from inspect8s.host.fs import HostFS
    from inspect8s.model.serialize import to_data
    from inspect8s.render.views import (
        write_node_config_table,
        write_node_table,
        write_structured,
    )

    if output not in VIEW_FORMATS:
        raise UsageError(f"`node` prints table, wide, json, yaml or html, not {output.value}")
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
    node_config = None
    if config:
        import dataclasses

        from inspect8s.nodeconfig.collect import collect_node_config

        cmdlines = daemon_cmdlines(report)
        node_config, failures = collect_node_config(
            fs,
            kubelet_cmdline=cmdlines["kubelet"],
            containerd_cmdline=cmdlines["containerd"],
            crio_cmdline=cmdlines["crio"],
            dockerd_cmdline=cmdlines["dockerd"],
        )
        errors = report.errors + tuple(f.record() for f in failures)
        report = dataclasses.replace(report, errors=errors)
    if output in (OutputFormat.TABLE, OutputFormat.WIDE):
        from inspect8s.render.layout import Screen

        screen = Screen.for_stream(sys.stdout, wide=output is OutputFormat.WIDE)
        write_node_table(report, sys.stdout, screen)
        if node_config is not None:
            write_node_config_table(node_config, sys.stdout, screen)
    elif output is OutputFormat.HTML:
        from inspect8s.render.html import write_node_html

        write_node_html(report, sys.stdout)
    else:
        body = to_data(report)
        if node_config is not None:
            body["node_config"] = to_data(node_config)
        write_structured("NodeReport", body, output.value, sys.stdout)
    if require_complete and report.errors:
        return 3
    return 0


def daemon_cmdlines(report: NodeReport) -> dict[str, tuple[str, ...] | None]:
    """The command lines nodeconfig reads flags and config paths from (None: not running)."""
    found: dict[str, tuple[str, ...] | None] = {
        "kubelet": report.kubelet.cmdline if report.kubelet else None,
        "containerd": None,
        "crio": None,
        "dockerd": None,
    }
    for daemon in report.runtimes:
        if found.get(daemon.name, ()) is None and daemon.cmdline:
            found[daemon.name] = daemon.cmdline
    return found
