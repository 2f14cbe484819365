"""The CLI's commands, one module each, registered on the Typer app by ``cli.py``.

Command modules import only light modules at import time; anything that pulls in
kubernetes, grpc or docker is imported inside the command function.
"""

from __future__ import annotations

import importlib

import typer

# (module, function, command name); order is the order of `inspect8s --help`.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("node", "node", "node"),
    ("trace", "pod", "pod"),
    ("trace", "pid", "pid"),
    ("audit", "audit", "audit"),
    ("checks", "checks", "checks"),
    ("record", "record", "record"),
)

_registered = False


def register(app: typer.Typer) -> None:
    global _registered
    if _registered:
        return
    for module_name, func_name, command_name in COMMANDS:
        module = importlib.import_module(f"inspect8s.commands.{module_name}")
        app.command(name=command_name)(getattr(module, func_name))
    _registered = True
