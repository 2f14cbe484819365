"""docs/checks.md is generated from the registry and must be up to date."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_checks_doc_is_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    # `python scripts/gen_checks_doc.py --check`, run in this process.
    script = runpy.run_path(str(REPO / "scripts" / "gen_checks_doc.py"), run_name="gen_checks_doc")
    assert script["main"](["--check"]) == 0, capsys.readouterr().err


def test_checks_doc_names_every_builtin_check() -> None:
    from inspect8s.audit.registry import load_checks

    text = (REPO / "docs" / "checks.md").read_text()
    for c in load_checks():
        if c.info.origin.startswith("inspect8s."):
            assert f"## {c.id}\n" in text
            assert c.info.rationale in text
