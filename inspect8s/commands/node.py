"""`inspect8s node`: the whole node from the host's point of view."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from inspect8s.commands._env import env_of
from inspect8s.commands._options import (
    DEFAULT_TIMEOUT,
    CriEndpointOpt,
    DockerHostOpt,
    RootOpt,
    TimeoutOpt,
    root_of,
)
from inspect8s.commands._output import NoHeadersOpt, ViewOutputOpt, parse_output

if TYPE_CHECKING:
    from inspect8s.model import NodeReport

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
    ctx: typer.Context,
    root: RootOpt = None,
    output: ViewOutputOpt = "table",
    no_headers: NoHeadersOpt = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
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
    from inspect8s.errors import ExitStatus, UsageError
    from inspect8s.host.fs import HostFS
    from inspect8s.model.serialize import to_data
    from inspect8s.render.views import document, write_node_config_table, write_node_table

    env = env_of(ctx)
    out = parse_output(output, "node", no_headers=no_headers)
    root = root_of(env, root)
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
    if out.is_table:
        screen = out.screen(env)
        write_node_table(report, env.stdout, screen)
        if node_config is not None:
            write_node_config_table(node_config, env.stdout, screen)
    elif out.format == "html":
        from inspect8s.render.html import write_node_html

        write_node_html(report, env.stdout)
    else:
        body = to_data(report)
        if node_config is not None:
            body["node_config"] = to_data(node_config)
        out.write_document(document("NodeReport", body), env)
    if require_complete and report.errors:
        return ExitStatus.INCOMPLETE
    return ExitStatus.OK


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
