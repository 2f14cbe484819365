"""The options of `inspect8s audit` about the API: a node joined with its pods' specs,
and `--cluster [--agents]`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

ClusterOpt = Annotated[
    bool,
    typer.Option(
        "--cluster",
        help="Audit the whole cluster through the API: every pod's spec and every Node.",
    ),
]
AgentsOpt = Annotated[
    bool,
    typer.Option(
        "--agents",
        help="With --cluster: also audit every node's host through a short-lived agent pod.",
    ),
]
ParallelOpt = Annotated[
    int, typer.Option("--parallel", min=1, help="Agent pods running at the same time.")
]
PodsFileOpt = Annotated[
    str | None,
    typer.Option(
        "--pods",
        help="Pod specs for the node audit from a `kubectl get pods -o json` file "
        "(instead of asking the API).",
    ),
]
NodeNameOpt = Annotated[
    str | None,
    typer.Option(
        "--node",
        help="This node's Node name in the API (default: the Node with this machine's bootID).",
    ),
]
CheckOptionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--check-option",
        help="KEY=VALUE for checks (e.g. throttle-ratio-max=0.1; see docs/checks.md).",
    ),
]
RuntimeClassOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--runtime-class",
        help="NAME=HANDLER: a RuntimeClass to check against this node's runtime "
        "(the agent gets them this way; with --kubeconfig they are listed).",
    ),
]


def parse_pairs(values: Sequence[str] | None, option: str) -> dict[str, str]:
    """``KEY=VALUE`` option values -> dict; UsageError (exit 2) on one without ``=``."""
    from inspect8s.errors import UsageError

    out: dict[str, str] = {}
    for value in values or ():
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} {value!r}: expected KEY=VALUE")
        out[key.strip()] = rest.strip()
    return out


def runtime_classes_option(values: Sequence[str] | None) -> dict[str, str] | None:
    """``--runtime-class NAME=HANDLER`` values -> {name: handler}; None when none given."""
    pairs = parse_pairs(values, "--runtime-class")
    return pairs if values else None
