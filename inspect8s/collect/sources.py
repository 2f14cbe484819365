"""Where a command's facts come from: the live host under a root, or a recorded bundle.

:func:`open_sources` is the one place that chooses. A live root (``/`` on a node, ``/host``
in a DaemonSet, a fixture tree in tests) is read through :class:`HostFS` and its runtime
sockets are asked live; a bundle written by ``inspect8s record`` (``--from``) answers both
from its files (``collect/bundle.py``), with the endpoints, sockets and kubelet version it
recorded. Everything downstream (discovery, inventory, join, trace, audit) takes a
:class:`Sources` and never asks which kind it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inspect8s.collect.node import RuntimeOptions
from inspect8s.errors import UsageError
from inspect8s.host.fs import HostFS
from inspect8s.model import KubeletVersion
from inspect8s.runtime.clients import RuntimeClients


@dataclass(frozen=True)
class Sources:
    """A command's host files and runtime clients, opened once."""

    fs: HostFS
    clients: RuntimeClients | None = None  # None: the live sockets under ``fs``
    bundle_path: str | None = None  # the bundle's directory; None: live
    recorded_cri: tuple[str, ...] = ()  # endpoints given to ``record``
    recorded_docker: tuple[str, ...] = ()
    recorded_sockets: tuple[str, ...] = ()
    recorded_kubelet: KubeletVersion | None = None
    unix_peers: dict[int, int] | None = None  # a bundle's socket peers; None: ask the kernel

    @property
    def is_bundle(self) -> bool:
        return self.bundle_path is not None

    @property
    def label(self) -> str | None:
        """``bundle:<dir>`` for answers replayed from a bundle; None when live."""
        return f"bundle:{self.bundle_path}" if self.bundle_path else None

    def options(
        self,
        *,
        cri_endpoints: Sequence[str] = (),
        docker_hosts: Sequence[str] = (),
        timeout: float = 3.0,
        query_runtimes: bool = True,
        kubelet_version: KubeletVersion | None = None,
    ) -> RuntimeOptions:
        """The collection options of a command on these sources (a bundle adds what it
        recorded: the endpoints ``record`` was given, its sockets, the kubelet version)."""
        return RuntimeOptions(
            cri_endpoints=(*self.recorded_cri, *cri_endpoints),
            docker_hosts=(*self.recorded_docker, *docker_hosts),
            timeout=timeout,
            query_runtimes=query_runtimes,
            clients=self.clients,
            kubelet_version=kubelet_version or self.recorded_kubelet,
            recorded_sockets=self.recorded_sockets,
        )


def open_sources(root: str = "/", bundle: str | None = None) -> Sources:
    """The live host under ``root``, or the bundle directory ``bundle``. Raises UsageError
    (exit 2) for a bundle that cannot be read or a root with no ``/proc``."""
    if bundle is not None:
        from inspect8s.collect.bundle import ReplayClients, ReplayHostFS, load_bundle

        loaded = load_bundle(bundle)
        recorded = loaded.manifest.get("kubeletVersion")
        kubelet = None
        if isinstance(recorded, dict) and recorded.get("version"):
            origin = recorded.get("source") or "recorded"
            kubelet = KubeletVersion(str(recorded["version"]), f"{loaded.source} ({origin})")
        sources = Sources(
            fs=ReplayHostFS(loaded),
            clients=ReplayClients(loaded),
            bundle_path=loaded.path,
            recorded_cri=loaded.cri_endpoints,
            recorded_docker=loaded.docker_hosts,
            recorded_sockets=loaded.sockets,
            recorded_kubelet=kubelet,
            unix_peers=loaded.unix_peers,
        )
        if not sources.fs.is_dir("/proc"):
            raise UsageError(f"bundle {bundle} has no host/proc directory", param="bundle")
        return sources
    fs = HostFS(root)
    if not fs.is_dir("/proc"):
        raise UsageError(f"{root} has no proc directory: is it the host's / ?", param="root")
    return Sources(fs=fs)
