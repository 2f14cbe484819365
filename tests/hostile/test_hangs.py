"""No call outlives ``--timeout``: an API server that drips its headers or its body a byte at
a time (several bytes within the deadline), one that never answers, a 2 GB answer, a
credential plugin that never exits; each run ends within ``--timeout`` plus a small margin
with one line on stderr, and a huge answer is cut off at the size limit without holding it
in memory.

Each case prints ``figure: <case> <seconds> s, <peak RSS> MB`` (``pytest -s`` shows them)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hostile import servers
from tests.hostile.conftest import REPO, one_line
from tests.kubeserver import KubeServer, write_kubeconfig
from tests.zygote import CliProcess

# A server that never finishes its answer trips any deadline: a short one ends each case
# sooner and tests the same thing.
TIMEOUT = 0.5
# The dripping servers send a byte this often: every receive gets data well within the
# deadline, so only a deadline on the whole call can end it.
DRIP = TIMEOUT / 4
# The credential plugin test: the plugin (a shell) must have written its PIDs by then.
PLUGIN_TIMEOUT = 1.0
# The run's set-up (forked warm, tests/zygote.py) and its exit: well under 1 s on the
# development machine, more on a loaded CI runner.
MARGIN = 4.0


@dataclass(frozen=True)
class Run:
    code: int
    stderr: str
    seconds: float
    peak_rss_mb: float


def timed_cli(*args: str, env: dict[str, str] | None = None, kill_after: float = 120) -> Run:
    """Run inspect8s (a real process, tests/zygote.py); its wall time and its own peak RSS."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = CliProcess(
            args,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
            cwd=REPO,
        )
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(
                f"inspect8s {' '.join(args)} still running after {kill_after}s"
            ) from None
        seconds = time.monotonic() - start
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    assert proc.returncode is not None and proc.maxrss_kb is not None
    return Run(proc.returncode, text, seconds, proc.maxrss_kb / 1024)


def figure(case: str, run: Run) -> None:
    print(f"figure: {case} {run.seconds:.2f} s, exit {run.code}, peak RSS {run.peak_rss_mb:.0f} MB")


SERVERS: dict[str, Callable[[], servers.Server]] = {
    "drip-headers": lambda: servers.drip_headers(DRIP),
    "drip-body": lambda: servers.drip_body(DRIP),
    "never-answers": servers.silent,
}
COMMANDS = {
    "pod": ["pod", "web", "-n", "shop"],
    "audit-cluster": ["audit", "--cluster", "-o", "json"],
}


def baseline(tmp_path: Path, command: list[str]) -> Run:
    """The same command against a server that answers at once (its set-up, work and exit),
    just before the slow one: the bound below follows the machine's load at that time."""
    with KubeServer() as server:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig-ok", server.url)
        return timed_cli(*command, "--kubeconfig", str(kubeconfig), "--timeout", str(TIMEOUT))


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_slow_servers_end_within_the_timeout(tmp_path: Path, kind: str, command: str) -> None:
    fast = baseline(tmp_path, COMMANDS[command])
    with SERVERS[kind]() as server:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url)
        run = timed_cli(*COMMANDS[command], "--kubeconfig", str(kubeconfig),
                        "--timeout", str(TIMEOUT))  # fmt: skip
        assert server.connections >= 1
    figure(f"{kind} {command} --timeout {TIMEOUT:g} (answering server: {fast.seconds:.2f} s)", run)
    assert run.code == 4, run.stderr
    assert f"within {TIMEOUT:g}s" in one_line(run.stderr)
    # One call's deadline on top of what the same run costs against a prompt server.
    assert run.seconds < max(fast.seconds, 0.5) + TIMEOUT + MARGIN / 2, (run, fast)


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
def test_a_2gb_answer_is_cut_off_in_bounded_memory(tmp_path: Path, declared: bool) -> None:
    with servers.huge(2 << 30, declared=declared) as server:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url)
        run = timed_cli("pod", "web", "-n", "shop", "--kubeconfig", str(kubeconfig),
                        "--timeout", "30")  # fmt: skip
        sent = server.bytes_sent
    figure(f"2 GB answer ({'declared' if declared else 'chunked'}), {sent >> 20} MiB sent", run)
    assert run.code == 4, run.stderr
    assert "more than 128 MiB" in one_line(run.stderr)
    assert sent < 1 << 30  # the client stopped reading long before the end
    assert run.peak_rss_mb < 500


def plugin_kubeconfig(tmp_path: Path, url: str, script: str | None) -> Path:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url)
    text = kubeconfig.read_text()
    command = str(tmp_path / "plugin") if script is not None else str(tmp_path / "absent")
    if script is not None:
        plugin = tmp_path / "plugin"
        plugin.write_text(script)
        plugin.chmod(0o755)
    exec_user = (
        "    exec:\n"
        "      apiVersion: client.authentication.k8s.io/v1beta1\n"
        f"      command: {command}\n"
        "      installHint: install the test plugin\n"
        "      interactiveMode: Never\n"
    )
    kubeconfig.write_text(text.replace("    token: t0ken\n", exec_user))
    assert "exec:" in kubeconfig.read_text()
    return kubeconfig


def alive(pid: str) -> bool:
    """Whether process ``pid`` exists and has not ended. A killed child of the plugin is
    left to PID 1, which may take its time to reap it: ended, it is a zombie until then."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def test_a_plugin_that_never_exits_is_killed_with_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"#!/bin/sh\necho $$ > {pids}\nsleep 1000 &\necho $! >> {pids}\nwait\n"
    with KubeServer() as server:
        kubeconfig = plugin_kubeconfig(tmp_path, server.url, script)
        run = timed_cli("pod", "web", "-n", "shop", "--kubeconfig", str(kubeconfig),
                        "--timeout", str(PLUGIN_TIMEOUT))  # fmt: skip
        assert server.requests == []  # no unauthenticated try
    figure(f"exec plugin that never exits --timeout {PLUGIN_TIMEOUT:g}", run)
    assert run.code == 4
    assert run.seconds < PLUGIN_TIMEOUT + MARGIN, run
    assert f"did not finish within {PLUGIN_TIMEOUT:g}s" in one_line(run.stderr)
    for pid in pids.read_text().split():
        deadline = time.monotonic() + 5
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pid), f"plugin process {pid} left running"


def test_a_missing_plugin_is_one_line_and_no_unauthenticated_call(tmp_path: Path) -> None:
    with KubeServer() as server:
        kubeconfig = plugin_kubeconfig(tmp_path, server.url, None)
        run = timed_cli("pod", "web", "-n", "shop", "--kubeconfig", str(kubeconfig))
        assert server.requests == []
    assert run.code == 4
    line = one_line(run.stderr)
    assert "was not found; install the test plugin" in line and "ERROR:root" not in run.stderr


def test_a_failing_plugin_says_why(tmp_path: Path) -> None:
    script = "#!/bin/sh\necho 'token expired, run login' >&2\nexit 3\n"
    with KubeServer() as server:
        kubeconfig = plugin_kubeconfig(tmp_path, server.url, script)
        run = timed_cli("pod", "web", "-n", "shop", "--kubeconfig", str(kubeconfig))
        assert server.requests == []
    assert run.code == 4
    assert "failed (exit code 3): token expired, run login" in one_line(run.stderr)


def test_a_plugins_token_is_used(tmp_path: Path) -> None:
    script = (
        "#!/bin/sh\n"
        'test "$(echo "$KUBERNETES_EXEC_INFO" | grep -c ExecCredential)" = 1 || exit 9\n'
        'echo \'{"apiVersion": "client.authentication.k8s.io/v1beta1", '
        '"kind": "ExecCredential", "status": {"token": "from-plugin"}}\'\n'
    )
    with KubeServer() as server:
        kubeconfig = plugin_kubeconfig(tmp_path, server.url, script)
        run = timed_cli("pod", "nope", "-n", "shop", "--kubeconfig", str(kubeconfig), "--local")
        run = timed_cli("audit", "--cluster", "--kubeconfig", str(kubeconfig), "-o", "json")
        assert run.code in (0, 1, 3), run.stderr
        assert server.requests
        assert {r.headers.get("authorization") for r in server.requests} == {"Bearer from-plugin"}
