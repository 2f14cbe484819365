"""`inspect8s audit --benchmark cis` on the test bed's machine: containerd runs, no kubelet.

Every CIS kubelet check skips with the reason, none passes on what was not collected.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from testbed import TestBed

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_live_benchmark_on_a_machine_without_kubelet(testbed: TestBed) -> None:
    proc = subprocess.run(
        [
            sys.executable, "-m", "inspect8s", "audit", "--benchmark", "cis", "-o", "json",
            "--cri-endpoint", testbed.cri_endpoint, "--require-complete",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=180,
    )  # fmt: skip
    doc = json.loads(proc.stdout)
    if not any(o["reason"].startswith("no kubelet") for o in doc["incomplete"]):
        pytest.skip("this machine has a kubelet process, unit or configuration")
    assert doc["findings"] == []
    assert len(doc["checks"]) == 24
    reasons = {o["checkId"]: o["reason"] for o in doc["incomplete"]}
    assert len(reasons) == 24  # every check skipped, none passed
    for check_id, reason in reasons.items():
        if check_id.startswith("I8S-KUBELET-"):
            assert reason == "no kubelet on this node (no process, unit or configuration found)"
        else:
            assert "no kube-proxy process" in reason
    assert proc.returncode == 3  # incomplete, as --require-complete asks
