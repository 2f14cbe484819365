"""`inspect8s record DIR`: write a replayable bundle of this node for `audit --from DIR`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from inspect8s.commands._options import RootOpt, TimeoutOpt

DirArg = Annotated[str, typer.Argument(help="Directory to write the bundle to (new or empty).")]
CriEndpointOpt = Annotated[
    list[str] | None,
    typer.Option("--cri-endpoint", help="Also record this CRI socket (repeatable)."),
]
DockerHostOpt = Annotated[
    list[str] | None,
    typer.Option("--docker-host", help="Also record this Docker Engine socket (repeatable)."),
]
KubeletVersionOpt = Annotated[
    str | None,
    typer.Option("--kubelet-version", help="Record this kubelet version (default: detected)."),
]


def record(
    directory: DirArg,
    root: RootOpt = "/",
    timeout: TimeoutOpt = 5.0,
    cri_endpoint: CriEndpointOpt = None,
    docker_host: DockerHostOpt = None,
    kubelet_version: KubeletVersionOpt = None,
) -> int:
    """Record what `inspect8s audit` reads on this node (host files, runtime answers),
    with credentials redacted, so the node can be audited later with --from DIR."""
    from inspect8s._version import __version__
    from inspect8s.collect.record import record_node
    from inspect8s.render.escape import escape

    manifest = record_node(
        directory,
        root=root,
        cri_endpoints=tuple(cri_endpoint or ()),
        docker_hosts=tuple(docker_host or ()),
        timeout=timeout,
        kubelet_version=kubelet_version,
        tool_version=__version__,
    )
    redacted = manifest["redactions"]
    files = sum(redacted["files"].values())
    sys.stderr.write(
        f"inspect8s: bundle written to {escape(directory)} (format version {manifest['version']}; "
        f"{len(manifest['sockets'])} sockets; {files} values redacted in "
        f"{len(redacted['files'])} files, {redacted['runtimeAnswers']} in runtime answers)\n"
    )
    return 0
