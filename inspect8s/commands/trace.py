"""`inspect8s pod NAME` and `inspect8s pid PID`: one pod's or one process's runtime chain."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

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
from inspect8s.render.escape import escape

if TYPE_CHECKING:
    from inspect8s.collect.node import NodeCollection
    from inspect8s.host.fs import HostFS
    from inspect8s.runtime.clients import RuntimeClients

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
    root: str,
    timeout: float,
    cri_endpoint: list[str] | None,
    docker_host: list[str] | None,
    from_dir: str | None = None,
) -> tuple[HostFS, NodeCollection, RuntimeClients | None]:
    """The node picture, from the host under ``root`` or from a bundle (``--from``), and
    the runtime clients a trace should ask (None: the live sockets)."""
    from inspect8s.collect.node import RuntimeOptions, gather_node
    from inspect8s.errors import UsageError
    from inspect8s.host.fs import HostFS

    clients: RuntimeClients | None = None
    extra_cri: tuple[str, ...] = ()
    extra_docker: tuple[str, ...] = ()
    if from_dir is not None:
        from inspect8s.collect.bundle import ReplayClients, ReplayHostFS, load_bundle

        bundle = load_bundle(from_dir)
        fs: HostFS = ReplayHostFS(bundle)
        clients = ReplayClients(bundle)
        extra_cri, extra_docker = bundle.cri_endpoints, bundle.docker_hosts
    else:
        fs = HostFS(root)
    if not fs.is_dir("/proc"):
        where = f"--from {from_dir}" if from_dir else root
        raise UsageError(f"{where} has no proc directory: is --root the host's / ?")
    options = RuntimeOptions(
        cri_endpoints=(*extra_cri, *(cri_endpoint or ())),
        docker_hosts=(*extra_docker, *(docker_host or ())),
        timeout=timeout,
        clients=clients,
    )
    return fs, gather_node(fs, options), clients


AgentImageOpt = Annotated[
    str | None,
    typer.Option("--agent-image", help="Image of the agent pod (default: the matching release)."),
]
AgentNamespaceOpt = Annotated[
    str, typer.Option("--agent-namespace", help="Namespace to start the agent pod in.")
]
AgentTimeoutOpt = Annotated[
    float,
    typer.Option("--agent-timeout", min=1.0, help="Seconds the agent pod may take in all."),
]
FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Trace from a bundle written by `inspect8s record` instead of this machine "
        "(host files and runtime answers as recorded; no Kubernetes API).",
    ),
]
UidOpt = Annotated[
    str | None,
    typer.Option(
        "--uid",
        help="The pod's UID: find its containers by the UID in their cgroup paths "
        "(for nodes whose runtime does not answer; the agent pod passes it).",
    ),
]


def _emit(doc: dict[str, Any], output: OutputFormat) -> None:
    from inspect8s.render.views import write_json, write_trace_table, write_yaml

    if output is OutputFormat.TABLE:
        write_trace_table(doc, sys.stdout)
    elif output is OutputFormat.YAML:
        write_yaml(doc, sys.stdout)
    else:
        write_json(doc, sys.stdout)


def _traced_on(from_dir: str | None) -> str:
    return f"bundle {from_dir}" if from_dir else "this machine"


def _use_api(local: bool, kubeconfig: str | None, context: str | None) -> bool:
    """Use the Kubernetes API unless --local, or nothing points at a cluster."""
    if local:
        return False
    if kubeconfig or context or os.environ.get("KUBECONFIG"):
        return True
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    return os.path.isfile(os.path.expanduser("~/.kube/config"))


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
    uid: UidOpt = None,
    agent_image: AgentImageOpt = None,
    agent_namespace: AgentNamespaceOpt = "default",
    agent_timeout: AgentTimeoutOpt = 120.0,
    from_dir: FromOpt = None,
) -> int:
    """Show one pod's containers on this node; with --trace-runtime, its whole runtime chain.

    On the node itself no Kubernetes API is needed: the pod is found through the kubelet's
    labels on the runtime's sandboxes and containers (--local forces this). With a
    kubeconfig the pod is looked up in the API; if it runs on another node, a short-lived
    agent pod traces it there and is deleted afterwards."""
    from inspect8s.collect import trace as trace
    from inspect8s.render.views import document, write_pod_brief, write_structured

    _check_output(output)
    api_pod: dict[str, Any] | None = None
    if from_dir is None and _use_api(local, kubeconfig, context):
        api_pod, remote = _api_lookup(
            name,
            namespace,
            kubeconfig,
            context,
            timeout,
            root,
            trace_runtime,
            output,
            agent_image=agent_image,
            agent_namespace=agent_namespace,
            agent_timeout=agent_timeout,
        )
        if remote is not None:
            run, node = remote
            doc = dict(run)
            doc["api"] = api_pod
            doc["traced_on"] = f"agent pod on node {node}"
            _emit(doc, output)
            return 0
        namespace = api_pod["namespace"]
        uid = uid or api_pod.get("uid")
    fs, collection, clients = _gather(root, timeout, cri_endpoint, docker_host, from_dir)
    containers = trace.find_pod(collection.report, name, namespace, uid=uid)
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
    chain = trace.trace_pod(
        fs,
        collection,
        containers,
        timeout=timeout,
        pod_name=name,
        pod_namespace=namespace,
        clients=clients,
    )
    doc = document("RuntimeChain", chain)
    doc["api"] = api_pod
    doc["traced_on"] = _traced_on(from_dir)
    _emit(doc, output)
    return 0


def _api_lookup(
    name: str,
    namespace: str | None,
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    root: str,
    trace_runtime: bool,
    output: OutputFormat,
    *,
    agent_image: str | None = None,
    agent_namespace: str = "default",
    agent_timeout: float = 120.0,
) -> tuple[dict[str, Any], tuple[dict[str, Any], str] | None]:
    """Look the pod up in the API. Returns its view as data, and, when it runs on another
    node and a trace was asked for, the agent's chain document and that node's name."""
    from inspect8s.host.fs import HostFS
    from inspect8s.kube.agent import DEFAULT_AGENT_IMAGE, run_agent
    from inspect8s.kube.convert import pod_from_json
    from inspect8s.kube.live import KubeAPI
    from inspect8s.model.serialize import to_data

    with KubeAPI.from_config(kubeconfig=kubeconfig, context=context, timeout=timeout) as api:
        raw = api.get_pod(namespace, name)
        pod = pod_from_json(raw, default_namespace=namespace or api.namespace)
        view: dict[str, Any] = to_data(pod)
        node = pod.node_name
        if not trace_runtime or node is None or _is_this_node(api, node, HostFS(root)):
            return view, None
        args = ["pod", pod.name, "-n", pod.namespace, "--trace-runtime", "--local"]
        if pod.uid:
            args += ["--uid", pod.uid]
        progress = _progress(f"tracing {pod.namespace}/{pod.name} on node {node}")
        run = run_agent(
            api,
            node,
            args,
            image=agent_image or DEFAULT_AGENT_IMAGE,
            namespace=agent_namespace,
            timeout=agent_timeout,
            on_poll=progress,
        )
        return view, (run.output, node)


def _progress(what: str) -> Any:
    """A poll callback that tells a person at a terminal what is being waited for."""
    interactive = sys.stderr.isatty()
    if interactive:
        sys.stderr.write(f"inspect8s: {escape(what)} through an agent pod...\n")

    def on_poll(phase: str) -> None:
        if interactive:
            sys.stderr.write(f"\rinspect8s: agent pod {escape(phase or 'pending')}   ")
            sys.stderr.flush()

    return on_poll


def _is_this_node(api: Any, node_name: str, fs: HostFS) -> bool:
    """Whether the Node ``node_name`` is the machine under ``fs``.

    The kubelet reports ``status.nodeInfo.bootID`` from /proc/sys/kernel/random/boot_id,
    which is unique per boot: equal boot IDs mean the same machine, whatever the node is
    called (--hostname-override). When the Node cannot be read (no RBAC for nodes), the
    node name is compared with the hostname instead.
    """
    from inspect8s.errors import ProbeFailed
    from inspect8s.kube.live import KubeAPIError

    def local(path: str) -> str | None:
        try:
            return fs.read_text(path).strip() or None
        except ProbeFailed:
            return None

    try:
        node = api.get_node(node_name)
    except KubeAPIError:
        return node_name == local("/proc/sys/kernel/hostname")
    boot_id = ((node.get("status") or {}).get("nodeInfo") or {}).get("bootID")
    if boot_id:
        return bool(boot_id == local("/proc/sys/kernel/random/boot_id"))
    return node_name == local("/proc/sys/kernel/hostname")


def pid(
    pid: Annotated[int, typer.Argument(help="A host PID, or the ID of any thread of it.")],
    output: OutputOpt = OutputFormat.TABLE,
    root: RootOpt = "/",
    timeout: TimeoutOpt = 3.0,
    cri_endpoint: CriEndpointOpt = None,
    docker_host: DockerHostOpt = None,
    from_dir: FromOpt = None,
) -> int:
    """Which container and pod a host process belongs to, with the same chain as
    `pod --trace-runtime`."""
    from inspect8s.collect import trace as trace
    from inspect8s.render.views import document, write_structured

    _check_output(output)
    fs, collection, clients = _gather(root, timeout, cri_endpoint, docker_host, from_dir)
    tgid, container = trace.container_of_pid(collection, fs, pid)
    if container is None:
        proc = collection.processes[tgid]
        cgroup = proc.cgroups[0].path if proc.cgroups else "unknown"
        if output is OutputFormat.TABLE:
            sys.stdout.write(
                f"PID {tgid} ({escape(proc.comm)}) is in no container; its cgroup is "
                f"{escape(cgroup)}\n"
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
    chain = trace.trace_pod(fs, collection, members, timeout=timeout, clients=clients)
    doc = document("RuntimeChain", chain)
    doc["traced_on"] = _traced_on(from_dir)
    if output is OutputFormat.TABLE:
        what = f"PID {tgid}" + (f" (thread {pid})" if pid != tgid else "")
        sys.stdout.write(
            f"{escape(what)} is in container {escape(container.name or '?')} "
            f"{escape(container.id[:13])} ({escape(container.runtime)})\n\n"
        )
        _emit(doc, output)
    else:
        write_structured(
            "ProcessOrigin",
            {"pid": tgid, "thread": pid, "container": container.id, "chain": doc},
            output.value,
            sys.stdout,
        )
    return 0
