"""Property: every parser and converter of outside data raises nothing but ``ProbeFailed``
(or its documented error), whatever bytes or JSON shapes it gets: random values, and real
recorded answers with random parts replaced. The last properties run the whole node audit
and the trace on a recorded bundle whose answers were mutated that way: the report is
made, the odd parts are probe errors."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspect8s.audit.registry import load_checks
from inspect8s.audit.runner import run_checks
from inspect8s.collect.bundle import ReplayClients, ReplayHostFS, load_bundle
from inspect8s.collect.node import RuntimeOptions, gather_node
from inspect8s.collect.nodeaudit import (
    cgroup_driver_from_runtime_config,
    collect_for_node,
    parse_dpkg_version,
    parse_proc_net_unix,
    sandbox_image_from_status,
)
from inspect8s.collect.redact import redact_file, redact_json, redact_json_text, redact_text
from inspect8s.collect.trace import pods_on_node, trace_pod
from inspect8s.errors import ErrorKind, ProbeFailed, UsageError
from inspect8s.host.cgroups import parse_limit_file, parse_proc_cgroup
from inspect8s.host.identify import identify
from inspect8s.host.mounts import parse_mountinfo
from inspect8s.host.proc import parse_cmdline, parse_ns_link, parse_stat, parse_status
from inspect8s.kube.agent import parse_agent_log
from inspect8s.kube.convert import (
    compute_qos,
    container_from_json,
    node_from_json,
    parse_quantity,
    pod_from_json,
    pods_from_list,
    volume_from_json,
)
from inspect8s.kube.live import error_for_status, forbidden_hint
from inspect8s.runtime.convert import (
    cri_index,
    docker_index,
    parse_k8s_name,
    runtime_name_from_cri_version,
    verbose_info,
)
from inspect8s.runtime.cri import parse_info
from inspect8s.runtime.ocistate import parse_crun_status, parse_runc_state
from tests.hostile.conftest import FIXTURE_BUNDLES, REPO

FIXTURES = REPO / "tests" / "fixtures"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Keys the converters look for, so that random objects reach past the first ``get``.
KEYS = [
    "metadata", "name", "namespace", "uid", "labels", "annotations", "spec", "status",
    "containers", "initContainers", "ports", "hostPort", "resources", "limits", "requests",
    "cpu", "memory", "securityContext", "capabilities", "add", "privileged", "volumes",
    "hostPath", "path", "volumeMounts", "containerStatuses", "state", "restartCount",
    "items", "kind", "id", "podSandboxId", "image", "info", "runtimeSpec", "linux",
    "config", "pid", "sandboxID", "runtimeType", "runtimeOptions", "runtimeHandler",
    "Id", "Names", "Labels", "State", "nodeInfo", "taints", "addresses", "env", "envs",
    "process", "cgroups", "init_process_pid", "conditions", "qosClass", "ownerReferences",
]  # fmt: skip
SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False) | st.text(max_size=12)
)  # fmt: skip
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=25,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc[:6]):
            out += _paths(value, (*prefix, i))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    doc = copy.copy(doc)
    doc[path[0]] = _replace(doc[path[0]], path[1:], value)
    return doc


def mutated(seeds: list[Any]) -> st.SearchStrategy[Any]:
    """A real document with one to three of its parts replaced by random JSON."""
    # Each seed's paths are walked once, here; after a replacement, the new document's are
    # those not under the part replaced, then the replacement's own (what _paths gives).
    seeded = [(seed, _paths(seed)) for seed in seeds]

    @st.composite
    def draw_mutated(draw: st.DrawFn) -> Any:
        doc, paths = draw(st.sampled_from(seeded))
        for _ in range(draw(st.integers(1, 3))):
            path = draw(st.sampled_from(paths))
            value = draw(JSON)
            doc = _replace(doc, path, value)
            paths = [p for p in paths if p[: len(path)] != path]
            paths += [(*path, *sub) for sub in _paths(value)]
        return doc

    return draw_mutated()


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


CRIO = json.loads((FIXTURE_BUNDLES / "crio-1.29" / "runtime/cri.json").read_text())
CRI_CALLS = next(iter(CRIO.values()))
CONTAINERD = _load("cri/containerd-1.6.20-kubelet-1.26.json")
POD_SEEDS = _load("api/pods-all.json")["items"][:8]
NODE_SEEDS = _load("api/nodes.json")["items"]
STATUS_SEEDS = [e["answer"] for e in CRI_CALLS["ContainerStatus"].values() if "answer" in e]
STATUS_SEEDS += [e["answer"] for e in CRI_CALLS["PodSandboxStatus"].values() if "answer" in e]
LIST_SEEDS = [CRI_CALLS["ListPodSandbox"]["answer"], CRI_CALLS["ListContainers"]["answer"]]
DOCKER_SEEDS = [
    calls["/containers/json"]["answer"]
    for calls in json.loads(
        (FIXTURE_BUNDLES / "cri-dockerd-0.3" / "runtime/docker.json").read_text()
    ).values()
    if "/containers/json" in calls
]


def only_malformed(fn: Callable[[], object]) -> None:
    try:
        fn()
    except ProbeFailed as exc:
        assert exc.kind is ErrorKind.MALFORMED, exc


# --------------------------------------------------------------------------- Kubernetes JSON


@FAST
@given(doc=JSON | mutated(POD_SEEDS))
def test_pod_converters(doc: Any) -> None:
    only_malformed(lambda: pod_from_json(doc, source="api"))
    only_malformed(lambda: pods_from_list({"items": [doc]}))
    only_malformed(lambda: container_from_json(doc))
    only_malformed(lambda: volume_from_json(doc))
    try:
        compute_qos(doc)
    except ValueError:
        pass  # its documented error: a quantity that is not one


@FAST
@given(doc=JSON | mutated(NODE_SEEDS))
def test_node_converter(doc: Any) -> None:
    only_malformed(lambda: node_from_json(doc))


@FAST
@given(value=st.text(max_size=20) | st.integers() | st.floats())
def test_quantities_raise_value_error_only(value: Any) -> None:
    try:
        parse_quantity(value)
    except ValueError:
        pass


@FAST
@given(status=st.integers(100, 599), body=st.binary(max_size=300) | JSON.map(
    lambda v: json.dumps(v).encode()))  # fmt: skip
def test_api_error_answers(status: int, body: bytes) -> None:
    error = error_for_status(status, body, method="GET", path="/api/v1/pods", host="h",
                             context=None)  # fmt: skip
    assert "\n" not in str(error) or body
    forbidden_hint(body.decode("utf-8", "replace"))


@FAST
@given(log=st.text(max_size=400))
def test_agent_logs(log: str) -> None:
    parse_agent_log(log)


# --------------------------------------------------------------------------- runtimes


@FAST
@given(answer=JSON | mutated(STATUS_SEEDS), runtime=st.sampled_from([None, "containerd", "crio",
                                                                   "cri-dockerd"]))  # fmt: skip
def test_verbose_status(answer: Any, runtime: str | None) -> None:
    only_malformed(lambda: verbose_info(answer, runtime))


@FAST
@given(answer=JSON | mutated(LIST_SEEDS))
def test_cri_lists(answer: Any) -> None:
    items = answer.get("items", answer.get("containers")) if isinstance(answer, dict) else answer
    listed = items if isinstance(items, list) else []
    only_malformed(lambda: cri_index("crio", listed, listed))
    only_malformed(lambda: runtime_name_from_cri_version(answer))


@FAST
@given(answer=JSON | mutated(DOCKER_SEEDS))
def test_docker_lists(answer: Any) -> None:
    only_malformed(lambda: docker_index(answer if isinstance(answer, list) else [answer]))


@FAST
@given(info=st.dictionaries(st.text(max_size=8), st.text(max_size=40), max_size=4))
def test_verbose_info_maps(info: dict[str, str]) -> None:
    parse_info(info)


@FAST
@given(data=st.binary(max_size=600) | JSON.map(lambda v: json.dumps(v).encode()))
def test_oci_state_files(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    only_malformed(lambda: parse_runc_state(text, "host:/run/runc/x/state.json"))
    only_malformed(lambda: parse_crun_status(text, "host:/run/crun/x/status"))


@FAST
@given(name=st.text(max_size=60))
def test_k8s_names(name: str) -> None:
    parse_k8s_name(name)
    identify(name)


@FAST
@given(answer=JSON)
def test_runtime_status_answers(answer: Any) -> None:
    if isinstance(answer, dict):
        sandbox_image_from_status(answer)
        cgroup_driver_from_runtime_config(answer)


# --------------------------------------------------------------------------- host files

HOST_PARSERS: dict[str, Callable[[str], object]] = {
    "stat": lambda t: parse_stat(t, "host:/proc/1/stat"),
    "status": lambda t: parse_status(t, "host:/proc/1/status"),
    "cgroup": lambda t: parse_proc_cgroup(t, "host:/proc/1/cgroup"),
    "mountinfo": lambda t: parse_mountinfo(t, "host:/proc/1/mountinfo"),
    "ns": lambda t: parse_ns_link(t, "host:/proc/1/ns/net"),
    "memory.max": lambda t: parse_limit_file(2, "memory.max", t, "host:memory.max"),
    "cpu.max": lambda t: parse_limit_file(2, "cpu.max", t, "host:cpu.max"),
    "cpu.stat": lambda t: parse_limit_file(2, "cpu.stat", t, "host:cpu.stat"),
    "cfs_quota": lambda t: parse_limit_file(1, "cpu.cfs_quota_us", t, "host:q"),
    "net/unix": parse_proc_net_unix,
    "dpkg": parse_dpkg_version,
}


@FAST
@given(data=st.binary(max_size=500), name=st.sampled_from(sorted(HOST_PARSERS)))
def test_host_parsers(data: bytes, name: str) -> None:
    only_malformed(lambda: HOST_PARSERS[name](data.decode("utf-8", "replace")))
    parse_cmdline(data)


@FAST
@given(data=st.binary(max_size=400) | JSON.map(lambda v: json.dumps(v, indent=1).encode()),
       path=st.sampled_from(["/etc/x.conf", "/proc/1/cmdline", "/proc/1/environ",
                             "/run/containerd/io.containerd.runtime.v2.task/k8s.io/a/config.json",
                             "/var/lib/kubelet/config.yaml"]))  # fmt: skip
def test_redaction_is_total_and_keeps_json_json(data: bytes, path: str) -> None:
    _out, n = redact_file(path, data)
    assert n >= 0
    text = data.decode("utf-8", "surrogateescape")
    done = redact_json_text(text)
    if done is not None:
        json.loads(done[0])  # JSON stays JSON
    assert redact_text(text)[0].count("\n") == text.count("\n")


@FAST
@given(doc=JSON | mutated(STATUS_SEEDS))
def test_json_redaction(doc: Any) -> None:
    out, n = redact_json(doc)
    again, m = redact_json(out)
    assert m == 0 and again == out
    text = json.dumps(doc, indent=2)
    done = redact_json_text(text)
    assert done is not None
    assert json.loads(done[0]) == out and done[1] == n


# --------------------------------------------------------------------------- bundles


BASE_BUNDLE = FIXTURE_BUNDLES / "crio-1.29"
CHECKS = load_checks()
MANIFEST = json.loads((BASE_BUNDLE / "bundle.json").read_text())


@pytest.fixture(scope="module")
def bundle() -> Iterator[Path]:
    """One copy of the base bundle for the module: each example writes its answers and
    manifest into it (the rest of the bundle is read, never written)."""
    base = Path(tempfile.mkdtemp(prefix="inspect8s-mutated-"))
    copy = base / "b"
    shutil.copytree(BASE_BUNDLE, copy, symlinks=True)
    yield copy
    shutil.rmtree(base)


def _tree(directory: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under ``directory`` (links not followed): its mode, size and
    modification time."""
    out: dict[str, tuple[int, int, int]] = {}

    def walk(path: str, rel: str) -> None:
        with os.scandir(path) as entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                out[rel + entry.name] = (st.st_mode, st.st_size, st.st_mtime_ns)
                if entry.is_dir(follow_symlinks=False):
                    walk(entry.path, rel + entry.name + "/")

    walk(str(directory), "")
    return out


@contextlib.contextmanager
def _bundle_with(bundle: Path, cri: Any, manifest: Any | None = None) -> Iterator[Path]:
    """``bundle`` with these runtime answers and manifest (the base one by default), as a
    fresh copy of the base bundle would be; it is left as it was found."""
    (bundle / "runtime/cri.json").write_text(json.dumps(cri))
    if manifest is not None:
        (bundle / "bundle.json").write_text(json.dumps(manifest))
    else:
        shutil.copyfile(BASE_BUNDLE / "bundle.json", bundle / "bundle.json")
    before = _tree(bundle)
    yield bundle
    assert _tree(bundle) == before, "the bundle was written to"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cri=mutated([CRIO]))
def test_audit_of_a_mutated_bundle_makes_a_report(bundle: Path, cri: Any) -> None:
    with _bundle_with(bundle, cri):
        try:
            snapshot = collect_for_node("/", from_dirs=[str(bundle)])
        except UsageError:
            return  # a bundle file that is not an object at all: refused in one line
        run_checks(snapshot, CHECKS)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cri=mutated([CRIO]))
def test_trace_of_a_mutated_bundle_makes_a_chain(bundle: Path, cri: Any) -> None:
    with _bundle_with(bundle, cri):
        try:
            loaded = load_bundle(str(bundle))
        except UsageError:
            return
        fs = ReplayHostFS(loaded)
        clients = ReplayClients(loaded)
        collection = gather_node(
            fs, RuntimeOptions(cri_endpoints=loaded.cri_endpoints, clients=clients)
        )
        for (_ns, _name), containers in pods_on_node(collection.report).items():
            trace_pod(fs, collection, containers, clients=clients)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifest=mutated([MANIFEST]))
def test_damaged_manifests_are_usage_errors(bundle: Path, manifest: Any) -> None:
    with _bundle_with(bundle, CRIO, manifest):
        try:
            loaded = load_bundle(str(bundle))
            fs = ReplayHostFS(loaded)
            clients = ReplayClients(loaded)
            assert fs.root and clients.bundle is loaded
            loaded.cri_endpoints, loaded.docker_hosts, loaded.sockets  # noqa: B018
        except UsageError as exc:
            assert "\n" not in str(exc)


def test_the_crash_cases_of_the_issue() -> None:
    """The exact inputs reported: each is malformed, not a crash."""
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "c", "ports": [{"containerPort": 80, "hostPort": "eighty"}]}]}}  # fmt: skip
    try:
        pod_from_json(pod)
    except ProbeFailed as exc:
        assert exc.kind is ErrorKind.MALFORMED and "hostPort 'eighty'" in exc.detail
    else:
        raise AssertionError("hostPort 'eighty' was accepted")
    info = verbose_info({"info": {"info": {"pid": 7, "runtimeSpec": ["not", "an", "object"]}}})
    assert info.pid == 7 and info.annotations == {}
