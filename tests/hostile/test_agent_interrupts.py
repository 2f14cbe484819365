"""Ctrl-C (a real SIGINT to a real ``inspect8s`` process, tests/zygote.py) at every point of
an agent pod's life, the create in flight included, and at random moments, repeatedly: the
pod is always deleted and the run exits 130. Against tests/kubeserver.py, which sends the
signal from its request hook at the exact moment a request arrives and holds the answer back
a little, as a slow API server would."""

from __future__ import annotations

import copy
import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.hostile.conftest import REPO
from tests.kubeserver import AgentScript, KubeServer, Request, load_fixture
from tests.zygote import CliProcess

FIXTURE_HOST = REPO / "tests/fixtures/audit/containerd-2.1-v2-removed-keys/host"
AGENT = "/api/v1/namespaces/ops/pods"
SLOW = ("Pending", "Pending", "Running", "Running", "Running", "Succeeded")


def cluster_nodes(*names: str) -> list[dict[str, object]]:
    template = load_fixture("nodes.json")["items"][0]
    out = []
    for name in names:
        node = copy.deepcopy(template)
        node["metadata"]["name"] = name  # type: ignore[index]
        out.append(node)
    return out


def commands(kubeconfig: Path) -> dict[str, list[str]]:
    common = ["--kubeconfig", str(kubeconfig), "--agent-namespace", "ops", "--timeout", "5"]
    return {
        # The agent runs in the main thread: inspect8s pod on a pod of another node.
        "pod": ["pod", "web-guaranteed", "-n", "shop", "--trace-runtime",
                "--root", str(FIXTURE_HOST), *common],
        # Agents run on worker threads, two nodes at a time.
        "cluster": ["audit", "--cluster", "--agents", "--parallel", "2", "-o", "json", *common],
    }  # fmt: skip


class Scenario:
    """One run: start inspect8s, interrupt it when ``when`` says, wait for its end."""

    def __init__(self, server: KubeServer, when: Callable[[Request], bool], hold: float) -> None:
        self.server = server
        self.when = when
        self.hold = hold
        self.proc: CliProcess | None = None
        self.sent = threading.Event()
        self.sent_at: float | None = None  # time.monotonic() of the SIGINT sent by run()

    def hook(self, request: Request) -> None:
        if self.proc is not None and not self.sent.is_set() and self.when(request):
            self.sent.set()
            os.kill(self.proc.pid, signal.SIGINT)
            time.sleep(self.hold)  # the answer comes after the interrupt, as on a slow server

    def run(
        self, args: list[str], *, after: float | None = None, start: threading.Event | None = None
    ) -> tuple[int, str]:
        """Run ``args``; with ``after``, send SIGINT that many seconds after ``start`` is set
        (or after the start of the process), unless it has ended by then."""
        self.server.on_request = self.hook
        self.proc = CliProcess(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=REPO,
        )
        if after is not None:
            if start is not None:
                while not start.wait(0.01) and self.proc.poll() is None:
                    pass
            time.sleep(after)
            if self.proc.poll() is None:
                self.sent.set()
                self.sent_at = time.monotonic()
                self.proc.send_signal(signal.SIGINT)
        try:
            _out, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # never left behind: fail with what it wrote
            _out, err = self.proc.communicate()
            pytest.fail(f"inspect8s did not end within 60 s: {err.decode(errors='replace')}")
        finally:
            self.server.on_request = None
        return self.proc.returncode, err.decode("utf-8", "replace")


def leftovers(server: KubeServer) -> list[tuple[str, str]]:
    """Agent pods the server still holds once it has answered every request it was sent
    (an answer held back past the end of the run included)."""
    server.settle()
    return [key for key in server.created if key[1].startswith("inspect8s-agent-")]


def _post(r: Request) -> bool:
    return r.method == "POST" and r.path == AGENT


def _nth_get(n: int) -> Callable[[Request], bool]:
    seen = [0]

    def when(r: Request) -> bool:
        if r.method == "GET" and r.path.startswith(AGENT + "/") and not r.path.endswith("/log"):
            seen[0] += 1
            return seen[0] == n
        return False

    return when


def _log(r: Request) -> bool:
    return r.method == "GET" and r.path.endswith("/log")


def _delete(r: Request) -> bool:
    return r.method == "DELETE" and r.path.startswith(AGENT + "/")


# Each moment: a fresh predicate (the poll counters keep state) and the agent's phases.
MOMENTS: dict[str, tuple[Callable[[], Callable[[Request], bool]], tuple[str, ...]]] = {
    "create in flight": (lambda: _post, SLOW),
    "first poll": (lambda: _nth_get(1), SLOW),
    "third poll": (lambda: _nth_get(3), SLOW),
    "reading the log": (lambda: _log, ("Pending", "Succeeded")),
    "deleting": (lambda: _delete, ("Pending", "Succeeded")),
}


@pytest.mark.parametrize("command", ["pod", "cluster"])
@pytest.mark.parametrize("moment", sorted(MOMENTS))
def test_ctrl_c_at_each_moment_deletes_the_agent_pod(
    tmp_path: Path, moment: str, command: str
) -> None:
    make, phases = MOMENTS[moment]
    with KubeServer(nodes=cluster_nodes("n1", "n2")) as server:
        server.agent = AgentScript(phases=phases, logs='{"node": {"hostname": "n"}}\n')
        scenario = Scenario(server, make(), hold=0.4)
        code, stderr = scenario.run(commands(server.kubeconfig(tmp_path / "config"))[command])
        left = leftovers(server)
        posts = [r.body["metadata"]["name"] for r in server.requests_for("POST", AGENT)]
        deleted = {name for _ns, name in server.deleted}
    assert scenario.sent.is_set(), f"the run never reached: {moment}"
    assert left == [], f"left behind after Ctrl-C at {moment}: {left}"
    assert set(posts) <= deleted
    assert code == 130, stderr
    assert stderr.strip().splitlines()[-1] == "inspect8s: interrupted"


# The random runs: an agent through each phase, one poll each (0.5 s apart), so that a run
# goes through all of an agent's life within the window the moments are drawn from.
RANDOM_PHASES = ("Pending", "Running", "Succeeded")
# Every create is a little slow, so many interrupts find one in flight.
DELAYS = {"POST": 0.3, "DELETE": 0.1}
# Seconds after the run's first API request: a pod's agent lives about 1.5 s (create, three
# polls, log, delete); in an audit of three nodes two at a time, the third agent is created
# about 1.6 s in. Past the end, a run has finished before its moment (exit 0).
WINDOWS = {"pod": (0.0, 1.6), "cluster": (0.0, 2.0)}


def moment_of(requests: list[Request], sent_at: float | None) -> str:
    """Where a run was when its SIGINT was sent, from the requests that had reached the
    server by then (for the log of each random run)."""
    if sent_at is None:
        return "after the end of the run"
    before = [r for r in requests if r.time <= sent_at]
    if not before:
        return "before the first request"
    last = before[-1]
    since = sent_at - last.time
    if last.method in DELAYS:
        verb = "create" if last.method == "POST" else "delete"
        return f"{verb} in flight" if since < DELAYS[last.method] else f"after a {verb}"
    if last.path.endswith("/log"):
        return "reading the log"
    if last.path.startswith(AGENT + "/"):
        polls = sum(1 for r in before if r.method == "GET" and r.path == last.path)
        phase = RANDOM_PHASES[min(polls, len(RANDOM_PHASES)) - 1]
        return f"waiting on the agent (poll {polls}: {phase})"
    return "listing the cluster"


def random_run(
    kubeconfig: Path, command: str, after: float
) -> tuple[list[tuple[str, str]], int, str, str]:
    """One random run against a server of its own: Ctrl-C ``after`` seconds past the run's
    first API request. Its leftovers, exit code, stderr and where the Ctrl-C landed."""
    with KubeServer(nodes=cluster_nodes("n1", "n2", "n3")) as server:
        server.agent = AgentScript(phases=RANDOM_PHASES, logs='{"node": {"hostname": "n"}}\n')
        first_request = threading.Event()

        def slow(request: Request) -> None:
            first_request.set()
            time.sleep(DELAYS.get(request.method, 0.0))

        scenario = Scenario(server, lambda r: False, hold=0)
        scenario.hook = slow  # type: ignore[method-assign]
        args = commands(server.kubeconfig(kubeconfig))[command]
        code, stderr = scenario.run(args, after=after, start=first_request)
        left = leftovers(server)
        return left, code, stderr, moment_of(server.requests, scenario.sent_at)


@pytest.mark.parametrize("command", ["pod", "cluster"])
def test_ctrl_c_at_random_moments_never_leaves_a_pod(tmp_path: Path, command: str) -> None:
    rng = random.Random(13)
    runs = 8
    low, high = WINDOWS[command]
    afters = [rng.uniform(low, high) for _ in range(runs)]
    # The runs spend their time waiting for polls: all at once, each on its own server.
    with ThreadPoolExecutor(max_workers=runs) as pool:
        results = list(
            pool.map(
                lambda i: random_run(tmp_path / f"config-{i}", command, afters[i]), range(runs)
            )
        )
    for i, (_left, code, _stderr, moment) in enumerate(results):
        print(f"run {i}: Ctrl-C {afters[i]:.2f} s after the first request, {moment}, exit {code}")
    for i, (left, code, stderr, moment) in enumerate(results):
        assert left == [], f"run {i}: left behind {left} (Ctrl-C {moment})"
        assert code in (0, 1, 3, 4, 130), f"run {i} (Ctrl-C {moment}): {stderr}"
