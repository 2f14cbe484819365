"""The library: everything the CLI does, as calls that return models.

Every call reads the live host under ``root`` ("/" or a mounted host such as "/host"), or
a ``bundle`` written by :func:`record`; asks the runtimes behind the sockets it finds plus
``cri_endpoints``/``docker_hosts``; waits at most ``timeout`` seconds for each runtime or
API call; and finds the Kubernetes API as kubectl does (``kubeconfig``, ``context``,
``$KUBECONFIG``, ``~/.kube/config``, in-cluster), reading variables from ``environ``
(None: ``os.environ``).

=====================  ======================================================  ===========
call                   answers                                                 like
=====================  ======================================================  ===========
node_report            NodeReport: runtimes, sockets, shims, kubelet, every    node
                       container with its pod, PIDs, QoS, limits, namespaces
node_config            NodeReport and NodeConfig: kubelet, containerd, CRI-O,  node --config
                       Docker and crictl configuration, each value's source
find_pods              PodTrace per pod: its containers here (and its chain)   pod NAME / -l
trace_pod              PodTrace: one pod's runtime chain                       pod --trace-runtime
trace_pid              ProcessTrace: what a host PID is, and its pod's chain   pid PID
audit_node             AuditResult of this node (and its pods' specs)          audit
audit_manifests        AuditResult of manifest files                           audit --manifests
audit_cluster          AuditResult of every pod and Node (and node, by agent)  audit --cluster
record                 RecordedBundle: a replayable bundle of this node        record DIR
list_checks            the checks an audit runs                                checks
=====================  ======================================================  ===========

Calls never print and never exit. Probe failures (a file, a socket, an API call) are
``ProbeError`` records in the answer; whole-call failures raise
:class:`~inspect8s.errors.UsageError` (exit 2: a bad argument, an unknown pod or PID, a
file that is not what it should be; ``NotFoundError`` for what does not exist) or another
:class:`~inspect8s.errors.Inspect8sError` (exit 4: nothing could be collected, a plugin
failed to load, the API refused). Each error's ``param`` names the argument it is about.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, Protocol

from inspect8s.errors import UsageError
from inspect8s.model.frozen import frozen

if TYPE_CHECKING:
    from inspect8s.audit.registry import Check, CheckSettings
    from inspect8s.audit.results import AuditResult, Scope
    from inspect8s.audit.runner import IgnoreRule
    from inspect8s.collect.cluster import NodeAudit
    from inspect8s.collect.node import NodeCollection
    from inspect8s.collect.sources import Sources
    from inspect8s.kube.live import KubeAPI
    from inspect8s.model import (
        KubeletVersion,
        NodeConfig,
        NodeReport,
        Pod,
        PodTrace,
        ProcessTrace,
        RecordedBundle,
        RuntimeChain,
        Snapshot,
    )

DEFAULT_TIMEOUT_S = 5.0  # every runtime or API call, as the CLI's --timeout
DEFAULT_AGENT_NAMESPACE = "default"
DEFAULT_AGENT_TIMEOUT_S = 120.0
DEFAULT_PARALLEL = 4


class ProgressSink(Protocol):
    """Where a long call says how far it got (``render.progress.Progress`` is one): a
    status line, a line that stays, and ``what done/total`` steps. Never required."""

    def update(self, text: str, *, force: bool = False) -> None: ...

    def log(self, text: str) -> None: ...

    def step(self, what: str, done: int, total: int | None = None) -> None: ...


class _Quiet:
    """No progress shown."""

    def update(self, text: str, *, force: bool = False) -> None:
        pass

    def log(self, text: str) -> None:
        pass

    def step(self, what: str, done: int, total: int | None = None) -> None:
        pass


_QUIET = _Quiet()


# --------------------------------------------------------------------------- sources


@contextmanager
def _gather(
    root: str,
    bundle: str | None,
    cri_endpoints: Sequence[str],
    docker_hosts: Sequence[str],
    timeout: float,
    *,
    runtime_calls: bool = True,
    kubelet_version: KubeletVersion | None = None,
) -> Iterator[tuple[Sources, NodeCollection]]:
    """The sources (the live host under ``root``, or ``bundle``) and the node picture built
    from them; the runtime connections it opened are closed when the block ends."""
    from inspect8s.collect.node import gather_node
    from inspect8s.collect.sources import open_sources

    sources = open_sources(root, bundle)
    options = sources.options(
        cri_endpoints=cri_endpoints,
        docker_hosts=docker_hosts,
        timeout=timeout,
        query_runtimes=runtime_calls,
        kubelet_version=kubelet_version,
    )
    collection = gather_node(sources.fs, options)
    try:
        yield sources, collection
    finally:
        collection.close()


def _with_errors(collection: NodeCollection) -> NodeReport:
    """The report with every probe error of the collection (those found after it too)."""
    return dataclasses.replace(collection.report, errors=tuple(collection.errors.items))


def _traced_on(bundle: str | None) -> str:
    return f"bundle {bundle}" if bundle else "this machine"


# --------------------------------------------------------------------------- the API


def _wants_api(
    use_api: bool | None,
    kubeconfig: str | None,
    context: str | None,
    environ: Mapping[str, str],
) -> bool:
    """``use_api`` when given; else whether anything points at a cluster."""
    if use_api is not None:
        return use_api
    if kubeconfig or context or environ.get("KUBECONFIG"):
        return True
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    home = environ.get("HOME")
    return home is not None and os.path.isfile(os.path.join(home, ".kube", "config"))


@contextmanager
def _kube(
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    environ: Mapping[str, str] | None,
) -> Iterator[KubeAPI]:
    from inspect8s.kube.live import KubeAPI

    with KubeAPI.from_config(
        kubeconfig=kubeconfig, context=context, timeout=timeout, environ=environ
    ) as api:
        yield api


# --------------------------------------------------------------------------- node


def node_report(
    *,
    root: str = "/",
    bundle: str | None = None,
    cri_endpoints: Sequence[str] = (),
    docker_hosts: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT_S,
    runtime_calls: bool = True,
) -> NodeReport:
    """What runs on the node and how it is isolated (``inspect8s node``).

    ``runtime_calls`` False reads host files only (container names then come from cgroup
    paths). Raises UsageError when ``root`` holds no ``/proc`` or ``bundle`` is not one.
    """
    with _gather(
        root, bundle, cri_endpoints, docker_hosts, timeout, runtime_calls=runtime_calls
    ) as (_, collection):
        return _with_errors(collection)


def node_config(
    *,
    root: str = "/",
    bundle: str | None = None,
    cri_endpoints: Sequence[str] = (),
    docker_hosts: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT_S,
    runtime_calls: bool = True,
) -> tuple[NodeReport, NodeConfig]:
    """The node report and the node's configuration (``inspect8s node --config``): the
    kubelet's, and containerd's, CRI-O's and dockerd's from the file the daemon the kubelet
    uses was started with; each value with the file and line or flag that set it. The
    report's errors include the configuration files that could not be read or parsed.
    """
    from inspect8s.collect.nodeaudit import node_config_of

    with _gather(
        root, bundle, cri_endpoints, docker_hosts, timeout, runtime_calls=runtime_calls
    ) as (sources, collection):
        config = node_config_of(sources.fs, collection, collection.errors)
        return _with_errors(collection), config


# --------------------------------------------------------------------------- pods and PIDs


@frozen
class _Agent:
    """How to trace a pod on another node: an agent pod there."""

    image: str | None
    namespace: str
    timeout: float


def _pods_from_api(
    name: str | None,
    namespace: str | None,
    *,
    all_namespaces: bool,
    selector: str | None,
    root: str,
    timeout: float,
    kubeconfig: str | None,
    context: str | None,
    environ: Mapping[str, str] | None,
    agent: _Agent | None,
    progress: ProgressSink,
) -> tuple[list[tuple[Pod, tuple[RuntimeChain, dict[str, Any]] | None]], KubeletVersion | None]:
    """The pods asked for, as the API has them: by name (in ``namespace``, or in every
    namespace), or by label selector. For each, when it runs on another node and an
    ``agent`` was given, the chain an agent pod there traced (read back into the models)
    and its document as printed; and the kubelet's
    version as this machine's Node object reports it (None: no pod here, or unreadable)."""
    from inspect8s.collect.cluster import kubelet_version_of, node_here, read_machine
    from inspect8s.errors import NotFoundError
    from inspect8s.host.fs import HostFS
    from inspect8s.kube.convert import pod_from_json

    found: list[tuple[Pod, tuple[RuntimeChain, dict[str, Any]] | None]] = []
    version: KubeletVersion | None = None
    machine = read_machine(HostFS(root))
    with _kube(kubeconfig, context, timeout, environ) as kube:
        where = None if all_namespaces else (namespace or kube.namespace)
        if selector is None and not all_namespaces:
            raws = [kube.get_pod(namespace, str(name))]
        else:
            raws = list(kube.list_pods(where, label_selector=selector, name=name))
            if not raws:
                scope = f"namespace {where!r}" if where else "any namespace"
                what = f"pod {name!r}" if name else f"pod matching {selector!r}"
                raise NotFoundError(f"no {what} in {scope}")
            if name is not None and len(raws) > 1:
                listed = ", ".join(
                    f"{(r.get('metadata') or {}).get('namespace')}/{name}" for r in raws
                )
                raise UsageError(
                    f"pod {name!r} exists in several namespaces ({listed}); name one",
                    param="namespace",
                )
        here: dict[str, bool] = {}
        for raw in raws:
            pod = pod_from_json(raw, default_namespace=where or kube.namespace)
            node = pod.node_name
            if node is None:
                found.append((pod, None))
                continue
            if node not in here:
                here[node], node_object = node_here(kube, node, machine)
                if here[node] and node_object is not None:
                    version = kubelet_version_of(node_object) or version
            if agent is None or here[node]:
                found.append((pod, None))
                continue
            found.append((pod, _trace_by_agent(kube, pod, node, agent, progress)))
    return found, version


def find_pods(
    name: str | None = None,
    namespace: str | None = None,
    *,
    all_namespaces: bool = False,
    selector: str | None = None,
    uid: str | None = None,
    trace: bool = False,
    root: str = "/",
    bundle: str | None = None,
    cri_endpoints: Sequence[str] = (),
    docker_hosts: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT_S,
    use_api: bool | None = False,
    kubeconfig: str | None = None,
    context: str | None = None,
    environ: Mapping[str, str] | None = None,
    agent_image: str | None = None,
    agent_namespace: str = DEFAULT_AGENT_NAMESPACE,
    agent_timeout: float = DEFAULT_AGENT_TIMEOUT_S,
    progress: ProgressSink | None = None,
) -> tuple[PodTrace, ...]:
    """Pods and their containers on this node (``inspect8s pod``); with ``trace``, each
    pod's whole runtime chain (``--trace-runtime``).

    Without the API a pod is named by ``name`` (and ``namespace``), found through the
    kubelet's labels on the runtime's sandboxes and containers, or by ``uid`` in their
    cgroup paths. With ``use_api`` (None: when a cluster configuration is found) the API
    names the pods first: ``name`` in ``namespace`` (or in every namespace with
    ``all_namespaces``; without the API, every namespace on this node), or every pod whose
    labels match ``selector``; with ``trace``, a pod
    on another node is traced there by a short-lived agent pod (``agent_image`` in
    ``agent_namespace``, at most ``agent_timeout`` seconds), deleted afterwards.

    Raises NotFoundError for a pod that is not there (naming close matches), UsageError for
    a name held by pods of several namespaces, AgentError when an agent pod cannot run.
    """
    from inspect8s.collect import trace as chains
    from inspect8s.model import PodTrace

    sink = progress or _QUIET
    env = os.environ if environ is None else environ
    wants_api = bundle is None and _wants_api(use_api, kubeconfig, context, env)
    if selector is not None and not wants_api:
        raise UsageError("a label selector needs the Kubernetes API", param="selector")
    if name is None and selector is None:
        raise UsageError("name a pod or give a label selector", param="selector")
    answers: list[PodTrace] = []
    wanted: list[tuple[str | None, str, str | None, Pod | None]] = []  # ns, name, uid, API
    version: KubeletVersion | None = None
    if wants_api:
        agent = _Agent(agent_image, agent_namespace, agent_timeout) if trace else None
        found, version = _pods_from_api(
            name,
            namespace,
            all_namespaces=all_namespaces,
            selector=selector,
            root=root,
            timeout=timeout,
            kubeconfig=kubeconfig,
            context=context,
            environ=environ,
            agent=agent,
            progress=sink,
        )
        for seen, remote in found:
            if remote is not None:
                where = f"agent pod on node {seen.node_name}"
                chain, printed = remote
                answers.append(
                    PodTrace(
                        seen.name, seen.namespace, where, chain=chain, pod=seen, remote=printed
                    )
                )
            else:
                wanted.append((seen.namespace, seen.name, seen.uid, seen))
    else:
        assert name is not None
        wanted.append((namespace, name, uid, None))
    if not wanted:
        return tuple(answers)
    with _gather(root, bundle, cri_endpoints, docker_hosts, timeout, kubelet_version=version) as (
        sources,
        collection,
    ):
        for ns, pod_name, pod_uid, pod in wanted:
            containers = tuple(chains.find_pod(collection.report, pod_name, ns, uid=uid or pod_uid))
            traced: RuntimeChain | None = None
            if trace:
                traced = chains.trace_pod(
                    sources.fs,
                    collection,
                    containers,
                    timeout=timeout,
                    pod_name=pod_name,
                    pod_namespace=ns,
                    clients=sources.clients,
                )
            answers.append(
                PodTrace(pod_name, ns, _traced_on(bundle), containers, chain=traced, pod=pod)
            )
    return tuple(answers)


def trace_pod(
    name: str,
    namespace: str | None = None,
    *,
    uid: str | None = None,
    root: str = "/",
    bundle: str | None = None,
    cri_endpoints: Sequence[str] = (),
    docker_hosts: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT_S,
    use_api: bool | None = False,
    kubeconfig: str | None = None,
    context: str | None = None,
    environ: Mapping[str, str] | None = None,
    progress: ProgressSink | None = None,
) -> PodTrace:
    """One pod's whole runtime chain (``inspect8s pod NAME --trace-runtime``): kubelet, CRI
    endpoint, runtime, shim, OCI runtime, processes, namespaces, cgroup and limits, each
    link with its source. :func:`find_pods` with ``trace=True`` for one pod; raises as it.
    """
    (answer,) = find_pods(
        name,
        namespace,
        uid=uid,
        trace=True,
        root=root,
        bundle=bundle,
        cri_endpoints=cri_endpoints,
        docker_hosts=docker_hosts,
        timeout=timeout,
        use_api=use_api,
        kubeconfig=kubeconfig,
        context=context,
        environ=environ,
        progress=progress,
    )
    return answer


def _trace_by_agent(
    kube: KubeAPI, pod: Pod, node: str, agent: _Agent, progress: ProgressSink
) -> tuple[RuntimeChain, dict[str, Any]]:
    """The chain an agent pod on ``node`` traces for ``pod``, read back into the chain
    models (ProbeFailed(MALFORMED) when its document does not fit them), and the document
    as it printed it."""
    from inspect8s.kube.agent import DEFAULT_AGENT_IMAGE, agent_chain, run_agent

    args = ["pod", pod.name, "-n", pod.namespace, "--trace-runtime", "--local"]
    if pod.uid:
        args += ["--uid", pod.uid]
    what = f"tracing {pod.namespace}/{pod.name} on node {node} through an agent pod"
    progress.update(what, force=True)

    def polled(phase: str) -> None:
        progress.update(f"{what}: {phase or 'Pending'}")

    run = run_agent(
        kube,
        node,
        args,
        image=agent.image or DEFAULT_AGENT_IMAGE,
        namespace=agent.namespace,
        timeout=agent.timeout,
        on_poll=polled,
    )
    return agent_chain(run), dict(run.output)


def trace_pid(
    pid: int,
    *,
    root: str = "/",
    bundle: str | None = None,
    cri_endpoints: Sequence[str] = (),
    docker_hosts: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT_S,
) -> ProcessTrace:
    """What a host process (or thread) is: in a container, the sandbox of a pod, the monitor
    of a container, a runtime daemon, the kubelet or the host; with the chain of the pod
    concerned, as :func:`trace_pod` gives it (``inspect8s pid PID``). Raises NotFoundError
    for a PID that does not exist."""
    from inspect8s.collect import trace
    from inspect8s.model import ProcessTrace

    with _gather(root, bundle, cri_endpoints, docker_hosts, timeout) as (sources, collection):
        origin, container = trace.process_origin(collection, sources.fs, pid)
        chain = None
        if container is not None:
            members = trace.pod_containers(collection, container)
            chain = trace.trace_pod(
                sources.fs, collection, members, timeout=timeout, clients=sources.clients
            )
    return ProcessTrace(
        origin=origin, container=container, chain=chain, traced_on=_traced_on(bundle)
    )


# --------------------------------------------------------------------------- checks


def list_checks(
    *,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    checks_path: Sequence[str] = (),
    benchmark: str | None = None,
) -> tuple[Check, ...]:
    """The checks an audit runs (``inspect8s checks``): built-in and installed plugins, plus
    the Python files or directories in ``checks_path``; those whose ID starts with a
    ``select`` prefix (all when none) and with no ``ignore`` prefix, of ``benchmark``
    ("cis": the CIS Kubernetes Benchmark items; None: any), sorted by ID.

    Raises PluginLoadError (exit 4) for a plugin that fails to load or two checks with
    one ID.
    """
    from inspect8s.audit.registry import filter_checks, load_checks

    return filter_checks(
        load_checks(checks_path), select=select, ignore=ignore, benchmark=benchmark
    )


def _audit_setup(
    select: Sequence[str],
    benchmark: str | None,
    ignore: Sequence[str],
    checks_path: Sequence[str],
    ignore_file: str | None,
    target_version: str | None,
    versions_files: Sequence[str],
    check_options: Mapping[str, str] | None,
    scopes: Sequence[Scope] | None = None,
) -> tuple[tuple[Check, ...], tuple[IgnoreRule, ...], CheckSettings]:
    """The checks to run (of ``scopes``; None: all), the accepted findings and the
    settings; every argument is checked before anything is collected."""
    from inspect8s.audit.apitable import load_table
    from inspect8s.audit.registry import CheckSettings
    from inspect8s.audit.runner import load_ignore_file

    settings = CheckSettings(
        target_version=target_version,
        options=dict(check_options or {}),
        target_source="--target-version" if target_version else None,
        versions_files=tuple(versions_files),
    )
    if settings.versions_files:
        load_table(settings.versions_files)  # a bad versions file before any probe
    checks = list_checks(select=select, ignore=ignore, checks_path=checks_path, benchmark=benchmark)
    if scopes is not None:
        checks = tuple(c for c in checks if c.scope in scopes)
    if benchmark and not checks:
        raise UsageError(
            f"benchmark {benchmark}: no check belongs to it (known: cis)", param="benchmark"
        )
    if select and not checks:
        raise UsageError(f"no check ID starts with {','.join(select)}", param="select")
    rules = load_ignore_file(ignore_file) if ignore_file else ()
    return checks, rules, settings


# --------------------------------------------------------------------------- audits


def audit_node(
    *,
    root: str = "/",
    bundle: str | None = None,
    cri_endpoints: Sequence[str] = (),
    docker_hosts: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT_S,
    kubelet_version: str | None = None,
    pods_file: str | None = None,
    kubeconfig: str | None = None,
    context: str | None = None,
    environ: Mapping[str, str] | None = None,
    namespace: str | None = None,
    selector: str | None = None,
    node_name: str | None = None,
    runtime_classes: Mapping[str, str] | None = None,
    select: Sequence[str] = (),
    benchmark: str | None = None,
    ignore: Sequence[str] = (),
    checks_path: Sequence[str] = (),
    ignore_file: str | None = None,
    target_version: str | None = None,
    versions_files: Sequence[str] = (),
    check_options: Mapping[str, str] | None = None,
) -> AuditResult:
    """Run the checks on this node (``inspect8s audit``), or on a ``bundle``.

    The kubelet's version is ``kubelet_version``, else the bundle's record, else what the
    host says; ``target_version`` (a Kubernetes release, "1.31") defaults to the kubelet's
    own minor. Pod specs come from ``pods_file`` (``kubectl get pods -o json``) or, with
    ``kubeconfig``/``context``, from the API (the pods in ``namespace``, None: all, whose
    labels match ``selector``, of the Node named ``node_name``, else of the Node that is
    this machine), so the spec-versus-kernel checks run; API failures are probe errors.
    ``runtime_classes`` (name -> handler) are checked against the node's runtime (listed
    from the API when not given). ``ignore_file`` holds accepted findings;
    ``versions_files`` add API version table entries. inspect8s's own pods are left out.
    """
    from inspect8s.audit.runner import run_checks
    from inspect8s.collect.nodeaudit import collect_for_node

    checks, rules, settings = _audit_setup(
        select,
        benchmark,
        ignore,
        checks_path,
        ignore_file,
        target_version,
        versions_files,
        check_options,
    )
    if pods_file and (kubeconfig or context):
        raise UsageError(
            "pod specs from a file and from the API: pick one source", param="pods_file"
        )
    if (namespace or selector) and not (kubeconfig or context):
        raise UsageError("a namespace or label selector needs the Kubernetes API", param="selector")
    snapshot = collect_for_node(
        root,
        from_dirs=(bundle,) if bundle else (),
        timeout=timeout,
        cri_endpoints=tuple(cri_endpoints),
        docker_hosts=tuple(docker_hosts),
        kubelet_version=kubelet_version,
    )
    snapshot = _join_specs(
        snapshot,
        root=root,
        bundle=bundle,
        pods_file=pods_file,
        kubeconfig=kubeconfig,
        context=context,
        environ=environ,
        timeout=timeout,
        node_name=node_name,
        namespace=namespace,
        selector=selector,
        runtime_classes=runtime_classes,
    )
    if settings.target_version is None and snapshot.kubelet_version is not None:
        minor = snapshot.kubelet_version.minor
        if minor is not None:  # default: the kubelet's own minor
            settings = dataclasses.replace(
                settings,
                target_version=f"1.{minor}",
                target_source=f"the kubelet ({snapshot.kubelet_version.version})",
            )
    return run_checks(
        snapshot,
        checks,
        settings=settings,
        ignore=rules,
        target="node",
        inputs=(bundle or root,),
        leave_out_own=True,
    )


def _join_specs(
    snapshot: Snapshot,
    *,
    root: str,
    bundle: str | None,
    pods_file: str | None,
    kubeconfig: str | None,
    context: str | None,
    environ: Mapping[str, str] | None,
    timeout: float,
    node_name: str | None,
    namespace: str | None,
    selector: str | None,
    runtime_classes: Mapping[str, str] | None,
) -> Snapshot:
    """The node snapshot with pod specs from a file or the API, and the RuntimeClasses."""
    from inspect8s.collect import cluster
    from inspect8s.collect.sources import open_sources
    from inspect8s.model import RuntimeClass

    if runtime_classes is not None:
        classes = tuple(RuntimeClass(name=k, handler=v) for k, v in sorted(runtime_classes.items()))
        snapshot = dataclasses.replace(snapshot, runtime_classes=classes)
    if pods_file:
        pods, errors = cluster.load_pod_list(pods_file)
        return dataclasses.replace(snapshot, pods=pods, errors=(*snapshot.errors, *errors))
    if kubeconfig or context:
        machine = cluster.read_machine(open_sources(root, bundle).fs)
        with _kube(kubeconfig, context, timeout, environ) as kube:
            return cluster.join_node(
                snapshot,
                kube,
                machine=machine,
                node_name=node_name,
                namespace=namespace,
                selector=selector,
            )
    return snapshot


def audit_manifests(
    paths: Sequence[str],
    *,
    stdin: IO[Any] | None = None,
    max_file_bytes: int | None = None,
    select: Sequence[str] = (),
    benchmark: str | None = None,
    ignore: Sequence[str] = (),
    checks_path: Sequence[str] = (),
    ignore_file: str | None = None,
    target_version: str | None = None,
    versions_files: Sequence[str] = (),
    check_options: Mapping[str, str] | None = None,
    progress: ProgressSink | None = None,
) -> AuditResult:
    """Run the pod and object checks on Kubernetes manifests (``inspect8s audit
    --manifests``): YAML or JSON files, directories (recursive), "-" for ``stdin``; each file
    at most ``max_file_bytes`` (None: the reader's default). The files are streamed, so
    memory grows with what is found. Raises NotFoundError for a path that does not exist;
    a document that does not parse is a probe error."""
    from inspect8s.audit.results import Scope
    from inspect8s.audit.runner import audit_manifests as run_on_manifests
    from inspect8s.collect.manifests import manifest_files

    checks, rules, settings = _audit_setup(
        select,
        benchmark,
        ignore,
        checks_path,
        ignore_file,
        target_version,
        versions_files,
        check_options,
        scopes=(Scope.POD, Scope.OBJECT),
    )
    read = None
    if progress is not None:
        sink = progress
        total = len(manifest_files(paths))
        started: list[str] = []

        def read(file: str, done: int, size: int | None, documents: int) -> None:
            if not started or started[-1] != file:
                started.append(file)
            finished = len(started) - (0 if size is not None and done >= size else 1)
            sink.step(f"manifests ({documents:,} documents): files", finished, total)

    return run_on_manifests(
        paths,
        checks,
        settings=settings,
        ignore=rules,
        stdin=stdin,
        max_file_bytes=max_file_bytes,
        progress=read,
    )


def audit_cluster(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    namespace: str | None = None,
    selector: str | None = None,
    agents: bool = False,
    parallel: int = DEFAULT_PARALLEL,
    agent_image: str | None = None,
    agent_namespace: str = DEFAULT_AGENT_NAMESPACE,
    agent_timeout: float = DEFAULT_AGENT_TIMEOUT_S,
    select: Sequence[str] = (),
    benchmark: str | None = None,
    ignore: Sequence[str] = (),
    checks_path: Sequence[str] = (),
    ignore_file: str | None = None,
    target_version: str | None = None,
    versions_files: Sequence[str] = (),
    check_options: Mapping[str, str] | None = None,
    progress: ProgressSink | None = None,
) -> AuditResult:
    """Audit the cluster through the API (``inspect8s audit --cluster``): every pod's spec
    (in ``namespace``, None: all, whose labels match ``selector``) and every Node; the
    target version defaults to the API server's. With ``agents``, also every node's host
    through short-lived agent pods, ``parallel`` at a time (their findings are merged in; a
    failed agent is one probe error naming its node). inspect8s's own pods are left out.
    Raises KubeAPIError when pods cannot be listed.
    """
    from inspect8s.audit.runner import default_target, run_checks
    from inspect8s.collect import cluster

    checks, rules, settings = _audit_setup(
        select,
        benchmark,
        ignore,
        checks_path,
        ignore_file,
        target_version,
        versions_files,
        check_options,
    )
    sink = progress or _QUIET
    with _kube(kubeconfig, context, timeout, environ) as kube:
        sink.update(
            "listing pods, nodes, RuntimeClasses and the API version table's kinds", force=True
        )
        snapshot = cluster.collect_cluster(
            kube,
            namespace=namespace,
            label_selector=selector,
            on_progress=sink.step,
            versions_files=settings.versions_files,
        )
        given_target = settings.target_version
        server = snapshot.api_server
        settings = default_target(settings, server.version if server else None)
        result = run_checks(
            snapshot,
            checks,
            settings=settings,
            ignore=rules,
            target="cluster",
            inputs=[f"api:{kube.host}"],
            leave_out_own=True,
        )
        if not agents:
            return result
        # Each agent runs the same checks with the same settings on its node.
        args = ["--fail-on", "none", "--timeout", f"{timeout:g}"]
        args += [f"--select={v}" for v in select]
        args += [f"--benchmark={benchmark}"] if benchmark else []
        args += [f"--ignore={v}" for v in ignore]
        args += [f"--check-option={k}={v}" for k, v in (check_options or {}).items()]
        if given_target:
            args += ["--target-version", given_target]
        for rc in snapshot.runtime_classes or ():
            args += ["--runtime-class", f"{rc.name}={rc.handler}"]
        audits = _audit_nodes(
            kube,
            [n.name for n in snapshot.kube_nodes],
            args,
            parallel=parallel,
            agent=_Agent(agent_image, agent_namespace, agent_timeout),
            progress=sink,
        )
    return cluster.merge_node_audits(result, audits)


def _audit_nodes(
    kube: KubeAPI,
    names: Sequence[str],
    args: Sequence[str],
    *,
    parallel: int,
    agent: _Agent,
    progress: ProgressSink,
) -> list[NodeAudit]:
    """Every node's audit through an agent pod, ``parallel`` at a time, told to
    ``progress`` (the nodes done and running, each node's end as a line that stays)."""
    from inspect8s.collect import cluster

    running: set[str] = set()
    finished_count = 0

    def status() -> None:
        now = ", ".join(sorted(running)) or "-"
        progress.update(
            f"agent pods: {finished_count}/{len(names)} nodes done; running on {now}", force=True
        )

    def started(node: str) -> None:
        running.add(node)
        status()

    def finished(done: cluster.NodeAudit, count: int, total: int) -> None:
        nonlocal finished_count
        running.discard(done.node)
        finished_count = count
        state = f"failed: {done.error.detail}" if done.error is not None else "done"
        progress.log(f"node {done.node} {state} ({count}/{total})")
        status()

    progress.log(f"auditing {len(names)} nodes through agent pods, {parallel} at a time")
    return cluster.run_node_audits(
        kube,
        names,
        args,
        parallel=parallel,
        image=agent.image,
        namespace=agent.namespace,
        timeout=agent.timeout,
        on_done=finished,
        on_start=started,
    )


# --------------------------------------------------------------------------- record


def record(
    directory: str,
    *,
    root: str = "/",
    cri_endpoints: Sequence[str] = (),
    docker_hosts: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT_S,
    kubelet_version: str | None = None,
) -> RecordedBundle:
    """Write what :func:`audit_node` and :func:`trace_pod` read on this node (host files,
    runtime answers), credentials redacted, to ``directory`` (new or empty), for
    ``bundle=directory`` later (``inspect8s record DIR``). Raises UsageError when
    ``directory`` exists and is not an empty directory."""
    from inspect8s._version import __version__
    from inspect8s.collect.record import record_node
    from inspect8s.model import RecordedBundle

    manifest = record_node(
        directory,
        root=root,
        cri_endpoints=tuple(cri_endpoints),
        docker_hosts=tuple(docker_hosts),
        timeout=timeout,
        kubelet_version=kubelet_version,
        tool_version=__version__,
    )
    redacted = manifest["redactions"]
    return RecordedBundle(
        path=directory,
        version=int(manifest["version"]),
        sockets=tuple(manifest["sockets"]),
        redacted_values=sum(redacted["files"].values()),
        redacted_files=len(redacted["files"]),
        redacted_runtime_answers=int(redacted["runtimeAnswers"]),
    )


__all__ = [
    "audit_cluster",
    "audit_manifests",
    "audit_node",
    "find_pods",
    "list_checks",
    "node_config",
    "node_report",
    "record",
    "trace_pid",
    "trace_pod",
]
