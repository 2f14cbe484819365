"""Options shared by several commands, so that every command spells them the same way."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated

import typer


class OutputFormat(StrEnum):
    TABLE = "table"
    WIDE = "wide"
    HTML = "html"
    JSON = "json"
    YAML = "yaml"
    SARIF = "sarif"
    JUNIT = "junit"


RootOpt = Annotated[
    str,
    typer.Option(
        "--root",
        envvar="INSPECT8S_ROOT",
        help="Read the host's files under this directory (e.g. /host in a DaemonSet).",
        show_default=True,
    ),
]

OutputOpt = Annotated[
    OutputFormat,
    typer.Option("--output", "-o", help="Output format.", case_sensitive=False),
]

TimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", min=0.1, help="Seconds to wait for each runtime or API call."),
]

KubeconfigOpt = Annotated[
    str | None,
    typer.Option(
        "--kubeconfig", help="Path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config)."
    ),
]
ContextOpt = Annotated[str | None, typer.Option("--context", help="The kubeconfig context to use.")]
NamespaceOpt = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="Namespace (default: the context's namespace)."),
]


def default_root() -> str:
    return os.environ.get("INSPECT8S_ROOT", "/")
