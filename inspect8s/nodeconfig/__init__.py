"""Node configuration with provenance: kubelet, containerd, CRI-O, dockerd, crictl.

Entry point: :func:`collect_node_config`. Pure parsers (``parse_*``, ``merge_*``) live in
the per-program modules; only the ``collect_*`` functions read files, through HostFS.
"""

from inspect8s.nodeconfig.collect import collect_node_config

__all__ = ["collect_node_config"]
