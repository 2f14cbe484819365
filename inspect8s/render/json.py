"""Audit results as JSON: the stable, versioned schema of docs/output-formats.md.

``schemaVersion`` changes only when a field is removed or changes meaning; new fields may
be added within a version. Output is deterministic: checks sorted by ID, findings by
subject then check, keys in a fixed order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from inspect8s._version import __version__
from inspect8s.audit.results import AuditResult, Finding, Location

SCHEMA_VERSION = 1


def location_data(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {
        "file": location.file,
        "documentIndex": location.document_index,
        "line": location.line,
    }


def finding_data(f: Finding) -> dict[str, Any]:
    return {
        "checkId": f.check_id,
        "title": f.title,
        "severity": f.severity.value,
        "subject": f.subject,
        "message": f.message,
        "location": location_data(f.location),
        "suppressed": None if f.suppressed is None else {"reason": f.suppressed},
    }


def incomplete_data(result: AuditResult) -> Iterator[dict[str, Any]]:
    for o in result.undecided():
        yield {
            "checkId": o.check_id,
            "subject": o.subject,
            "status": o.status.value,
            "reason": o.reason,
            "location": location_data(o.location),
        }


def document(result: AuditResult, *, lists: bool = True) -> dict[str, Any]:
    """The audit result as JSON-ready data (also used by the YAML renderer).

    ``lists=False`` leaves ``findings`` and ``incomplete`` empty, for a writer that streams
    them (:func:`render`).
    """
    per_check = result.counts_by_check()
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
        "findings": [finding_data(f) for f in result.findings] if lists else [],
        "incomplete": list(incomplete_data(result)) if lists else [],
        "errors": [e.to_json() for e in result.errors],
        "leftOut": [{"subject": x.subject, "reason": x.reason} for x in result.left_out],
    }


# --------------------------------------------------------------------------- writer
#
# The document is written piece by piece, exactly as ``json.dump(doc, out, indent=2,
# ensure_ascii=False)`` would write it: a report of a million findings is neither held as
# one list of dicts nor encoded by the (generator-based, slow) indenting encoder of the
# standard library. test_render_outputs compares the two byte for byte.

_encode_str = json.encoder.encode_basestring


def _encode(value: Any, level: int, parts: list[str]) -> None:
    if isinstance(value, str):
        parts.append(_encode_str(value))
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, float):
        parts.append(json.dumps(value))
    elif isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        inner = "\n" + "  " * (level + 1)
        first = True
        for key, item in value.items():
            parts.append(("{" if first else ",") + inner + _encode_str(str(key)) + ": ")
            first = False
            _encode(item, level + 1, parts)
        parts.append("\n" + "  " * level + "}")
    elif isinstance(value, list | tuple):
        if not value:
            parts.append("[]")
            return
        inner = "\n" + "  " * (level + 1)
        for i, item in enumerate(value):
            parts.append(("[" if i == 0 else ",") + inner)
            _encode(item, level + 1, parts)
        parts.append("\n" + "  " * level + "]")
    else:
        raise TypeError(f"not JSON data: {type(value).__name__}")


def _write_list(out: TextIO, items: Iterable[dict[str, Any]], level: int) -> None:
    inner = "\n" + "  " * (level + 1)
    empty = True
    batch: list[str] = []
    for item in items:
        batch.append("[" if empty else ",")
        batch.append(inner)
        empty = False
        _encode(item, level + 1, batch)
        if len(batch) > 4096:
            out.write("".join(batch))
            batch.clear()
    if empty:
        out.write("[]")
        return
    batch.append("\n" + "  " * level + "]")
    out.write("".join(batch))


def _findings_text(findings: Iterable[Finding]) -> Iterator[str]:
    """Each finding as ``_encode(finding_data(f), 2)`` would write it, built directly."""
    enc = _encode_str
    for f in findings:
        loc = f.location
        if loc is None:
            where = "null"
        else:
            doc = "null" if loc.document_index is None else str(loc.document_index)
            line = "null" if loc.line is None else str(loc.line)
            where = (
                '{\n        "file": '
                + enc(loc.file)
                + ',\n        "documentIndex": '
                + doc
                + ',\n        "line": '
                + line
                + "\n      }"
            )
        accepted = (
            "null"
            if f.suppressed is None
            else '{\n        "reason": ' + enc(f.suppressed) + "\n      }"
        )
        yield (
            '{\n      "checkId": '
            + enc(f.check_id)
            + ',\n      "title": '
            + enc(f.title)
            + ',\n      "severity": '
            + enc(f.severity.value)
            + ',\n      "subject": '
            + enc(f.subject)
            + ',\n      "message": '
            + enc(f.message)
            + ',\n      "location": '
            + where
            + ',\n      "suppressed": '
            + accepted
            + "\n    }"
        )


def _write_texts(out: TextIO, texts: Iterable[str]) -> None:
    batch: list[str] = []
    empty = True
    for text in texts:
        batch.append("[\n    " if empty else ",\n    ")
        batch.append(text)
        empty = False
        if len(batch) > 4096:
            out.write("".join(batch))
            batch.clear()
    batch.append("[]" if empty else "\n  ]")
    out.write("".join(batch))


def render(result: AuditResult, out: TextIO) -> None:
    doc = document(result, lists=False)
    streamed = {
        "incomplete": incomplete_data(result),
    }
    first = True
    for key, value in doc.items():
        out.write(("{" if first else ",") + "\n  " + _encode_str(key) + ": ")
        first = False
        if key == "findings":
            _write_texts(out, _findings_text(result.findings))
        elif key in streamed:
            _write_list(out, streamed[key], 1)
        else:
            parts: list[str] = []
            _encode(value, 1, parts)
            out.write("".join(parts))
    out.write("\n}\n")
