"""inspect8s: where every pod really sits on a Linux node, and what is wrong with it.

The library (``node_report``, ``trace_pod``, ``trace_pid``, ``audit_node``,
``audit_manifests``, ``audit_cluster``, ``record``...; see :mod:`inspect8s.api` and
docs/library.md) and the API for plugin authors (``check``, ``Scope``, ``Severity``,
``Violation``, ``Skip``) are loaded on first use, so that importing the package stays cheap.
"""

from __future__ import annotations

from typing import Any

from inspect8s._version import __version__

_API = (
    "node_report",
    "node_config",
    "find_pods",
    "trace_pod",
    "trace_pid",
    "audit_node",
    "audit_manifests",
    "audit_cluster",
    "record",
    "list_checks",
)
_LAZY = {
    **dict.fromkeys(_API, "inspect8s.api"),
    "check": "inspect8s.audit.registry",
    "Scope": "inspect8s.audit.registry",
    "Violation": "inspect8s.audit.registry",
    "Skip": "inspect8s.audit.registry",
    "Severity": "inspect8s.audit.results",
    "HostFS": "inspect8s.host.fs",
    "ProbeFailed": "inspect8s.errors",
    "ErrorKind": "inspect8s.errors",
    "ExitStatus": "inspect8s.errors",
    "Inspect8sError": "inspect8s.errors",
    "UsageError": "inspect8s.errors",
    "NotFoundError": "inspect8s.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    import importlib

    if name == "api":
        return importlib.import_module("inspect8s.api")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'inspect8s' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
