"""The CLI shell: version, help, usage errors, exit codes, no tracebacks, broken pipes.

Start-up, the console scripts and the broken pipe need a real process; the rest runs the
CLI in-process (tests/clirun.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inspect8s import __version__
from tests.clirun import cli


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspect8s", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"inspect8s {__version__}"


def test_version_through_typer_with_other_global_option() -> None:
    proc = run("--debug", "--version")
    assert proc.returncode == 0
    assert __version__ in proc.stdout


def test_help_lists_commands() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    assert "node" in proc.stdout
    assert "Usage:" in proc.stdout


def test_console_scripts_installed() -> None:
    bindir = Path(sys.executable).parent
    for name in ("inspect8s", "kubectl-inspect8s"):
        exe = shutil.which(name, path=str(bindir)) or shutil.which(name)
        assert exe, f"{name} console script not on PATH"
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
        assert proc.returncode == 0 and __version__ in proc.stdout


def test_unknown_option_is_usage_error_without_traceback() -> None:
    proc = cli("node", "--no-such-option")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "no-such-option" in proc.stderr


def test_unknown_command_is_usage_error() -> None:
    proc = cli("frobnicate")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_bad_root_is_one_line_usage_error(tmp_path: Path) -> None:
    proc = cli("node", "--root", str(tmp_path / "nowhere"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_output_format_is_usage_error() -> None:
    proc = cli("node", "-o", "xml")
    assert proc.returncode == 2
    assert proc.stderr == (
        "inspect8s: error: `node` prints table, wide, json, yaml, html or jsonpath=TEMPLATE, "
        "not xml\n"
    )


def test_broken_pipe_is_quiet(tmp_path: Path) -> None:
    # `inspect8s node -o json | head -c 10`: the reader leaves early.
    proc = subprocess.run(
        f"'{sys.executable}' -m inspect8s node --no-runtime-calls -o json | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in proc.stderr
    assert "BrokenPipe" not in proc.stderr
    assert proc.stdout.startswith("{")


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv = ['inspect8s', '--help']\n"
        "try:\n"
        "    runpy.run_module('inspect8s', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('kubernetes', 'grpc', 'docker'))\n"
        "sys.stderr.write(repr(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stderr.strip().endswith("[]"), proc.stderr


@pytest.mark.parametrize("command", ["node", "pod", "pid", "audit", "checks", "record"])
def test_every_command_has_help(command: str) -> None:
    proc = cli(command, "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith(f"Usage: inspect8s {command} ")
    assert "--output" in proc.stdout or "--root" in proc.stdout
