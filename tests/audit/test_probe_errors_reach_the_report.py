"""Every probe error reaches the report, and a check whose input it took skips.

The bundle ``healthy-1.31-cgroupv2`` answers every runtime call; each test here replaces one
recorded answer with a timeout (as ``record`` keeps a call that timed out) and audits the
copy: the timeout must be in the report's errors, and the checks that read that answer must
be skipped with a reason, never passed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import cli

BUNDLE = Path("tests/fixtures/audit/healthy-1.31-cgroupv2")
SOCKET = "/run/containerd/containerd.sock"
# The checks that read each call's answer and have no other source for it (at target 1.34,
# where every one of them applies).
DEPENDENT = {
    "Version": ("I8S-CRI-V1", "I8S-RUNTIME-MINVER", "I8S-CTRD-CFGVER"),
    "Status": ("I8S-CTRD-DEPRWARN",),
    "RuntimeConfig": ("I8S-CG-FROMCRI",),
    "ListPodSandbox": (),
    "ListContainers": (),
}


def _audit(bundle: Path) -> dict[str, Any]:
    result = cli(
        "audit", "--from", str(bundle), "-o", "json", "--fail-on", "none",
        "--target-version", "1.34",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = result.json()
    return doc


def _outcomes(doc: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {c["id"]: c["outcomes"] for c in doc["checks"]}


def test_the_whole_bundle_judges_the_dependent_checks() -> None:
    outcomes = _outcomes(_audit(BUNDLE))
    for check_id in {c for checks in DEPENDENT.values() for c in checks}:
        assert outcomes[check_id]["skipped"] == 0, check_id
        assert outcomes[check_id]["passed"] + outcomes[check_id]["failed"] == 1, check_id


@pytest.mark.parametrize("call", sorted(DEPENDENT))
def test_a_timeout_in_each_call_is_reported_and_skips_what_needed_it(
    call: str, tmp_path: Path
) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(BUNDLE, copy, symlinks=True)
    cri_file = copy / "runtime" / "cri.json"
    cri = json.loads(cri_file.read_text())
    detail = f"no answer from {SOCKET} within 5 s"
    cri[SOCKET][call] = {"error": {"kind": "timeout", "source": f"cri:{call}", "detail": detail}}
    cri[SOCKET].pop("ApiVersion", None)  # bundles of older versions kept a second Version
    cri_file.write_text(json.dumps(cri))
    doc = _audit(copy)
    assert {"kind": "timeout", "source": f"cri:{call}", "detail": detail} in doc["errors"]
    outcomes = _outcomes(doc)
    for check_id in DEPENDENT[call]:
        assert outcomes[check_id] == {"passed": 0, "failed": 0, "skipped": 1, "error": 0}, check_id
    skipped = {o["checkId"]: o for o in doc["incomplete"]}
    for check_id in DEPENDENT[call]:
        assert skipped[check_id]["reason"], check_id
