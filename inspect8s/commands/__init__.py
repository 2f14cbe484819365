"""The CLI's commands, one module each; ``cli.py`` builds each one when it is first asked for.

Command modules import only light modules at import time; anything that pulls in
kubernetes, grpc or docker is imported inside the command function.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import typer
import typer.main

if TYPE_CHECKING:
    from typer import _click as click

# (module, function, command name); order is the order of `inspect8s --help`.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("node", "node", "node"),
    ("trace", "pod", "pod"),
    ("trace", "pid", "pid"),
    ("audit", "audit", "audit"),
    ("checks", "checks", "checks"),
    ("record", "record", "record"),
)


def build(name: str, settings: dict[str, Any]) -> click.Command | None:
    """The click command of the command ``name`` (None: no such command), made from its
    function as Typer makes it, with the app's ``settings`` (help formatting, exceptions).
    Only that command's module is imported."""
    for module_name, func_name, command_name in COMMANDS:
        if command_name == name:
            module = importlib.import_module(f"inspect8s.commands.{module_name}")
            single = typer.Typer(**settings)
            single.command(name=command_name)(getattr(module, func_name))
            return typer.main.get_command(single)
    return None
