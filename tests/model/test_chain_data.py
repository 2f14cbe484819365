"""The chain as data: every link model survives its JSON form, and a document that does not
fit the models (an agent pod's log, another inspect8s's output) is ProbeFailed(MALFORMED),
never another exception."""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.kube.agent import AgentRun, agent_chain
from inspect8s.model.chain import (
    LINK_TYPES,
    ContainerTrace,
    HandlerLink,
    KubeletLink,
    LimitsLink,
    Link,
    OtherLink,
    RuntimeChain,
    RuntimeLink,
    chain_from_document,
)
from inspect8s.model.host import CgroupLimits
from inspect8s.model.serialize import to_data

REPO = Path(__file__).resolve().parents[2]
AGENT_OUTPUT = REPO / "tests/fixtures/agent/pod-web-guaranteed-trace.json"

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@functools.cache
def strategy(tp: Any) -> st.SearchStrategy[Any]:
    """Values of type ``tp`` with every field of every dataclass filled (``builds`` alone
    leaves fields with defaults at their default). One strategy object per type, so that
    Hypothesis works out each one's properties once, not at each place the type occurs."""
    if tp is Any or tp is object:
        return JSON
    if tp is type(None):
        return st.none()
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        return st.one_of(*(strategy(a) for a in args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy(args[0]), max_size=3).map(tuple)
        return st.tuples(*(strategy(a) for a in args))
    if origin is dict:
        return st.dictionaries(strategy(args[0]), strategy(args[1]), max_size=3)
    if tp is Link:
        others = full(OtherLink).filter(lambda x: x.link_name not in LINK_TYPES)
        return st.one_of(*(full(k) for k in LINK_TYPES.values()), others)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return st.sampled_from(list(tp))
    if dataclasses.is_dataclass(tp):
        return full(tp)
    if tp is str:
        return st.text(max_size=12)
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers()
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    raise AssertionError(f"no strategy for {tp!r}")


@functools.cache
def full(cls: type) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    fields = {
        f.name: st.deferred(lambda t=hints[f.name]: strategy(t)) for f in dataclasses.fields(cls)
    }
    return st.builds(cls, **fields)


def through_json(value: Any) -> Any:
    return json.loads(json.dumps(to_data(value)))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(full(RuntimeChain))
def test_a_chain_reads_back_as_itself(chain: RuntimeChain) -> None:
    assert RuntimeChain.from_data(through_json(chain)) == chain


@settings(max_examples=300)
@given(strategy(Link))
def test_every_link_kind_reads_back_as_itself(link: Link) -> None:
    doc = through_json(link)
    assert set(doc) == {"name", "values", "source", "missing"}
    assert Link.from_data(doc) == link


def test_the_document_keeps_the_documented_shape() -> None:
    """docs/output-formats.md: each link is {name, values, source, missing}; the daemon's
    name is ``values.name``; limits carry cpu_limit_millicores beside the cgroup files."""
    runtime = RuntimeLink(daemon="crio", pid=6846, version="1.28.11", source="cri:Version")
    limits = LimitsLink(limits=CgroupLimits(cpu_quota_us=50000, cpu_period_us=100000))
    doc = through_json(
        RuntimeChain(
            "web",
            "shop",
            "u",
            (runtime,),
            None,
            (ContainerTrace("c", "web", "web", "shop", (limits,)),),
        )
    )
    assert doc["node_links"][0]["values"]["name"] == "crio"
    assert doc["node_links"][0]["values"]["pid"] == 6846
    values = doc["containers"][0]["links"][0]["values"]
    assert values["cpu_limit_millicores"] == 500 and values["cpu_quota_us"] == 50000
    assert list(doc)[-2:] == ["api", "traced_on"]


def test_an_older_agents_document_reads_with_defaults() -> None:
    """The agent fixture was written before several values existed: they take defaults."""
    doc = json.loads(AGENT_OUTPUT.read_text())
    chain = chain_from_document(doc, "agent")
    kubelet = chain.node_link(KubeletLink)
    assert kubelet is not None and kubelet.pid == 26923 and kubelet.version_source is None
    assert chain.sandbox is not None
    assert RuntimeChain.from_data(through_json(chain)) == chain


def test_a_link_of_an_unknown_kind_is_kept() -> None:
    doc = {"name": "sandbox-vm", "values": {"vcpus": 2}, "source": "x", "missing": None}
    link = Link.from_data(doc)
    assert isinstance(link, OtherLink) and link.name == "sandbox-vm"
    assert through_json(link) == doc


def _run(output: object) -> AgentRun:
    return AgentRun(output=output, exit_code=0, pod_name="inspect8s-agent-x", namespace="default",  # type: ignore[arg-type]
                    node_name="n2")  # fmt: skip


_AGENT_TEXT = AGENT_OUTPUT.read_text()


def _valid() -> dict[str, Any]:
    """A fresh copy of the agent's document (the properties change it)."""
    doc: dict[str, Any] = json.loads(_AGENT_TEXT)
    return doc


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.update(kind="NodeReport"), "$.kind"),
        (lambda d: d.update(schemaVersion=2), "$.schemaVersion"),
        (lambda d: d.update(node_links={"name": "kubelet"}), "$.node_links"),
        (lambda d: d["node_links"][0]["values"].update(pid="26923"), "$.node_links[0].values.pid"),
        (lambda d: d["node_links"][0]["values"].update(pid=True), "$.node_links[0].values.pid"),
        (lambda d: d["node_links"][0].pop("name"), "$.node_links[0].name"),
        (lambda d: d["sandbox"].update(links=[3]), "$.sandbox.links[0]"),
        (
            lambda d: d.update(errors=[{"kind": "lost", "source": "x", "detail": "y"}]),
            "$.errors[0].kind",
        ),
        (lambda d: d.pop("pod_uid"), "$"),
        (lambda d: d.update(api={"name": "web"}), "$.api"),
    ],
)
def test_a_malformed_agent_document_is_a_malformed_probe(change: Any, where: str) -> None:
    doc = _valid()
    change(doc)
    with pytest.raises(ProbeFailed) as info:
        agent_chain(_run(doc))
    assert info.value.kind is ErrorKind.MALFORMED
    assert info.value.source == "agent pod default/inspect8s-agent-x on node n2"
    assert info.value.detail.startswith(where)


@settings(max_examples=300)
@given(JSON)
def test_any_json_is_a_chain_or_a_malformed_probe(doc: object) -> None:
    try:
        chain = chain_from_document(doc, "agent")
    except ProbeFailed as exc:
        assert exc.kind is ErrorKind.MALFORMED
    else:
        assert isinstance(chain, RuntimeChain)


def _paths(value: object, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


VALID_PATHS = _paths(_valid())


@settings(max_examples=400)
@given(st.sampled_from(VALID_PATHS), JSON)
def test_any_value_replaced_anywhere_is_a_chain_or_a_malformed_probe(
    path: tuple[Any, ...], value: object
) -> None:
    doc = _valid()
    target: Any = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    try:
        chain = agent_chain(_run(doc))
    except ProbeFailed as exc:
        assert exc.kind is ErrorKind.MALFORMED
    else:
        assert RuntimeChain.from_data(through_json(chain)) == chain


def test_handler_options_stay_raw_json() -> None:
    link = HandlerLink(
        runtime_handler="", runtime_options={"BinaryName": "runc", "SystemdCgroup": True}
    )
    assert Link.from_data(through_json(link)) == link
