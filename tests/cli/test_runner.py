"""The in-process runner: injected streams and environment, one ExitStatus, one error mapping.

The CLI runs here exactly as the console script runs it (``inspect8s.cli.run``), without a
new interpreter: what it prints, where, and the exit code it returns.
"""

from __future__ import annotations

import ast
import io
import os
import re
from pathlib import Path

import pytest

from inspect8s import __version__
from inspect8s.cli import run
from inspect8s.collect.bundle import load_bundle
from inspect8s.errors import (
    ErrorKind,
    ExitStatus,
    Inspect8sError,
    ProbeFailed,
    UsageError,
    describe_failure,
)
from tests.clirun import cli

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "inspect8s"


def test_exit_statuses_are_the_documented_codes() -> None:
    table = (REPO / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert documented == {int(s) for s in ExitStatus}
    assert (ExitStatus.USAGE, ExitStatus.TOOL_ERROR) == (2, 4)
    assert UsageError("x").exit_code is ExitStatus.USAGE
    assert Inspect8sError("x").exit_code is ExitStatus.TOOL_ERROR


def test_no_other_module_defines_exit_codes() -> None:
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^EXIT_[A-Z_]+ = \d", text, flags=re.M), path
        assert not re.search(r"exit_code = \d", text), path


def test_version_and_help_go_to_the_given_stdout() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run(["--version"], out, err) == 0
    assert out.getvalue() == f"inspect8s {__version__}\n" and err.getvalue() == ""
    result = cli("node", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: inspect8s node") and "--cri-endpoint" in result.stdout


def test_usage_errors_go_to_the_given_stderr() -> None:
    result = cli("checks", "--no-such-option")
    assert result.returncode == ExitStatus.USAGE
    assert result.stdout == ""
    assert "No such option: --no-such-option" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback_without_touching_os_environ(tmp_path: Path) -> None:
    before = os.environ.get("INSPECT8S_DEBUG")
    plain = cli("audit", "--ignore-file", str(tmp_path / "missing.yaml"))
    debug = cli("--debug", "audit", "--ignore-file", str(tmp_path / "missing.yaml"))
    assert os.environ.get("INSPECT8S_DEBUG") == before
    assert plain.returncode == debug.returncode == ExitStatus.USAGE
    assert "Traceback" not in plain.stderr and len(plain.stderr.splitlines()) == 1
    assert "Traceback (most recent call last)" in debug.stderr
    by_env = cli("audit", "--ignore-file", "x", env={"INSPECT8S_DEBUG": "1"}, cwd=str(tmp_path))
    assert "Traceback (most recent call last)" in by_env.stderr


def test_library_errors_name_no_flag_and_the_cli_adds_it(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load_bundle(str(tmp_path))
    assert "--" not in str(info.value) and info.value.param == "bundle"
    result = cli("audit", "--from", str(tmp_path))
    assert result.returncode == ExitStatus.USAGE
    assert result.stderr == f"inspect8s: error: {info.value} (--from)\n"
    ignore = cli("audit", "--ignore-file", str(tmp_path / "none.yaml"))
    assert ignore.stderr.rstrip().endswith("No such file or directory (--ignore-file)")


# A command-line flag in a message: "--from", "--agent-timeout" (not "x--y" or "---").
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def _raised_messages(path: Path) -> list[tuple[int, str, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        func = node.exc.func
        name = getattr(func, "id", None) or getattr(func, "attr", "")
        if not node.exc.args:
            continue
        text = "".join(
            c.value
            for c in ast.walk(node.exc.args[0])
            if isinstance(c, ast.Constant) and isinstance(c.value, str)
        )
        found.append((node.lineno, name, text))
    return found


def test_no_library_error_message_names_a_flag() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "commands" or rel.name == "cli.py":
            continue  # the CLI's own messages name its flags
        for line, name, text in _raised_messages(path):
            # Skip reasons are report content written by checks, not errors.
            if name != "Skip" and _FLAG.search(text):
                offenders.append(f"{rel}:{line}: {name}: {text[:80]}")
    assert offenders == []


def test_one_mapping_from_exceptions_to_status_and_message() -> None:
    assert describe_failure(UsageError("bad value", param="timeout")) == (
        ExitStatus.USAGE,
        "error: bad value",
    )
    probe = ProbeFailed(ErrorKind.TIMEOUT, "cri:Version", "no answer within 1s")
    assert describe_failure(probe) == (
        ExitStatus.TOOL_ERROR,
        "error: could not read cri:Version: timeout: no answer within 1s",
    )
    assert describe_failure(KeyboardInterrupt()) == (ExitStatus.INTERRUPTED, "interrupted")
    assert describe_failure(BrokenPipeError()) == (ExitStatus.BROKEN_PIPE, "")
    status, message = describe_failure(ZeroDivisionError("division by zero"))
    assert status is ExitStatus.TOOL_ERROR
    assert message == "internal error: ZeroDivisionError: division by zero"


def test_root_comes_from_the_injected_environment(tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere"
    assert "INSPECT8S_ROOT" not in os.environ or os.environ["INSPECT8S_ROOT"] != str(nowhere)
    result = cli("node", env={"INSPECT8S_ROOT": str(nowhere)})
    assert result.returncode == ExitStatus.USAGE
    assert (
        result.stderr
        == f"inspect8s: error: {nowhere} has no proc directory: is it the host's / ? (--root)\n"
    )
    # --root beats the variable.
    given = cli("node", "--root", str(tmp_path / "other"), env={"INSPECT8S_ROOT": str(nowhere)})
    assert str(tmp_path / "other") in given.stderr


def test_relative_paths_are_taken_from_the_given_directory(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        "spec: {containers: [{name: c, image: busybox:1.36,\n"
        "  securityContext: {privileged: true}}]}\n",
        encoding="utf-8",
    )
    result = cli("audit", "--manifests", "pod.yaml", "-o", "json", cwd=str(tmp_path))
    assert result.returncode == ExitStatus.FINDINGS, result.stderr
    assert result.json()["inputs"] == [str(tmp_path / "pod.yaml")]
    missing = cli("audit", "--manifests", "nope.yaml", cwd=str(tmp_path))
    assert missing.returncode == ExitStatus.USAGE
    assert missing.stderr == (
        f"inspect8s: error: manifest path {tmp_path / 'nope.yaml'}: "
        "no such file or directory (--manifests)\n"
    )


def test_standard_input_is_the_given_one() -> None:
    pod = (
        '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "from-stdin"}, '
        '"spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}'
    )
    result = cli("audit", "--manifests", "-", "-o", "json", "--fail-on", "none", stdin=pod)
    assert result.returncode == ExitStatus.OK, result.stderr
    assert result.json()["summary"]["documents"] == 1


@pytest.mark.parametrize("command", [["audit"], ["pod", "web"], ["pid", "1"]])
def test_from_names_one_bundle(command: list[str], tmp_path: Path) -> None:
    result = cli(*command, "--from", str(tmp_path / "a"), "--from", str(tmp_path / "b"))
    assert result.returncode == ExitStatus.USAGE
    assert (
        result.stderr
        == "inspect8s: error: --from: one bundle per command (2 given); read each node on its own\n"
    )


@pytest.mark.parametrize("command", ["node", "pod", "pid", "checks"])
def test_view_commands_refuse_report_formats(command: str) -> None:
    args = {"pod": ["pod", "web"], "pid": ["pid", "1"]}.get(command, [command])
    result = cli(*args, "-o", "sarif")
    assert result.returncode == ExitStatus.USAGE
    prints = (
        "table, json or yaml"
        if command == "checks"
        else "table, wide, json, yaml, html or jsonpath=TEMPLATE"
    )
    assert result.stderr == f"inspect8s: error: `{command}` prints {prints}, not sarif\n"
