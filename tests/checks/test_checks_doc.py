"""docs/checks.md is generated from the registry and must be up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_checks_doc_is_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_checks_doc.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_checks_doc_names_every_builtin_check() -> None:
    from inspect8s.audit.registry import load_checks

    text = (REPO / "docs" / "checks.md").read_text()
    for c in load_checks():
        if c.info.origin.startswith("inspect8s."):
            assert f"## {c.id}\n" in text
            assert c.info.rationale in text
