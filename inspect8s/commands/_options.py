"""Options shared by several commands, declared once so that every command spells, types
and documents them the same way; and the flag each library parameter is set by.

``--from`` is parsed as a list everywhere, so that naming it twice is a usage error and not
a silent choice of the last one; every command reads exactly one bundle
(:func:`one_bundle`). ``--output`` is a string everywhere (renderers are plugins, and
formats may carry an argument); each command checks it against what it prints
(:func:`output_format`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from inspect8s.commands._env import Environment
from inspect8s.errors import UsageError

# The formats `node`, `pod`, `pid` and `checks` print; `audit` takes any renderer.
VIEW_FORMATS = ("table", "json", "yaml")

RootOpt = Annotated[
    str | None,
    typer.Option(
        "--root",
        help="Read the host's files under this directory (e.g. /host in a DaemonSet) "
        "[default: $INSPECT8S_ROOT, else /].",
        show_default=False,
    ),
]
FromOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--from",
        help="Read a bundle written by `inspect8s record` instead of this machine "
        "(host files and runtime answers as recorded; one bundle per command).",
    ),
]
CriEndpointOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--cri-endpoint",
        help="Also use this CRI socket (unix:///path or /path, as the host sees it; repeatable).",
    ),
]
DockerHostOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--docker-host",
        help="Also use this Docker Engine socket (unix:///path or /path; repeatable).",
    ),
]
# One default for every command: a busy runtime or API server answers well within it, and a
# dead socket still fails in seconds.
DEFAULT_TIMEOUT = 5.0
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
OutputOpt = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        help="Output format: table, json or yaml (audit: also sarif, junit and the formats "
        "of installed renderers).",
    ),
]
NamespaceOpt = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="Namespace (default: the context's namespace)."),
]
AgentImageOpt = Annotated[
    str | None,
    typer.Option("--agent-image", help="Image of the agent pod (default: the matching release)."),
]
AgentNamespaceOpt = Annotated[
    str, typer.Option("--agent-namespace", help="Namespace to start the agent pod in.")
]
AgentTimeoutOpt = Annotated[
    float,
    typer.Option("--agent-timeout", min=1.0, help="Seconds the agent pod may take in all."),
]

# The flag that sets each library parameter (Inspect8sError.param), for the CLI's messages.
PARAM_FLAGS: dict[str, str] = {
    "root": "--root",
    "bundle": "--from",
    "cri_endpoints": "--cri-endpoint",
    "docker_hosts": "--docker-host",
    "timeout": "--timeout",
    "kubeconfig": "--kubeconfig",
    "context": "--context",
    "output": "--output",
    "manifests": "--manifests",
    "checks_path": "--checks-path",
    "select": "--select",
    "benchmark": "--benchmark",
    "ignore_file": "--ignore-file",
    "pods_file": "--pods",
    "parallel": "--parallel",
    "node_name": "--node",
    "target_version": "--target-version",
    "versions_files": "--versions-file",
    "kubelet_version": "--kubelet-version",
    "agent_image": "--agent-image",
    "agent_namespace": "--agent-namespace",
    "agent_timeout": "--agent-timeout",
    "uid": "--uid",
    "namespace": "--namespace",
}


def flag_hint(param: str | None) -> str:
    """`` (--flag)`` for an error about ``param``; empty when no flag sets it."""
    flag = PARAM_FLAGS.get(param or "")
    return f" ({flag})" if flag else ""


def root_of(env: Environment, root: str | None) -> str:
    """``--root``, else ``$INSPECT8S_ROOT``, else ``/``."""
    return env.path(root or env.environ.get("INSPECT8S_ROOT") or "/")


def one_bundle(env: Environment, values: Sequence[str] | None) -> str | None:
    """The one ``--from`` bundle (None: none given); naming several is a usage error."""
    if not values:
        return None
    if len(values) > 1:
        raise UsageError(
            f"--from: one bundle per command ({len(values)} given); read each node on its own"
        )
    return env.path(values[0])


def output_format(value: str, command: str, allowed: Sequence[str] = VIEW_FORMATS) -> str:
    """``--output`` in lower case, when ``command`` prints it; else a usage error."""
    fmt = value.strip().lower()
    if fmt not in allowed:
        raise UsageError(f"`{command}` prints {_one_of(allowed)}, not {value}")
    return fmt


def _one_of(names: Sequence[str]) -> str:
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
