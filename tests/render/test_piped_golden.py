"""Piped table output stays byte for byte what scripts already parse.

Each case runs the real CLI with standard output on a pipe (no terminal: no fitting, no
eliding, no progress) on the replay trees and bundles under tests/fixtures, and compares it
with tests/fixtures/golden/tables/. The repository's absolute path is written as ``<REPO>``
so that the goldens hold no machine path. Regenerate after an intended change with
``UPDATE_GOLDEN=1 pytest tests/render/test_piped_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.clirun import cli

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "fixtures" / "golden" / "tables"
NODES = "tests/fixtures/nodes"
BUNDLES = "tests/fixtures/bundles"

# (golden file, CLI arguments); every path relative to the repository root.
CASES: list[tuple[str, list[str]]] = [
    ("node-cgroupv2.txt", ["node", "--root", f"{NODES}/cgroupv2-systemd-containerd"]),
    ("node-real-1.26.txt", ["node", "--root", f"{NODES}/real-1.26-containerd"]),
    ("node-crio-config.txt", ["node", "--root", f"{NODES}/crio", "--config"]),
    ("node-docker-era-config.txt", ["node", "--root", f"{NODES}/docker-era", "--config"]),
    ("node-cri-dockerd.txt", ["node", "--root", f"{NODES}/cri-dockerd"]),
    (
        "trace-crio-db-0.txt",
        ["pod", "db-0", "-n", "data", "--trace-runtime", "--from", f"{BUNDLES}/crio-1.29"],
    ),
    (
        "trace-cri-dockerd-web.txt",
        [
            "pod",
            "web-7d9f8-abcde",
            "-n",
            "shop",
            "--trace-runtime",
            "--from",
            f"{BUNDLES}/cri-dockerd-0.3",
        ],
    ),
    (
        "pod-crio-debug-shell.txt",
        ["pod", "debug-shell", "-n", "default", "--from", f"{BUNDLES}/crio-1.29"],
    ),
    ("pid-crio-3202.txt", ["pid", "3202", "--from", f"{BUNDLES}/crio-1.29"]),
    (
        "audit-manifests.txt",
        [
            "audit",
            "--manifests",
            "tests/fixtures/manifests/golden",
            "--ignore-file",
            "tests/fixtures/manifests/golden-ignore.yaml",
            "--fail-on",
            "none",
        ],
    ),
    (
        "audit-node-cgroupv2.txt",
        ["audit", "--root", f"{NODES}/cgroupv2-systemd-containerd", "--fail-on", "none"],
    ),
    ("audit-bundle-crio.txt", ["audit", "--from", f"{BUNDLES}/crio-1.29", "--fail-on", "none"]),
]

NO_RUNTIME = {"node"}  # node on a replay tree: read host files only, ask no socket
# The built-in checks only: the goldens must not change when a check plugin is installed
# (scripts/test.sh installs the example plugin, whose checks are I8S-EXAMPLE-*).
BUILTIN_ONLY = ["--ignore", "I8S-EXAMPLE-"]


def piped(args: list[str]) -> str:
    """Standard output of the CLI run with its output on a pipe, machine paths replaced."""
    if args[0] in NO_RUNTIME:
        args = [*args, "--no-runtime-calls"]
    if args[0] == "audit":
        args = [*args, *BUILTIN_ONLY]
    # A width in the environment must not change piped output (stdout is no terminal).
    proc = cli(*args, env={"COLUMNS": "100"})
    assert proc.returncode in (0, 3), proc.stderr
    assert proc.stderr == "", proc.stderr  # no progress on a pipe either
    return proc.stdout.replace(str(REPO), "<REPO>")


@pytest.mark.parametrize(("golden", "args"), CASES, ids=[c[0] for c in CASES])
def test_piped_table_is_unchanged(
    golden: str, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # the paths are relative to the repository, as a user types them
    got = piped(args)
    path = GOLDEN / golden
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got)
    assert got == path.read_text(), f"{golden} changed; UPDATE_GOLDEN=1 to accept"
