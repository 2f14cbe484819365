"""On a 100-column terminal (a real pseudo-terminal) `node`, `pod --trace-runtime` and `audit`
print no line wider than 100 columns and keep every container's ID prefix on one line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inspect8s.render.layout import SHORT_ID, text_width
from tests.clirun import cli
from tests.ptyrun import REPO, run_in_pty
from tests.render.test_piped_golden import BUNDLES, CASES, NODES


def piped_json(args: list[str]) -> Any:
    proc = cli(*args, "-o", "json", cwd=str(REPO))
    assert proc.returncode in (0, 3), proc.stderr
    return json.loads(proc.stdout)


def container_ids(args: list[str]) -> set[str]:
    """Every container and sandbox ID the command's JSON names."""
    if args[0] == "node":
        return {c["id"] for c in piped_json(args)["containers"]}
    if args[0] == "pod":
        doc = piped_json(args)
        ids = {c["container_id"] for c in doc["containers"]}
        return ids | ({doc["sandbox"]["container_id"]} if doc.get("sandbox") else set())
    if args[0] == "audit":
        doc = piped_json(args)
        subjects = {f["subject"] for f in doc["findings"]}
        return {s.split("/", 1)[1] for s in subjects if s.startswith("container/")}
    raise AssertionError(args)


def _no_runtime(args: list[str]) -> list[str]:
    return [*args, "--no-runtime-calls"] if args[0] == "node" else args


FIT_CASES = [(g, a) for g, a in CASES if a[0] in ("node", "audit") or "--trace-runtime" in a]


@pytest.mark.parametrize(("golden", "args"), FIT_CASES, ids=[c[0] for c in FIT_CASES])
def test_fits_100_columns_and_keeps_id_prefixes(golden: str, args: list[str]) -> None:
    args = _no_runtime(args)
    result = run_in_pty(args, columns=100)
    assert result.returncode in (0, 1, 3), result.output
    too_wide = [line for line in result.lines if text_width(line) > 100]
    assert too_wide == [], too_wide
    ids = container_ids(args)
    if args[0] != "audit":
        assert ids, "the case must name containers"
    for cid in ids:
        prefix = cid[: min(len(cid), SHORT_ID if args[0] != "audit" else 12)]
        assert any(prefix in line for line in result.lines), (prefix, result.output)
    # the terminal got a fitted view, not the piped rows
    piped = (REPO / "tests" / "fixtures" / "golden" / "tables" / golden).read_text()
    assert max(map(len, piped.splitlines())) > 100
    assert "Traceback" not in result.output


def test_columns_variable_sets_the_width_on_a_terminal() -> None:
    args = ["node", "--root", f"{NODES}/real-1.26-containerd", "--no-runtime-calls"]
    narrow = run_in_pty(args, columns=200, env={"COLUMNS": "80"})
    assert max(map(text_width, narrow.lines)) <= 80
    wide = run_in_pty(args, columns=200)
    assert max(map(text_width, wide.lines)) > 100  # 200 columns: full rows fit


def test_a_very_narrow_terminal_still_shows_every_container_id() -> None:
    args = ["pod", "db-0", "-n", "data", "--trace-runtime", "--from", f"{BUNDLES}/crio-1.29"]
    result = run_in_pty(args, columns=60)
    assert max(map(text_width, result.lines)) <= 60
    for cid in container_ids(args):
        assert any(cid[:SHORT_ID] in line for line in result.lines)
