"""What `inspect8s checks` prints: the checks as a table, their rationale, JSON or YAML.

The JSON/YAML document is ``{"schemaVersion": 1, "kind": "CheckList", "checks": [...]}``
(docs/output-formats.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from inspect8s.audit.registry import Check

SCHEMA_VERSION = 1


def check_data(check: Check) -> dict[str, Any]:
    return {
        "id": check.id,
        "title": check.info.title,
        "severity": check.severity.value,
        "scope": check.scope.value,
        "origin": check.info.origin,
        "rationale": check.info.rationale,
        **({"properties": check.info.properties} if check.info.properties else {}),
    }


def write_check_list(
    checks: Sequence[Check], fmt: str, out: TextIO, *, rationale: bool = False
) -> None:
    """The checks in ``fmt`` (table, json, yaml); ``rationale`` prints each check's whole
    rationale instead of the table (``inspect8s checks ID``)."""
    data = [check_data(c) for c in checks]
    doc = {"schemaVersion": SCHEMA_VERSION, "kind": "CheckList", "checks": data}
    if fmt == "json":
        json.dump(doc, out, indent=2)
        out.write("\n")
    elif fmt == "yaml":
        import yaml

        yaml.safe_dump(doc, out, sort_keys=False, width=100)
    elif rationale:
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
