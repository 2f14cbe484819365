"""`inspect8s checks`: list the checks that `inspect8s audit` runs, with their rationale."""

from __future__ import annotations

from typing import Annotated

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
    from inspect8s import api
    from inspect8s.errors import UsageError
    from inspect8s.render.checklist import write_check_list

    env = env_of(ctx)
    fmt = output_format(output, "checks")
    found = api.list_checks(
        select=[*(select or ()), *([check_id] if check_id else [])],
        ignore=ignore or (),
        checks_path=env.paths(checks_path),
        benchmark=benchmark,
    )
    if check_id and not found:
        raise UsageError(f"no check ID starts with {check_id!r}")
    write_check_list(found, fmt, env.stdout, rationale=bool(check_id))
    return 0
