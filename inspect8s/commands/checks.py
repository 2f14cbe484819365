"""`inspect8s checks`: list the checks that `inspect8s audit` runs, with their rationale."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from inspect8s.commands._env import env_of
from inspect8s.commands._options import OutputOpt, output_format
from inspect8s.commands.audit import BenchmarkOpt, ChecksPathOpt, IgnoreOpt, SelectOpt

CheckIdArg = Annotated[
    str | None,
    typer.Argument(help="Show the full rationale of the checks whose ID starts with this."),
]


def checks(
    ctx: typer.Context,
    check_id: CheckIdArg = None,
    output: OutputOpt = "table",
    checks_path: ChecksPathOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    benchmark: BenchmarkOpt = None,
) -> int:
    """List every check (built-in and plugins): ID, severity, scope, title, rationale."""
    from inspect8s.audit.registry import filter_checks, load_checks
    from inspect8s.errors import UsageError

    env = env_of(ctx)
    fmt = output_format(output, "checks")
    out = env.stdout
    found = filter_checks(
        load_checks(env.paths(checks_path)),
        select=[*(select or ()), *([check_id] if check_id else [])],
        ignore=ignore or (),
        benchmark=benchmark,
    )
    if check_id and not found:
        raise UsageError(f"no check ID starts with {check_id!r}")
    data: list[dict[str, Any]] = [
        {
            "id": c.id,
            "title": c.info.title,
            "severity": c.severity.value,
            "scope": c.scope.value,
            "origin": c.info.origin,
            "rationale": c.info.rationale,
            **({"properties": c.info.properties} if c.info.properties else {}),
        }
        for c in found
    ]
    if fmt == "json":
        json.dump({"schemaVersion": 1, "kind": "CheckList", "checks": data}, out, indent=2)
        out.write("\n")
    elif fmt == "yaml":
        import yaml

        yaml.safe_dump(
            {"schemaVersion": 1, "kind": "CheckList", "checks": data},
            out,
            sort_keys=False,
            width=100,
        )
    elif check_id:
        for item in data:
            out.write(
                f"{item['id']}  {item['title']}\n"
                f"severity: {item['severity']}  scope: {item['scope']}  "
                f"origin: {item['origin']}\n\n{item['rationale']}\n\n"
            )
    else:
        from tabulate import tabulate

        rows = [[d["id"], d["severity"], d["scope"], d["title"]] for d in data]
        out.write(tabulate(rows, headers=["ID", "SEVERITY", "SCOPE", "TITLE"], tablefmt="simple"))
        out.write(f"\n\n{len(rows)} checks. `inspect8s checks ID` shows the rationale.\n")
    return 0
