"""Node configuration with provenance: kubelet, containerd, CRI-O, dockerd, crictl.

Entry point: :func:`collect_node_config`. Pure parsers (``parse_*``, ``merge_*``) live in
the per-program modules; only the ``collect_*`` functions read files, through HostFS.
Importing this package imports none of them (``flags`` is read on every command).
"""

from __future__ import annotations

from typing import Any

__all__ = ["collect_node_config"]


def __getattr__(name: str) -> Any:
    if name == "collect_node_config":
        from inspect8s.nodeconfig.collect import collect_node_config

        return collect_node_config
    raise AttributeError(f"module 'inspect8s.nodeconfig' has no attribute {name!r}")
