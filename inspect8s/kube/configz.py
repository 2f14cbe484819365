"""The running kubelet's configuration from its ``/configz``, through the API server.

``GET /api/v1/nodes/<node>/proxy/configz`` asks the API server to proxy the request to
the node's kubelet (the ``nodes/proxy`` subresource, RBAC verb ``get``); the kubelet
answers ``{"kubeletconfig": {...}}``: its whole KubeletConfiguration after merging its
files, flags and defaults (kubernetes pkg/kubelet/server, "configz"). The answer carries
no file or line; each value is kept with ``origin="configz"``. Refusals are kept as the
reason: no RBAC permission (403), an address the API server will not proxy to (400
"address not allowed", seen for a node whose InternalIP is loopback), a kubelet that does
not answer (503).
"""

from __future__ import annotations

import json
from typing import Protocol

from inspect8s.errors import ProbeError
from inspect8s.model import ConfigValue, KubeletConfigz
from inspect8s.nodeconfig.kubelet import STRUCT_FIELDS, leaf_values


class _API(Protocol):
    def request(self, method: str, path: str, *, what: str | None = None) -> bytes: ...


def configz_path(node: str) -> str:
    from urllib.parse import quote

    return f"/api/v1/nodes/{quote(node, safe='')}/proxy/configz"


def configz_from_json(data: object, node: str, source: str) -> KubeletConfigz:
    """A /configz answer -> KubeletConfigz. Pure; a wrong shape is kept as the error."""
    config = data.get("kubeletconfig") if isinstance(data, dict) else None
    if not isinstance(config, dict):
        return KubeletConfigz(node, source, error="the answer holds no kubeletconfig object")
    settings: dict[str, ConfigValue] = {}
    leaves: dict[str, ConfigValue] = {}
    gates: dict[str, ConfigValue] = {}
    for key, value in config.items():
        key = str(key)
        settings[key] = ConfigValue(key, value, source, origin="configz")
        if key in STRUCT_FIELDS and isinstance(value, dict):
            for parts, leaf in leaf_values((key,), value):
                path = ".".join(parts)
                leaves[path] = ConfigValue(path, leaf, source, origin="configz")
        if key == "featureGates" and isinstance(value, dict):
            for gate, enabled in value.items():
                gates[str(gate)] = ConfigValue(
                    f"featureGates.{gate}", enabled, source, origin="configz"
                )
    return KubeletConfigz(node, source, settings, leaves, gates)


def read_kubelet_configz(api: _API, node: str, errors: list[ProbeError]) -> KubeletConfigz:
    """Ask the kubelet of ``node`` for its configuration through ``api``; never raises for
    an API failure: the answer then carries the reason and ``errors`` gets the ProbeError."""
    from inspect8s.kube.live import KubeAPIError

    path = configz_path(node)
    source = f"api:GET {path}"
    try:
        body = api.request("GET", path, what=f'the kubelet /configz of node "{node}"')
    except KubeAPIError as exc:
        errors.append(exc.probe_failed().record())
        reason = exc.api_message or str(exc)
        status = f"{exc.status} " if exc.status else ""
        return KubeletConfigz(node, source, error=f"{status}{reason}".strip())
    try:
        data = json.loads(body)
    except ValueError as exc:
        return KubeletConfigz(node, source, error=f"the answer is not JSON ({exc})")
    return configz_from_json(data, node, source)
