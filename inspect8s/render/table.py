"""Audit results as a table for people: findings first, then what could not be checked.

On a terminal the table fits its width (render/layout.py): messages and subjects wrap, and
when even that is too wide the location moves under the message. Piped or written to a
file, and with ``-o wide``, rows are written in full.
"""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from inspect8s.audit.results import AuditResult, Finding, Severity, Status
from inspect8s.render.layout import Column, Fit, Page, Screen

FINDING_COLUMNS = (
    Column("SEVERITY"),
    Column("CHECK"),
    Column("SUBJECT", Fit.WRAP),
    Column("MESSAGE", Fit.WRAP),
    Column("LOCATION", Fit.WRAP, drop=1, fold="MESSAGE", fold_prefix="at "),
)


def _severity_line(counts: dict[str, int]) -> str:
    parts = [f"{counts[s.value]} {s.value}" for s in reversed(Severity) if counts[s.value]]
    return ", ".join(parts)


def _row(f: Finding) -> list[str]:
    return [
        f.severity.value,
        f.check_id,
        f.subject,
        f.message,
        f.location.text() if f.location else "",
    ]


def render(result: AuditResult, out: TextIO) -> None:
    """The ``table`` renderer: fitted to a terminal, full rows anywhere else."""
    render_table(result, out, Screen.for_stream(out))


def render_wide(result: AuditResult, out: TextIO) -> None:
    """The ``wide`` renderer: full rows, even on a terminal."""
    render_table(result, out, Screen.for_stream(out, wide=True))


def render_table(result: AuditResult, out: TextIO, screen: Screen) -> None:
    page = Page(out, screen)
    active = [f for f in result.findings if f.suppressed is None]
    suppressed = [f for f in result.findings if f.suppressed is not None]
    ordered = sorted(active, key=lambda f: (-f.severity.rank, *f.sort_key()))
    if ordered:
        page.table([_row(f) for f in ordered], FINDING_COLUMNS, tablefmt="simple")
        page.line()
        page.line(f"{len(ordered)} findings: {_severity_line(result.severity_counts())}")
    else:
        page.line("No findings.")
    if suppressed:
        page.line(f"{len(suppressed)} findings accepted in the ignore file:")
        for f in sorted(suppressed, key=Finding.sort_key):
            page.line(f"  {f.check_id} {f.subject}: {f.suppressed}")
    counts = result.status_counts()
    what = f"{result.subjects} subjects"
    if result.documents is not None:
        what += f" from {result.documents} documents"
    page.line(
        f"Checked {what} with {len(result.checks)} checks: {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['skipped']} skipped, {counts['error']} errors."
    )
    problems = Counter(
        (o.status, o.check_id, o.reason or "")
        for o in result.undecided()
        if o.status in (Status.SKIPPED, Status.ERROR)
    )
    for (status, check_id, reason), n in sorted(problems.items()):
        label = "skipped" if status is Status.SKIPPED else "check error"
        times = f" ({n} subjects)" if n > 1 else ""
        page.line(f"{label}: {check_id}{times}: {reason}")
    target = result.settings.get("targetVersion")
    if target:
        origin = result.settings.get("targetVersionFrom")
        page.line(f"Target release: {target}" + (f" ({origin})" if origin else "") + ".")
    for error in result.errors:
        page.line(f"could not check {error.source}: {error.kind.value}: {error.detail}")
    for left in result.left_out:
        page.line(f"left out {left.subject}: {left.reason}")
