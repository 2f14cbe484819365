"""--target-version is parsed in one place (audit.checks.versions.parse_target_version, applied
by CheckSettings) and refused the same way in every audit mode: exit 2, one line, no output."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspect8s.audit.checks.versions import parse_target_version
from inspect8s.audit.registry import CheckSettings
from inspect8s.errors import UsageError
from tests.clirun import cli

REPO = Path(__file__).resolve().parents[2]
BUNDLE = "tests/fixtures/audit/kubelet-1.25-containerd-1.5"


@pytest.mark.parametrize(
    ("text", "minor"), [("1.31", "1.31"), ("v1.31", "1.31"), ("v1.31.2", "1.31"), ("1.9", "1.9")]
)
def test_accepted_forms(text: str, minor: str) -> None:
    assert parse_target_version(text) == minor
    assert CheckSettings(target_version=text).target_version == minor


@pytest.mark.parametrize("text", ["banana", "1.31.2", "2.0", "v2.1", "1", "1.x", "", "v1."])
def test_refused_forms(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_target_version(text)
    assert info.value.exit_code == 2 and "expected a Kubernetes release like 1.31" in str(
        info.value
    )
    with pytest.raises(UsageError):
        CheckSettings(target_version=text)


@pytest.mark.parametrize(
    "mode",
    [
        ["--from", BUNDLE],
        ["--manifests", "tests/fixtures/apis/batch/fail.yaml"],
        ["--cluster", "--kubeconfig", "/nonexistent/kubeconfig"],
    ],
    ids=["node", "manifests", "cluster"],
)
def test_every_mode_refuses_a_bad_target(mode: list[str]) -> None:
    proc = cli("audit", *mode, "--target-version", "banana", cwd=str(REPO))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "inspect8s: error: target version 'banana': expected a Kubernetes release like 1.31 "
        "or v1.31.2 (--target-version)"
    ]


def test_a_bad_versions_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "v.yaml"
    bad.write_text("apis: [{group: g, version: v1, kind: X}]\n")
    proc = cli("audit", "--manifests", "tests/fixtures/apis/batch", "--versions-file", str(bad),
               cwd=str(REPO))  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert str(bad) in line and "give 'deprecated', 'removed' or both" in line
    assert line.startswith("inspect8s: error: versions file ") and line.endswith(
        "(--versions-file)"
    )


def test_the_target_applies_to_node_and_api_checks_alike() -> None:
    def ids(target: str) -> set[str]:
        proc = cli("audit", "--from", BUNDLE, "--target-version", target, "-o", "json",
                   "--fail-on", "none", cwd=str(REPO))  # fmt: skip
        return {f["checkId"] for f in proc.json()["findings"]}

    assert "I8S-CRI-V1" in ids("v1.26.3") and "I8S-CRI-V1" not in ids("v1.25.9")
