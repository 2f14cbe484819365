"""`inspect8s pod NAME` and `inspect8s pid PID`: one pod's or one process's runtime chain."""

from __future__ import annotations

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
    from inspect8s.model import RuntimeChain

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
    from dataclasses import replace

    from inspect8s import api
    from inspect8s.errors import UsageError
    from inspect8s.render.views import document, write_pod_brief

    env = env_of(ctx)
    out = parse_output(output, "pod", no_headers=no_headers)
    if out.format == "html" and not trace_runtime:
        raise UsageError("-o html draws the runtime chain: add --trace-runtime")
    if (name is None) == (selector is None):
        raise UsageError("give the pod's name or -l/--selector (one of the two)")
    namespace = namespace_scope(namespace, all_namespaces)
    from_dir = one_bundle(env, from_dirs)
    if selector is not None and (local or from_dir is not None):
        raise UsageError(
            "-l/--selector looks pods up in the Kubernetes API: give --kubeconfig "
            "(without --local or --from)"
        )
    with out.progress(env) as progress:
        answers = api.find_pods(
            name,
            namespace,
            all_namespaces=all_namespaces,
            selector=selector,
            uid=uid,
            trace=trace_runtime,
            root=root_of(env, root),
            bundle=from_dir,
            cri_endpoints=cri_endpoint or (),
            docker_hosts=docker_host or (),
            timeout=timeout,
            use_api=False if local else None,
            kubeconfig=env.path(kubeconfig) if kubeconfig else None,
            context=context,
            environ=env.environ,
            agent_image=agent_image,
            agent_namespace=agent_namespace,
            agent_timeout=agent_timeout,
            progress=progress,
        )
    docs: list[dict[str, Any]] = []
    chains: list[RuntimeChain] = []
    for i, answer in enumerate(answers):
        if not trace_runtime:
            if out.is_table:
                if i:
                    env.stdout.write("\n")
                write_pod_brief(answer.containers, env.stdout, out.screen(env))
            else:
                body = {
                    "pod": answer.name,
                    "namespace": answer.containers[0].pod_namespace,
                    "containers": answer.containers,
                }
                docs.append(document("PodContainers", body))
            continue
        # traced here, or on another node by an agent pod (read back into the same models)
        assert answer.chain is not None
        chains.append(replace(answer.chain, api=answer.pod, traced_on=answer.traced_on))
    if not trace_runtime and out.is_table:
        return 0
    if not trace_runtime:
        out.write_document(_one_or_list(docs), env)
        return 0
    _emit(env, chains, out)
    return 0


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
    from inspect8s import api
    from inspect8s.render.views import document

    env = env_of(ctx)
    out = parse_output(output, "pid", no_headers=no_headers)
    answer = api.trace_pid(
        pid,
        root=root_of(env, root),
        bundle=one_bundle(env, from_dirs),
        cri_endpoints=cri_endpoint or (),
        docker_hosts=docker_host or (),
        timeout=timeout,
    )
    origin, container = answer.origin, answer.container
    tgid = origin.pid
    if container is None or answer.chain is None:
        sentence = f"PID {tgid} ({origin.comm}) is {origin.description}"
        if out.is_table:
            env.stdout.write(escape(sentence) + "\n")
        elif out.format == "html":
            from inspect8s.render.html import write_note_html

            write_note_html(f"PID {tgid}", sentence, env.stdout)
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

    chain = replace(answer.chain, traced_on=answer.traced_on)
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
