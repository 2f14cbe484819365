"""Audit results as a table for people: findings first, then what could not be checked."""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from tabulate import tabulate

from inspect8s.audit.results import AuditResult, Finding, Severity, Status
from inspect8s.render.escape import escape, escaping


def _severity_line(counts: dict[str, int]) -> str:
    parts = [f"{counts[s.value]} {s.value}" for s in reversed(Severity) if counts[s.value]]
    return ", ".join(parts)


def _row(f: Finding) -> list[str]:
    return [
        f.severity.value,
        escape(f.check_id),
        escape(f.subject),
        escape(f.message),
        escape(f.location.text()) if f.location else "",
    ]


def render(result: AuditResult, out: TextIO) -> None:
    out = escaping(out)
    active = [f for f in result.findings if f.suppressed is None]
    suppressed = [f for f in result.findings if f.suppressed is not None]
    ordered = sorted(active, key=lambda f: (-f.severity.rank, *f.sort_key()))
    if ordered:
        table = tabulate(
            [_row(f) for f in ordered],
            headers=["SEVERITY", "CHECK", "SUBJECT", "MESSAGE", "LOCATION"],
            tablefmt="simple",
            disable_numparse=True,
        )
        out.write(table + "\n\n")
        out.write(f"{len(ordered)} findings: {_severity_line(result.severity_counts())}\n")
    else:
        out.write("No findings.\n")
    if suppressed:
        out.write(f"{len(suppressed)} findings accepted in the ignore file:\n")
        for f in sorted(suppressed, key=Finding.sort_key):
            out.write(f"  {escape(f.check_id)} {escape(f.subject)}: {escape(f.suppressed)}\n")
    counts = result.status_counts()
    what = f"{result.subjects} subjects"
    if result.documents is not None:
        what += f" from {result.documents} documents"
    out.write(
        f"Checked {what} with {len(result.checks)} checks: {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['skipped']} skipped, {counts['error']} errors.\n"
    )
    problems = Counter(
        (o.status, o.check_id, o.reason or "")
        for o in result.outcomes
        if o.status in (Status.SKIPPED, Status.ERROR)
    )
    for (status, check_id, reason), n in sorted(problems.items()):
        label = "skipped" if status is Status.SKIPPED else "check error"
        times = f" ({n} subjects)" if n > 1 else ""
        out.write(f"{label}: {escape(check_id)}{times}: {escape(reason)}\n")
    for error in result.errors:
        out.write(
            f"could not check {escape(error.source)}: {error.kind.value}: {escape(error.detail)}\n"
        )
