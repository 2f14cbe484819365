"""Audit results as SARIF 2.1.0 (OASIS), for code-scanning dashboards.

Every check that ran is a rule (help text = its docstring); every finding a result with a
logical location (its subject: ``Deployment/<ns>/<name>/container/<c>``, ``node/<name>``)
and,
when it came from a file, a physical location (file URI and start line; the manifest's
document index is in the result's properties). Findings accepted in the ignore file carry
an external, accepted suppression. Probe errors and skipped or failed checks are tool
execution notifications of the single invocation.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import PurePosixPath
from typing import Any, TextIO
from urllib.parse import quote

from inspect8s._version import __version__
from inspect8s.audit.results import AuditResult, CheckInfo, Finding, Location, Severity, Status

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

LEVELS: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}

# GitHub code scanning reads properties["security-severity"] (a CVSS-like score as a string):
# >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def artifact_uri(path: str) -> str:
    """A file path as a SARIF URI: relative paths stay relative (posix, percent-encoded);
    absolute ones become file:// URIs."""
    if os.path.isabs(path):
        return "file://" + quote(PurePosixPath(path).as_posix())
    return quote(PurePosixPath(*path.split(os.sep)).as_posix())


def _rule_name(info: CheckInfo) -> str:
    words = re.findall(r"[A-Za-z0-9]+", info.title)
    return "".join(w[:1].upper() + w[1:] for w in words) or info.id


def _rule(info: CheckInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": _rule_name(info),
        "shortDescription": {"text": info.title},
        "fullDescription": {"text": info.summary},
        "help": {"text": info.rationale, "markdown": info.rationale},
        "defaultConfiguration": {"level": LEVELS[info.severity]},
        "properties": {
            **info.properties,
            "severity": info.severity.value,
            "scope": info.scope.value,
            "security-severity": SECURITY_SEVERITY[info.severity],
            "tags": ["inspect8s", info.scope.value, *_benchmark_tags(info)],
        },
    }


def _benchmark_tags(info: CheckInfo) -> list[str]:
    """``CIS 4.2.1`` style tags for checks that map to a benchmark item."""
    benchmark = info.properties.get("benchmark", "")
    item = info.properties.get("cis")
    return [f"{benchmark.split('-')[0].upper()} {item}"] if benchmark and item else []


def _physical(location: Location) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(location.file)}}
    if location.line is not None and location.line >= 1:
        physical["region"] = {"startLine": location.line}
    return physical


def _fingerprint(f: Finding) -> str:
    key = "\x00".join((f.check_id, f.subject, f.message))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _result(f: Finding, index: int) -> dict[str, Any]:
    location: dict[str, Any] = {
        "logicalLocations": [{"fullyQualifiedName": f.subject, "kind": "resource"}]
    }
    if f.location is not None:
        location["physicalLocation"] = _physical(f.location)
    properties: dict[str, Any] = {"severity": f.severity.value, "subject": f.subject}
    if f.location is not None and f.location.document_index is not None:
        properties["documentIndex"] = f.location.document_index
    result: dict[str, Any] = {
        "ruleId": f.check_id,
        "ruleIndex": index,
        "level": LEVELS[f.severity],
        "message": {"text": f.message},
        "locations": [location],
        "partialFingerprints": {"inspect8sFinding/v1": _fingerprint(f)},
        "properties": properties,
    }
    if f.suppressed is not None:
        result["suppressions"] = [
            {"kind": "external", "state": "accepted", "justification": f.suppressed}
        ]
    return result


def document(result: AuditResult) -> dict[str, Any]:
    rule_index = {info.id: i for i, info in enumerate(result.checks)}
    notifications: list[dict[str, Any]] = []
    for error in result.errors:
        notifications.append(
            {
                "level": "error",
                "message": {
                    "text": f"could not check {error.source}: {error.kind.value}: {error.detail}"
                },
            }
        )
    for o in result.undecided():
        if o.status is Status.SKIPPED or o.status is Status.ERROR:
            verb = "skipped" if o.status is Status.SKIPPED else "failed with an error"
            notifications.append(
                {
                    "level": "warning" if o.status is Status.SKIPPED else "error",
                    "message": {"text": f"{o.check_id} {verb} on {o.subject}: {o.reason}"},
                    "associatedRule": {"id": o.check_id, "index": rule_index[o.check_id]},
                }
            )
    errored = any(o.status is Status.ERROR for o in result.undecided())
    invocation: dict[str, Any] = {"executionSuccessful": not result.errors and not errored}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "inspect8s",
                "version": __version__,
                "rules": [_rule(info) for info in result.checks],
            }
        },
        "invocations": [invocation],
        "results": [_result(f, rule_index[f.check_id]) for f in result.findings],
        "properties": {"target": result.target, "inputs": list(result.inputs)},
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(result: AuditResult, out: TextIO) -> None:
    json.dump(document(result), out, indent=2, ensure_ascii=False)
    out.write("\n")
