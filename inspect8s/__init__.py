"""inspect8s: where every pod really sits on a Linux node, and what is wrong with it.

The public API for plugin authors (``check``, ``Scope``, ``Severity``, ``Violation``,
``Skip`` and the models) is loaded on first use so that importing the package stays cheap.
"""

from __future__ import annotations

from typing import Any

from inspect8s._version import __version__

_LAZY = {
    "check": "inspect8s.audit.registry",
    "Scope": "inspect8s.audit.registry",
    "Violation": "inspect8s.audit.registry",
    "Skip": "inspect8s.audit.registry",
    "Severity": "inspect8s.audit.results",
    "HostFS": "inspect8s.host.fs",
    "ProbeFailed": "inspect8s.errors",
    "ErrorKind": "inspect8s.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'inspect8s' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
