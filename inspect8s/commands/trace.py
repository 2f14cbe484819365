"""`inspect8s pod NAME` and `inspect8s pid PID`: one pod's or one process's runtime chain."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from inspect8s.commands._env import Environment, env_of
from inspect8s.commands._options import (
    AgentImageOpt,
    AgentNamespaceOpt,
    AgentTimeoutOpt,
    ContextOpt,
    CriEndpointOpt,
    DockerHostOpt,
    FromOpt,
    KubeconfigOpt,
    NamespaceOpt,
    OutputOpt,
    RootOpt,
    TimeoutOpt,
    one_bundle,
    output_format,
    root_of,
)
from inspect8s.render.escape import escape

if TYPE_CHECKING:
    from inspect8s.collect.node import NodeCollection
    from inspect8s.host.fs import HostFS
    from inspect8s.model import KubeletVersion
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


def _gather(
    root: str,
    timeout: float,
    cri_endpoint: list[str] | None,
    docker_host: list[str] | None,
    from_dir: str | None = None,
    kubelet_version: KubeletVersion | None = None,
) -> tuple[HostFS, NodeCollection, RuntimeClients | None]:
    """The node picture, from the host under ``root`` or from a bundle (``--from``), and
    the runtime clients a trace should ask (None: the live sockets)."""
    from inspect8s.collect.node import gather_node
    from inspect8s.collect.sources import open_sources

    sources = open_sources(root, from_dir)
    options = sources.options(
        cri_endpoints=cri_endpoint or (),
        docker_hosts=docker_host or (),
        timeout=timeout,
        kubelet_version=kubelet_version,
    )
    return sources.fs, gather_node(sources.fs, options), sources.clients


UidOpt = Annotated[
    str | None,
    typer.Option(
        "--uid",
        help="The pod's UID: find its containers by the UID in their cgroup paths "
        "(for nodes whose runtime does not answer; the agent pod passes it).",
    ),
]


def _emit(env: Environment, doc: dict[str, Any], fmt: str) -> None:
    from inspect8s.render.views import write_json, write_trace_table, write_yaml

    if fmt == "table":
        write_trace_table(doc, env.stdout)
    elif fmt == "yaml":
        write_yaml(doc, env.stdout)
    else:
        write_json(doc, env.stdout)


def _traced_on(from_dir: str | None) -> str:
    return f"bundle {from_dir}" if from_dir else "this machine"


def _use_api(env: Environment, local: bool, kubeconfig: str | None, context: str | None) -> bool:
    """Use the Kubernetes API unless --local, or nothing points at a cluster."""
    if local:
        return False
    if kubeconfig or context or env.environ.get("KUBECONFIG"):
        return True
    if env.environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    home = env.environ.get("HOME")
    return home is not None and os.path.isfile(os.path.join(home, ".kube", "config"))


def pod(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The pod's name.")],
    namespace: NamespaceOpt = None,
    trace_runtime: TraceOpt = False,
    output: OutputOpt = "table",
    root: RootOpt = None,
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
    from_dirs: FromOpt = None,
) -> int:
    """Show one pod's containers on this node; with --trace-runtime, its whole runtime chain.

    On the node itself no Kubernetes API is needed: the pod is found through the kubelet's
    labels on the runtime's sandboxes and containers (--local forces this). With a
    kubeconfig the pod is looked up in the API; if it runs on another node, a short-lived
    agent pod traces it there and is deleted afterwards."""
    from inspect8s.collect import trace as trace
    from inspect8s.render.views import document, write_pod_brief, write_structured

    env = env_of(ctx)
    fmt = output_format(output, "pod")
    root = root_of(env, root)
    from_dir = one_bundle(env, from_dirs)
    kubeconfig = env.path(kubeconfig) if kubeconfig else None
    api_pod: dict[str, Any] | None = None
    kubelet_version: KubeletVersion | None = None
    if from_dir is None and _use_api(env, local, kubeconfig, context):
        api_pod, remote, kubelet_version = _api_lookup(
            env,
            name,
            namespace,
            kubeconfig,
            context,
            timeout,
            root,
            trace_runtime,
            agent_image=agent_image,
            agent_namespace=agent_namespace,
            agent_timeout=agent_timeout,
        )
        if remote is not None:
            run, node = remote
            doc = dict(run)
            doc["api"] = api_pod
            doc["traced_on"] = f"agent pod on node {node}"
            _emit(env, doc, fmt)
            return 0
        namespace = api_pod["namespace"]
        uid = uid or api_pod.get("uid")
    fs, collection, clients = _gather(
        root, timeout, cri_endpoint, docker_host, from_dir, kubelet_version
    )
    containers = trace.find_pod(collection.report, name, namespace, uid=uid)
    if not trace_runtime:
        if fmt == "table":
            write_pod_brief(containers, env.stdout)
        else:
            write_structured(
                "PodContainers",
                {"pod": name, "namespace": containers[0].pod_namespace, "containers": containers},
                fmt,
                env.stdout,
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
    _emit(env, doc, fmt)
    return 0


def _api_lookup(
    env: Environment,
    name: str,
    namespace: str | None,
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    root: str,
    trace_runtime: bool,
    *,
    agent_image: str | None = None,
    agent_namespace: str = "default",
    agent_timeout: float = 120.0,
) -> tuple[dict[str, Any], tuple[dict[str, Any], str] | None, KubeletVersion | None]:
    """Look the pod up in the API. Returns its view as data; when it runs on another
    node and a trace was asked for, the agent's chain document and that node's name; and
    the kubelet's version as this node's Node object reports it (None: not this node or
    not readable)."""
    from inspect8s.host.fs import HostFS
    from inspect8s.kube.agent import DEFAULT_AGENT_IMAGE, run_agent
    from inspect8s.kube.convert import pod_from_json
    from inspect8s.kube.live import KubeAPI
    from inspect8s.model import KubeletVersion
    from inspect8s.model.serialize import to_data

    with KubeAPI.from_config(
        kubeconfig=kubeconfig, context=context, timeout=timeout, environ=env.environ
    ) as api:
        raw = api.get_pod(namespace, name)
        pod = pod_from_json(raw, default_namespace=namespace or api.namespace)
        view: dict[str, Any] = to_data(pod)
        node = pod.node_name
        if node is None:
            return view, None, None
        here, node_obj = _is_this_node(api, node, HostFS(root))
        version = None
        if here and node_obj is not None:
            said = ((node_obj.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion")
            if isinstance(said, str) and said:
                version = KubeletVersion(said, f"api:node/{node}")
        if not trace_runtime or here:
            return view, None, version
        args = ["pod", pod.name, "-n", pod.namespace, "--trace-runtime", "--local"]
        if pod.uid:
            args += ["--uid", pod.uid]
        progress = _progress(env, f"tracing {pod.namespace}/{pod.name} on node {node}")
        run = run_agent(
            api,
            node,
            args,
            image=agent_image or DEFAULT_AGENT_IMAGE,
            namespace=agent_namespace,
            timeout=agent_timeout,
            on_poll=progress,
        )
        return view, (run.output, node), None


def _progress(env: Environment, what: str) -> Any:
    """A poll callback that tells a person at a terminal what is being waited for."""
    interactive = env.stderr_isatty
    if interactive:
        env.stderr.write(f"inspect8s: {what} through an agent pod...\n")

    def on_poll(phase: str) -> None:
        if interactive:
            env.stderr.write(f"\rinspect8s: agent pod {phase or 'pending'}   ")
            env.stderr.flush()

    return on_poll


def _is_this_node(api: Any, node_name: str, fs: HostFS) -> tuple[bool, dict[str, Any] | None]:
    """Whether the Node ``node_name`` is the machine under ``fs``, and the Node (None: it
    could not be read).

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
        return node_name == local("/proc/sys/kernel/hostname"), None
    boot_id = ((node.get("status") or {}).get("nodeInfo") or {}).get("bootID")
    if boot_id:
        return bool(boot_id == local("/proc/sys/kernel/random/boot_id")), node
    return node_name == local("/proc/sys/kernel/hostname"), node


def pid(
    ctx: typer.Context,
    pid: Annotated[int, typer.Argument(help="A host PID, or the ID of any thread of it.")],
    output: OutputOpt = "table",
    root: RootOpt = None,
    timeout: TimeoutOpt = 3.0,
    cri_endpoint: CriEndpointOpt = None,
    docker_host: DockerHostOpt = None,
    from_dirs: FromOpt = None,
) -> int:
    """Which container and pod a host process belongs to, with the same chain as
    `pod --trace-runtime`."""
    from inspect8s.collect import trace as trace
    from inspect8s.render.views import document, write_structured

    env = env_of(ctx)
    fmt = output_format(output, "pid")
    root = root_of(env, root)
    from_dir = one_bundle(env, from_dirs)
    fs, collection, clients = _gather(root, timeout, cri_endpoint, docker_host, from_dir)
    origin, container = trace.process_origin(collection, fs, pid)
    tgid = origin.pid
    if container is None:
        if fmt == "table":
            env.stdout.write(escape(f"PID {tgid} ({origin.comm}) is {origin.description}") + "\n")
        else:
            write_structured(
                "ProcessOrigin",
                {"pid": tgid, "comm": origin.comm, "container": None, "cgroup": origin.cgroup,
                 "role": origin.role, "description": origin.description},
                fmt,
                env.stdout,
            )  # fmt: skip
        return 0
    members = trace.pod_containers(collection, container)
    chain = trace.trace_pod(fs, collection, members, timeout=timeout, clients=clients)
    doc = document("RuntimeChain", chain)
    doc["traced_on"] = _traced_on(from_dir)
    if fmt == "table":
        what = f"PID {tgid}" + (f" (thread {pid})" if pid != tgid else "")
        env.stdout.write(escape(f"{what} is {origin.description}") + "\n\n")
        _emit(env, doc, fmt)
    else:
        write_structured(
            "ProcessOrigin",
            {
                "pid": tgid,
                "thread": pid,
                "container": container.id,
                "chain": doc,
                "role": origin.role,
                "description": origin.description,
            },
            fmt,
            env.stdout,
        )
    return 0
