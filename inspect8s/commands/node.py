"""`inspect8s node`: the whole node from the host's point of view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, TypedDict

import typer

from inspect8s.commands._env import env_of
from inspect8s.commands._options import (
    DEFAULT_TIMEOUT,
    CriEndpointOpt,
    DockerHostOpt,
    FromOpt,
    RootOpt,
    TimeoutOpt,
    one_bundle,
    root_of,
)
from inspect8s.commands._output import NoHeadersOpt, ViewOutputOpt, parse_output


class _NodeArgs(TypedDict):
    """Where `node` looks, with or without the configuration."""

    root: str
    bundle: str | None
    cri_endpoints: Sequence[str]
    docker_hosts: Sequence[str]
    timeout: float
    runtime_calls: bool


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
    from_dirs: FromOpt = None,
) -> int:
    """Show what runs on this node and how it is isolated: runtimes, sockets, shims, the
    kubelet, and every container with its pod, PIDs, QoS, the limits the kernel enforces and
    the namespaces it shares with the host."""
    from inspect8s import api
    from inspect8s.errors import ExitStatus
    from inspect8s.model.serialize import to_data
    from inspect8s.render.views import document, write_node_config_table, write_node_table

    env = env_of(ctx)
    out = parse_output(output, "node", no_headers=no_headers)
    node_config = None
    where: _NodeArgs = {
        "root": root_of(env, root),
        "bundle": one_bundle(env, from_dirs),
        "cri_endpoints": cri_endpoint or (),
        "docker_hosts": docker_host or (),
        "timeout": timeout,
        "runtime_calls": not no_runtime_calls,
    }
    if config:
        report, node_config = api.node_config(**where)
    else:
        report = api.node_report(**where)
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
