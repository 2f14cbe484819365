"""The runtime chain of one container: links from the kubelet to the cgroup limits."""

from __future__ import annotations

from dataclasses import dataclass

from inspect8s.errors import ProbeError


@dataclass(frozen=True, slots=True)
class Link:
    """One link of a runtime chain: a named step, its values, and what proved them.

    ``missing`` is None when the link was established, else the reason it was not.
    """

    name: str  # "kubelet" | "cri-endpoint" | "runtime" | "handler" | "shim" | "oci-runtime" ...
    values: dict[str, object]
    source: str | None
    missing: str | None = None


@dataclass(frozen=True, slots=True)
class ContainerTrace:
    """Where one container sits, link by link (see docs/architecture.md)."""

    container_id: str
    name: str | None
    pod_name: str | None
    pod_namespace: str | None
    links: tuple[Link, ...]

    def link(self, name: str) -> Link | None:
        for item in self.links:
            if item.name == name:
                return item
        return None


@dataclass(frozen=True, slots=True)
class RuntimeChain:
    """The trace of one pod: the links it shares (kubelet..runtime) and one trace per container."""

    pod_name: str | None
    pod_namespace: str | None
    pod_uid: str | None
    node_links: tuple[Link, ...]
    sandbox: ContainerTrace | None
    containers: tuple[ContainerTrace, ...]
    errors: tuple[ProbeError, ...] = ()
    notes: tuple[str, ...] = ()  # what a reader should know: other pods of the same name, ...


@dataclass(frozen=True, slots=True)
class ProcessOrigin:
    """What one host process is, in the chain's terms (``inspect8s pid``)."""

    pid: int  # the process (thread group) ID
    thread: int  # the ID asked about (== pid unless a thread was named)
    comm: str
    role: str  # "container" | "sandbox" | "monitor" | "runtime" | "kubelet" | "host"
    description: str  # one line: "the sandbox (pause process) of pod shop/web (UID ...)"
    cgroup: str  # its cgroup path (a v1 controller's line on v1 and hybrid hosts)
    container_id: str | None = None  # its container, or the one it monitors; None: neither
    pod_namespace: str | None = None
    pod_name: str | None = None
    pod_uid: str | None = None
