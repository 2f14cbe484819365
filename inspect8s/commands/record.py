"""`inspect8s record DIR`: write a replayable bundle of this node for `audit --from DIR`."""

from __future__ import annotations

from typing import Annotated

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

DirArg = Annotated[str, typer.Argument(help="Directory to write the bundle to (new or empty).")]
KubeletVersionOpt = Annotated[
    str | None,
    typer.Option("--kubelet-version", help="Record this kubelet version (default: detected)."),
]


def record(
    ctx: typer.Context,
    directory: DirArg,
    root: RootOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    cri_endpoint: CriEndpointOpt = None,
    docker_host: DockerHostOpt = None,
    kubelet_version: KubeletVersionOpt = None,
) -> int:
    """Record what `inspect8s audit` reads on this node (host files, runtime answers),
    with credentials redacted, so the node can be audited later with --from DIR."""
    from inspect8s import api

    env = env_of(ctx)
    bundle = api.record(
        env.path(directory),
        root=root_of(env, root),
        cri_endpoints=cri_endpoint or (),
        docker_hosts=docker_host or (),
        timeout=timeout,
        kubelet_version=kubelet_version,
    )
    env.say(
        f"bundle written to {directory} (format version {bundle.version}; "
        f"{len(bundle.sockets)} sockets; {bundle.redacted_values} values redacted in "
        f"{bundle.redacted_files} files, {bundle.redacted_runtime_answers} in runtime answers)"
    )
    return 0
