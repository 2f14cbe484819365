"""Audit results as JSON: the stable, versioned schema of docs/output-formats.md.

``schemaVersion`` changes only when a field is removed or changes meaning; new fields may
be added within a version. Output is deterministic: checks sorted by ID, findings by
subject then check, keys in a fixed order.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from inspect8s._version import __version__
from inspect8s.audit.results import AuditResult, Location, Status

SCHEMA_VERSION = 1


def location_data(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {
        "file": location.file,
        "documentIndex": location.document_index,
        "line": location.line,
    }


def document(result: AuditResult) -> dict[str, Any]:
    """The audit result as JSON-ready data (also used by the YAML renderer)."""
    per_check: dict[str, dict[str, int]] = {
        c.id: {s.value: 0 for s in Status} for c in result.checks
    }
    for outcome in result.outcomes:
        counts = per_check.setdefault(outcome.check_id, {s.value: 0 for s in Status})
        counts[outcome.status.value] += 1
    active = result.active_findings
    return {
        "schemaVersion": SCHEMA_VERSION,
        "kind": "AuditResult",
        "tool": {"name": "inspect8s", "version": __version__},
        "target": result.target,
        "inputs": list(result.inputs),
        "settings": dict(sorted(result.settings.items())),
        "summary": {
            "complete": result.complete,
            "checks": len(result.checks),
            "subjects": result.subjects,
            "documents": result.documents,
            "outcomes": result.status_counts(),
            "findings": len(active),
            "suppressed": len(result.findings) - len(active),
            "bySeverity": result.severity_counts(),
            "errors": len(result.errors),
            "leftOut": len(result.left_out),
        },
        "checks": [
            {
                "id": c.id,
                "title": c.title,
                "severity": c.severity.value,
                "scope": c.scope.value,
                "origin": c.origin,
                "rationale": c.rationale,
                **({"properties": dict(c.properties)} if c.properties else {}),
                "outcomes": per_check[c.id],
            }
            for c in result.checks
        ],
        "findings": [
            {
                "checkId": f.check_id,
                "title": f.title,
                "severity": f.severity.value,
                "subject": f.subject,
                "message": f.message,
                "location": location_data(f.location),
                "suppressed": None if f.suppressed is None else {"reason": f.suppressed},
            }
            for f in result.findings
        ],
        "incomplete": [
            {
                "checkId": o.check_id,
                "subject": o.subject,
                "status": o.status.value,
                "reason": o.reason,
                "location": location_data(o.location),
            }
            for o in result.outcomes
            if o.status in (Status.SKIPPED, Status.ERROR)
        ],
        "errors": [e.to_json() for e in result.errors],
        "leftOut": [{"subject": x.subject, "reason": x.reason} for x in result.left_out],
    }


def render(result: AuditResult, out: TextIO) -> None:
    json.dump(document(result), out, indent=2, ensure_ascii=False)
    out.write("\n")
