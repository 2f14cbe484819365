"""``--output``, ``--no-headers``, ``-A`` and ``-l`` as the views and audit read them.

``node``, ``pod`` and ``pid`` print ``table`` (fitted to a terminal, full rows in a pipe),
``wide`` (full rows always), ``json``, ``yaml``, ``html`` and ``jsonpath=TEMPLATE``
(kubectl's JSONPath over the JSON document); ``audit`` prints those and its renderer
plugins' formats. ``--no-headers`` leaves the header rows out of table and wide output.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from inspect8s.commands._options import output_format
from inspect8s.errors import UsageError
from inspect8s.model.frozen import frozen

if TYPE_CHECKING:
    from inspect8s.commands._env import Environment
    from inspect8s.render.jsonpath import Template
    from inspect8s.render.layout import Screen
    from inspect8s.render.progress import Progress

VIEW_FORMATS = ("table", "wide", "json", "yaml", "html")
TABLES = ("table", "wide")
JSONPATH_HELP = "jsonpath=TEMPLATE (kubectl's JSONPath, e.g. -o jsonpath='{.kind}')"

ViewOutputOpt = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        metavar="FORMAT",
        help=f"Output format: table, wide, json, yaml, html or {JSONPATH_HELP}.",
    ),
]
NoHeadersOpt = Annotated[
    bool,
    typer.Option("--no-headers", help="Leave the header rows out of table and wide output."),
]
AllNamespacesOpt = Annotated[
    bool,
    typer.Option(
        "--all-namespaces", "-A", help="Look in every namespace (with the Kubernetes API)."
    ),
]
SelectorOpt = Annotated[
    str | None,
    typer.Option(
        "--selector",
        "-l",
        metavar="SELECTOR",
        help="Only pods whose labels match (kubectl's label selector: app=web,tier!=db; "
        "with the Kubernetes API).",
    ),
]


@frozen
class Output:
    """What ``-o`` asked for: a format, its JSONPath template, and whether tables get
    header rows."""

    format: str
    template: Template | None = None
    headers: bool = True

    @property
    def is_table(self) -> bool:
        return self.format in TABLES

    @property
    def structured(self) -> bool:
        """A document for programs (no progress on the terminal around it)."""
        return self.format not in (*TABLES, "html")

    def screen(self, env: Environment) -> Screen:
        from inspect8s.render.layout import Screen

        return Screen.for_stream(
            env.stdout,
            wide=self.format == "wide",
            headers=self.headers,
            environ=env.environ,
            isatty=env.stdout_isatty,
        )

    def progress(self, env: Environment, *, to_stdout: bool = True) -> Progress:
        from inspect8s.render.progress import Progress

        return Progress.for_output(
            structured=to_stdout and self.structured,
            stderr=env.stderr,
            isatty=env.stderr_isatty,
        )

    def write_document(self, doc: dict[str, Any], env: Environment) -> None:
        """A JSON/YAML document as ``json``, ``yaml`` or through the JSONPath template."""
        from inspect8s.render.views import write_json, write_yaml

        if self.template is not None:
            env.stdout.write(self.template.render(json.loads(json.dumps(doc))))
        elif self.format == "yaml":
            write_yaml(doc, env.stdout)
        else:
            write_json(doc, env.stdout)


def parse_output(
    value: str,
    command: str,
    allowed: tuple[str, ...] = VIEW_FORMATS,
    *,
    no_headers: bool = False,
    jsonpath: bool = True,
) -> Output:
    """``-o VALUE`` for ``command``; a usage error for a format it does not print."""
    text = value.strip()
    head, sep, template = text.partition("=")
    if jsonpath and head.lower() == "jsonpath":
        if not sep or not template:
            raise UsageError("-o jsonpath needs a template, e.g. -o jsonpath='{.kind}'")
        from inspect8s.render.jsonpath import parse_template

        return Output("jsonpath", parse_template(template), not no_headers)
    shown = (*allowed, "jsonpath=TEMPLATE") if jsonpath else allowed
    try:
        fmt = output_format(text, command, allowed)
    except UsageError:
        listed = ", ".join(shown[:-1]) + f" or {shown[-1]}"
        raise UsageError(f"`{command}` prints {listed}, not {value}") from None
    return Output(fmt, None, not no_headers)


def namespace_scope(namespace: str | None, all_namespaces: bool) -> str | None:
    """The namespace to look in: None with ``-A``; ``-n`` and ``-A`` together is an error."""
    if all_namespaces and namespace:
        raise UsageError("-n/--namespace and -A/--all-namespaces cannot be combined")
    return None if all_namespaces else namespace
