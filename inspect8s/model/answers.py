"""What the library's calls answer beyond the domain models (``inspect8s.api``).

A pod's containers and chain, with where it was traced and the API's view of it; the container and
chain a host process belongs to; what ``record`` wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inspect8s.model.chain import ProcessOrigin, RuntimeChain
from inspect8s.model.frozen import frozen
from inspect8s.model.kube import Pod
from inspect8s.model.node import Container


@frozen
class PodTrace:
    """One pod: its containers on this node and, when asked, its runtime chain.

    A pod that runs on another node is traced there by an agent pod: ``containers`` is
    then empty, ``chain`` the agent's chain read back into the same models a local trace
    gives (``RuntimeChain.from_data``), and ``remote`` its ``RuntimeChain`` document as the
    agent printed it (JSON data).
    """

    name: str  # the pod's name, as asked or as the API has it
    namespace: str | None  # None: not named (the pod's containers carry it)
    traced_on: str  # "this machine", "bundle DIR" or "agent pod on node NAME"
    containers: tuple[Container, ...] = ()  # sandbox included; (): traced on another node
    chain: RuntimeChain | None = None  # None: not asked
    pod: Pod | None = None  # the API's view of the pod; None: the API was not asked
    remote: Mapping[str, Any] | None = None  # the agent's document; None: traced here


@frozen
class ProcessTrace:
    """What a host process is, and the chain of the pod whose story it is part of."""

    origin: ProcessOrigin  # pid, thread, comm, role, one-line description, cgroup
    container: Container | None  # its container, or the one it monitors; None: neither
    chain: RuntimeChain | None  # that container's pod's chain; None: no container
    traced_on: str  # "this machine" or "bundle DIR"


@frozen
class RecordedBundle:
    """A bundle written by ``record``: where, which format, what was redacted."""

    path: str
    version: int  # the bundle format version written
    sockets: tuple[str, ...]  # runtime sockets whose answers were recorded
    redacted_values: int  # credentials replaced in host files
    redacted_files: int  # host files that had a value redacted
    redacted_runtime_answers: int  # credentials replaced in runtime answers
