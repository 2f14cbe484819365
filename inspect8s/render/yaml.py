"""Audit results as YAML: the same document as the JSON renderer (docs/output-formats.md)."""

from __future__ import annotations

from typing import TextIO

from inspect8s.audit.results import AuditResult
from inspect8s.render.json import document


def render(result: AuditResult, out: TextIO) -> None:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    yaml.dump(
        document(result),
        out,
        Dumper=dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )
