"""Renderers: turn results into bytes. Only this package writes results.

Audit renderers are plugins in the ``inspect8s.renderers.v1`` entry-point group (the
built-ins register there too): each entry point names a function
``render(result: AuditResult, out: TextIO) -> None`` (built-ins: table, wide, json, yaml,
sarif, junit, html). ``views.py`` renders the inspection views (node, pod, pid) as tables,
``html.py`` as pages; ``layout.py`` fits tables to a terminal; ``progress.py`` is the status
line on a terminal's standard error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # the inspection views import this package; they need no audit model
    from inspect8s.audit.results import AuditResult

ENTRY_POINT_GROUP = "inspect8s.renderers.v1"

Renderer = Callable[["AuditResult", TextIO], None]


def renderer_names() -> list[str]:
    """The names ``-o`` accepts for audit output, sorted."""
    from inspect8s.entrypoints import entry_points

    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def get_renderer(name: str) -> Renderer:
    """The renderer registered as ``name``.

    Raises UsageError (exit 2) for an unknown name and PluginLoadError (exit 4) for a
    renderer plugin that fails to import.
    """
    from inspect8s.audit.registry import PluginLoadError
    from inspect8s.entrypoints import entry_points
    from inspect8s.errors import UsageError

    matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name.lower()]
    if not matches:
        known = ", ".join(renderer_names()) or "none installed"
        raise UsageError(f"unknown output format {name!r} (one of: {known})")
    ep = sorted(matches, key=lambda e: e.value)[0]
    try:
        loaded = ep.load()
    except Exception as exc:  # any import-time failure of a renderer plugin
        raise PluginLoadError(
            f"renderer plugin {ep.name} = {ep.value} failed to load: {type(exc).__name__}: {exc}"
        ) from exc
    if not callable(loaded):
        raise PluginLoadError(f"renderer plugin {ep.name} = {ep.value} is not callable")
    renderer: Renderer = loaded
    return renderer
