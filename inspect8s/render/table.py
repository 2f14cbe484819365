"""Audit results as a table for people: findings first, then what could not be checked."""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from tabulate import tabulate

from inspect8s.audit.results import AuditResult, Finding, Severity, Status


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
            out.write(f"  {f.check_id} {f.subject}: {f.suppressed}\n")
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
        out.write(f"{label}: {check_id}{times}: {reason}\n")
    target = result.settings.get("targetVersion")
    if target:
        origin = result.settings.get("targetVersionFrom")
        out.write(f"Target release: {target}" + (f" ({origin})" if origin else "") + ".\n")
    for error in result.errors:
        out.write(f"could not check {error.source}: {error.kind.value}: {error.detail}\n")
