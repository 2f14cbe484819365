"""`inspect8s pod NAME` and `inspect8s pid PID`: one pod's or one process's runtime chain."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from inspect8s.commands._options import (
    ContextOpt,
    KubeconfigOpt,
    NamespaceOpt,
    OutputFormat,
    OutputOpt,
    RootOpt,
    TimeoutOpt,
)
from inspect8s.commands.node import CriEndpointOpt, DockerHostOpt

if TYPE_CHECKING:
    from inspect8s.collect import NodeCollection
    from inspect8s.host.fs import HostFS

TraceOpt = Annotated[
    bool,
    typer.Option(
        "--trace-runtime",
        help="Show the whole chain: kubelet, CRI endpoint, runtime, shim, OCI runtime, "
        "processes, namespaces, cgroup and limits, each with its source.",
    ),
]
LocalOpt = Annotated[
    bool,
    typer.Option("--local", help="Only look at this machine; do not use the Kubernetes API."),
]


def _check_output(output: OutputFormat) -> None:
    from inspect8s.errors import UsageError

    if output not in (OutputFormat.TABLE, OutputFormat.JSON, OutputFormat.YAML):
        raise UsageError(f"this command prints table, json or yaml, not {output.value}")


def _gather(
    root: str, timeout: float, cri_endpoint: list[str] | None, docker_host: list[str] | None
) -> tuple[HostFS, NodeCollection]:
    from inspect8s.collect import RuntimeOptions, gather_node
    from inspect8s.errors import UsageError
    from inspect8s.host.fs import HostFS

    fs = HostFS(root)
    if not fs.is_dir("/proc"):
        raise UsageError(f"{root} has no proc directory: is --root the host's / ?")
    options = RuntimeOptions(
        cri_endpoints=tuple(cri_endpoint or ()),
        docker_hosts=tuple(docker_host or ()),
        timeout=timeout,
    )
    return fs, gather_node(fs, options)


def pod(
    name: Annotated[str, typer.Argument(help="The pod's name.")],
    namespace: NamespaceOpt = None,
    trace_runtime: TraceOpt = False,
    output: OutputOpt = OutputFormat.TABLE,
    root: RootOpt = "/",
    timeout: TimeoutOpt = 3.0,
    cri_endpoint: CriEndpointOpt = None,
    docker_host: DockerHostOpt = None,
    local: LocalOpt = False,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> int:
    """Show one pod's containers on this node; with --trace-runtime, its whole runtime chain.

    On the node itself no Kubernetes API is needed: the pod is found through the kubelet's
    labels on the runtime's sandboxes and containers."""
    from inspect8s import trace
    from inspect8s.render.views import write_pod_brief, write_structured, write_trace_table

    _check_output(output)
    fs, collection = _gather(root, timeout, cri_endpoint, docker_host)
    containers = trace.find_pod(collection.report, name, namespace)
    if not trace_runtime:
        if output is OutputFormat.TABLE:
            write_pod_brief(containers, sys.stdout)
        else:
            write_structured(
                "PodContainers",
                {"pod": name, "namespace": containers[0].pod_namespace, "containers": containers},
                output.value,
                sys.stdout,
            )
        return 0
    chain = trace.trace_pod(fs, collection, containers, timeout=timeout)
    if output is OutputFormat.TABLE:
        write_trace_table(chain, sys.stdout)
    else:
        write_structured("RuntimeChain", chain, output.value, sys.stdout)
    return 0


def pid(
    pid: Annotated[int, typer.Argument(help="A host PID, or the ID of any thread of it.")],
    output: OutputOpt = OutputFormat.TABLE,
    root: RootOpt = "/",
    timeout: TimeoutOpt = 3.0,
    cri_endpoint: CriEndpointOpt = None,
    docker_host: DockerHostOpt = None,
) -> int:
    """Which container and pod a host process belongs to, with the same chain as
    `pod --trace-runtime`."""
    from inspect8s import trace
    from inspect8s.render.views import write_structured, write_trace_table

    _check_output(output)
    fs, collection = _gather(root, timeout, cri_endpoint, docker_host)
    tgid, container = trace.container_of_pid(collection, fs, pid)
    if container is None:
        proc = collection.processes[tgid]
        cgroup = proc.cgroups[0].path if proc.cgroups else "unknown"
        if output is OutputFormat.TABLE:
            sys.stdout.write(
                f"PID {tgid} ({proc.comm}) is in no container; its cgroup is {cgroup}\n"
            )
        else:
            write_structured(
                "ProcessOrigin",
                {"pid": tgid, "comm": proc.comm, "container": None, "cgroup": cgroup},
                output.value,
                sys.stdout,
            )
        return 0
    members = trace.pod_containers(collection, container)
    chain = trace.trace_pod(fs, collection, members, timeout=timeout)
    if output is OutputFormat.TABLE:
        what = f"PID {tgid}" + (f" (thread {pid})" if pid != tgid else "")
        sys.stdout.write(
            f"{what} is in container {container.name or '?'} {container.id[:13]} "
            f"({container.runtime})\n\n"
        )
        write_trace_table(chain, sys.stdout)
    else:
        write_structured(
            "ProcessOrigin",
            {"pid": tgid, "container": container.id, "chain": chain},
            output.value,
            sys.stdout,
        )
    return 0
