"""`inspect8s pod NAME` and `inspect8s pid PID`: one pod's or one process's runtime chain."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from inspect8s.commands._env import Environment, env_of
from inspect8s.commands._options import (
    DEFAULT_TIMEOUT,
    AgentImageOpt,
    AgentNamespaceOpt,
    AgentTimeoutOpt,
    ContextOpt,
    CriEndpointOpt,
    DockerHostOpt,
    FromOpt,
    KubeconfigOpt,
    NamespaceOpt,
    RootOpt,
    TimeoutOpt,
    one_bundle,
    root_of,
)
from inspect8s.commands._output import (
    AllNamespacesOpt,
    NoHeadersOpt,
    Output,
    SelectorOpt,
    ViewOutputOpt,
    namespace_scope,
    parse_output,
)
from inspect8s.render.escape import escape

if TYPE_CHECKING:
    from inspect8s.collect.node import NodeCollection
    from inspect8s.host.fs import HostFS
    from inspect8s.model import KubeletVersion, Pod, RuntimeChain
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


def _emit(
    env: Environment, chains: list[RuntimeChain], out: Output, lead: str | None = None
) -> None:
    """Write chains (one per pod); ``lead`` is the sentence before them (``pid``)."""
    if out.is_table:
        from inspect8s.render.views import write_trace_table

        screen = out.screen(env)
        if lead:
            env.stdout.write(escape(lead) + "\n\n")
        for i, chain in enumerate(chains):
            if i:
                env.stdout.write("\n")
            write_trace_table(chain, env.stdout, screen)
    elif out.format == "html":
        from inspect8s.render.html import write_trace_html

        write_trace_html(chains, env.stdout, lead=lead)
    else:
        from inspect8s.render.views import document

        out.write_document(_one_or_list([document("RuntimeChain", c) for c in chains]), env)


def _one_or_list(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """One document as it is; several (``-l``) as a ``List`` of them, as kubectl does."""
    if len(docs) == 1:
        return docs[0]
    from inspect8s.render.views import SCHEMA_VERSION

    return {"schemaVersion": SCHEMA_VERSION, "kind": "List", "items": docs}


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
    name: Annotated[
        str | None, typer.Argument(help="The pod's name (or -l SELECTOR).", show_default=False)
    ] = None,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNamespacesOpt = False,
    selector: SelectorOpt = None,
    trace_runtime: TraceOpt = False,
    output: ViewOutputOpt = "table",
    no_headers: NoHeadersOpt = False,
    root: RootOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
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
    kubeconfig the pod is looked up in the API (-A: in every namespace; -l: every pod whose
    labels match); a pod on another node is traced there by a short-lived agent pod,
    deleted afterwards."""
    from inspect8s.collect import trace as trace
    from inspect8s.errors import UsageError
    from inspect8s.render.views import document, write_pod_brief

    env = env_of(ctx)
    out = parse_output(output, "pod", no_headers=no_headers)
    if out.format == "html" and not trace_runtime:
        raise UsageError("-o html draws the runtime chain: add --trace-runtime")
    if (name is None) == (selector is None):
        raise UsageError("give the pod's name or -l/--selector (one of the two)")
    namespace = namespace_scope(namespace, all_namespaces)
    root = root_of(env, root)
    from_dir = one_bundle(env, from_dirs)
    kubeconfig = env.path(kubeconfig) if kubeconfig else None
    use_api = from_dir is None and _use_api(env, local, kubeconfig, context)
    if selector is not None and not use_api:
        raise UsageError(
            "-l/--selector looks pods up in the Kubernetes API: give --kubeconfig "
            "(without --local or --from)"
        )
    from dataclasses import replace

    # (namespace, name, uid, API view) of each pod to show; views None without the API
    wanted: list[tuple[str | None, str, str | None, Pod | None]] = []
    docs: list[dict[str, Any]] = []
    chains: list[RuntimeChain] = []
    kubelet_version: KubeletVersion | None = None
    if use_api:
        found, kubelet_version = _api_lookup(
            env,
            out,
            name,
            namespace,
            all_namespaces,
            selector,
            kubeconfig,
            context,
            timeout,
            root,
            trace_runtime,
            agent_image=agent_image,
            agent_namespace=agent_namespace,
            agent_timeout=agent_timeout,
        )
        for api_pod, remote in found:
            if remote is not None:
                chains.append(
                    replace(remote, api=api_pod, traced_on=f"agent pod on node {api_pod.node_name}")
                )
            else:
                wanted.append((api_pod.namespace, api_pod.name, api_pod.uid, api_pod))
    else:
        assert name is not None
        wanted.append((namespace, name, uid, None))
    if wanted:
        fs, collection, clients = _gather(
            root, timeout, cri_endpoint, docker_host, from_dir, kubelet_version
        )
    for i, (ns, pod_name, pod_uid, view) in enumerate(wanted):
        containers = trace.find_pod(collection.report, pod_name, ns, uid=uid or pod_uid)
        if not trace_runtime:
            if out.is_table:
                if i:
                    env.stdout.write("\n")
                write_pod_brief(containers, env.stdout, out.screen(env))
            else:
                body = {
                    "pod": pod_name,
                    "namespace": containers[0].pod_namespace,
                    "containers": containers,
                }
                docs.append(document("PodContainers", body))
            continue
        chain = trace.trace_pod(
            fs,
            collection,
            containers,
            timeout=timeout,
            pod_name=pod_name,
            pod_namespace=ns,
            clients=clients,
        )
        chains.append(replace(chain, api=view, traced_on=_traced_on(from_dir)))
    if not trace_runtime and out.is_table:
        return 0
    if not trace_runtime:
        out.write_document(_one_or_list(docs), env)
        return 0
    _emit(env, chains, out)
    return 0


def _api_lookup(
    env: Environment,
    out: Output,
    name: str | None,
    namespace: str | None,
    all_namespaces: bool,
    selector: str | None,
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    root: str,
    trace_runtime: bool,
    *,
    agent_image: str | None = None,
    agent_namespace: str = "default",
    agent_timeout: float = 120.0,
) -> tuple[list[tuple[Pod, RuntimeChain | None]], KubeletVersion | None]:
    """Look the pods up in the API: by name (in ``namespace``, or in every namespace with
    ``-A``) or by label selector. For each, its view and, when it runs on another node and
    a trace was asked for, the chain an agent pod there traced (read back from its JSON);
    and
    the kubelet's version as this node's Node object reports it (None: no pod here, or not
    readable)."""
    from inspect8s.errors import NotFoundError, UsageError
    from inspect8s.host.fs import HostFS
    from inspect8s.kube.agent import DEFAULT_AGENT_IMAGE, agent_chain, run_agent
    from inspect8s.kube.convert import pod_from_json
    from inspect8s.kube.live import KubeAPI
    from inspect8s.model import KubeletVersion

    found: list[tuple[Pod, RuntimeChain | None]] = []
    with (
        out.progress(env) as progress,
        KubeAPI.from_config(
            kubeconfig=kubeconfig, context=context, timeout=timeout, environ=env.environ
        ) as api,
    ):
        where = None if all_namespaces else (namespace or api.namespace)
        if selector is None and not all_namespaces:
            raws = [api.get_pod(namespace, str(name))]
        else:
            raws = list(api.list_pods(where, label_selector=selector, name=name))
            if not raws:
                scope = f"namespace {where!r}" if where else "any namespace"
                what = f"pod {name!r}" if name else f"pod matching {selector!r}"
                raise NotFoundError(f"no {what} in {scope}")
            if name is not None and len(raws) > 1:
                listed = ", ".join(
                    f"{(r.get('metadata') or {}).get('namespace')}/{name}" for r in raws
                )
                raise UsageError(f"pod {name!r} exists in several namespaces ({listed}); pass -n")
        this_node: dict[str, bool] = {}
        version: KubeletVersion | None = None
        for raw in raws:
            pod = pod_from_json(raw, default_namespace=where or api.namespace)
            node = pod.node_name
            if node is None:
                found.append((pod, None))
                continue
            if node not in this_node:
                here, node_obj = _is_this_node(api, node, HostFS(root))
                this_node[node] = here
                if here and node_obj is not None:
                    info = (node_obj.get("status") or {}).get("nodeInfo") or {}
                    said = info.get("kubeletVersion")
                    if isinstance(said, str) and said:
                        version = KubeletVersion(said, f"api:node/{node}")
            if not trace_runtime or this_node[node]:
                found.append((pod, None))
                continue
            args = ["pod", pod.name, "-n", pod.namespace, "--trace-runtime", "--local"]
            if pod.uid:
                args += ["--uid", pod.uid]
            what = f"tracing {pod.namespace}/{pod.name} on node {node} through an agent pod"
            progress.update(what, force=True)

            def polled(phase: str, what: str = what) -> None:
                progress.update(f"{what}: {phase or 'Pending'}")

            run = run_agent(
                api,
                node,
                args,
                image=agent_image or DEFAULT_AGENT_IMAGE,
                namespace=agent_namespace,
                timeout=agent_timeout,
                on_poll=polled,
            )
            found.append((pod, agent_chain(run)))
    return found, version


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
    output: ViewOutputOpt = "table",
    no_headers: NoHeadersOpt = False,
    root: RootOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    cri_endpoint: CriEndpointOpt = None,
    docker_host: DockerHostOpt = None,
    from_dirs: FromOpt = None,
) -> int:
    """Which container and pod a host process belongs to, with the same chain as
    `pod --trace-runtime`."""
    from inspect8s.collect import trace as trace
    from inspect8s.render.views import document

    env = env_of(ctx)
    out = parse_output(output, "pid", no_headers=no_headers)
    root = root_of(env, root)
    from_dir = one_bundle(env, from_dirs)
    fs, collection, clients = _gather(root, timeout, cri_endpoint, docker_host, from_dir)
    origin, container = trace.process_origin(collection, fs, pid)
    tgid = origin.pid
    if container is None:
        answer = f"PID {tgid} ({origin.comm}) is {origin.description}"
        if out.is_table:
            env.stdout.write(escape(answer) + "\n")
        elif out.format == "html":
            from inspect8s.render.html import write_note_html

            write_note_html(f"PID {tgid}", answer, env.stdout)
        else:
            body = {
                "pid": tgid,
                "comm": origin.comm,
                "container": None,
                "cgroup": origin.cgroup,
                "cgroup_line": origin.cgroup_line,
                "role": origin.role,
                "description": origin.description,
            }
            out.write_document(document("ProcessOrigin", body), env)
        return 0
    from dataclasses import replace

    members = trace.pod_containers(collection, container)
    chain = trace.trace_pod(fs, collection, members, timeout=timeout, clients=clients)
    chain = replace(chain, traced_on=_traced_on(from_dir))
    if out.is_table or out.format == "html":
        what = f"PID {tgid}" + (f" (thread {pid})" if pid != tgid else "")
        _emit(env, [chain], out, lead=f"{what} is {origin.description}")
    else:
        body = {
            "pid": tgid,
            "thread": pid,
            "container": container.id,
            "chain": document("RuntimeChain", chain),
            "cgroup": origin.cgroup,
            "cgroup_line": origin.cgroup_line,
            "role": origin.role,
            "description": origin.description,
        }
        out.write_document(document("ProcessOrigin", body), env)
    return 0
