"""`-o html` pages of `node`, `pod --trace-runtime` and `audit` on the real test bed, opened in
a real headless Chromium: they render, draw the chain's boxes and the findings, fetch nothing
and log no error; and on a 100-column terminal the same commands fit it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testbed import ContainerRequest, PodHandle, TestBed

from inspect8s.render.layout import SHORT_ID, text_width
from tests.browser import Browser, chromium_path
from tests.ptyrun import REPO, run_in_pty

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pod(testbed: TestBed) -> Iterator[PodHandle]:
    handle = testbed.run_pod(
        "html-web",
        "pages",
        qos="burstable",
        host_network=True,
        containers=[
            ContainerRequest("app", memory_limit_bytes=64 << 20, cpu_quota=20_000),
            ContainerRequest("sidecar"),
        ],
    )
    yield handle
    testbed.remove_pod(handle)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if chromium_path() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (scripts/test.sh installs it)")
        pytest.skip("chromium is not installed")
    with Browser() as b:
        yield b


def _args(bed: TestBed, *args: str) -> list[str]:
    return [*args, "--cri-endpoint", bed.cri_endpoint, "--docker-host", bed.docker_endpoint]


def cli(bed: TestBed, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "inspect8s", *_args(bed, *args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=180,
        check=False,
    )
    assert proc.returncode in (0, 1, 3), proc.stderr
    return proc.stdout


def _load(browser: Browser, tmp_path: Path, name: str, html: str) -> Any:
    path = tmp_path / f"{name}.html"
    path.write_text(html)
    report = browser.load(path)
    assert report.errors == [], report.errors
    assert report.requests == [path.resolve().as_uri()], report.requests
    return report


def test_trace_page_draws_the_chain(
    testbed: TestBed, pod: PodHandle, browser: Browser, tmp_path: Path
) -> None:
    trace = ["pod", pod.name, "-n", pod.namespace, "--trace-runtime", "--local"]
    doc = json.loads(cli(testbed, *trace, "-o", "json"))
    page = _load(browser, tmp_path, "trace", cli(testbed, *trace, "-o", "html"))
    chains = page.evaluate(
        "[...document.querySelectorAll('section.chain')].map(s => [s.dataset.container,"
        " [...s.querySelectorAll('g.link')].map(g => g.dataset.link)])"
    )
    assert [cid for cid, _ in chains] == [
        pod.sandbox_id,
        *(c["container_id"] for c in doc["containers"]),
    ]
    assert {c["container_id"] for c in doc["containers"]} == set(pod.container_ids.values())
    for _, links in chains:
        assert {"cri-endpoint", "runtime", "shim", "oci-runtime", "processes"} <= set(links)
        assert {"namespaces", "cgroup", "limits"} <= set(links)
    # the boxes are really laid out, and the host-network pod's namespaces are marked
    sizes = page.evaluate(
        "[...document.querySelectorAll('g.link rect.box')].map(r => r.getBBox().width)"
    )
    assert sizes and min(sizes) > 400
    host_ns = page.evaluate(
        "[...document.querySelectorAll('section.chain')][1].querySelectorAll('g.ns-host').length"
    )
    assert host_ns >= 1  # net (and uts) shared with the host
    text = page.evaluate("document.body.innerText")
    assert f"init PID {pod.container_pids['app']}" in text


def test_node_page_lists_the_bed(
    testbed: TestBed, pod: PodHandle, browser: Browser, tmp_path: Path
) -> None:
    page = _load(browser, tmp_path, "node", cli(testbed, "node", "-o", "html"))
    rows = page.evaluate(
        "[...document.querySelectorAll('table.containers tbody tr')].map(r => r.innerText)"
    )
    for cid in (pod.sandbox_id, *pod.container_ids.values()):
        assert any(cid[:SHORT_ID] in row for row in rows), cid
    runtimes = page.evaluate("document.querySelector('table.runtimes').innerText")
    assert str(testbed.containerd_pid) in runtimes and str(testbed.dockerd_pid) in runtimes


def test_audit_page_shows_the_findings(
    testbed: TestBed, pod: PodHandle, browser: Browser, tmp_path: Path
) -> None:
    doc = json.loads(cli(testbed, "audit", "--fail-on", "none", "-o", "json"))
    html = cli(testbed, "audit", "--fail-on", "none", "-o", "html")
    page = _load(browser, tmp_path, "audit", html)
    active = [f for f in doc["findings"] if not f.get("suppressed")]
    assert active, "the test bed gives findings (no pod spec, docker beside containerd)"
    shown = page.evaluate("[...document.querySelectorAll('.finding')].map(f => f.dataset.check)")
    assert sorted(shown) == sorted(f["checkId"] for f in active)
    groups = page.evaluate(
        "[...document.querySelectorAll('section.severity')].map(s => s.dataset.severity)"
    )
    ranks = ["critical", "high", "medium", "low", "info"]
    assert set(groups) == {f["severity"] for f in active}
    assert groups == sorted(groups, key=ranks.index)
    rationale = page.evaluate("document.querySelector('.finding .rationale').textContent")
    assert rationale.strip()


@pytest.mark.parametrize("view", ["node", "trace", "audit"])
def test_commands_fit_a_100_column_terminal(testbed: TestBed, pod: PodHandle, view: str) -> None:
    args = {
        "node": ["node"],
        "trace": ["pod", pod.name, "-n", pod.namespace, "--trace-runtime", "--local"],
        "audit": ["audit", "--fail-on", "none"],
    }[view]
    result = run_in_pty(_args(testbed, *args), columns=100)
    assert result.returncode in (0, 3), result.output
    assert [line for line in result.lines if text_width(line) > 100] == []
    if view != "audit":
        for cid in (pod.sandbox_id, *pod.container_ids.values()):
            assert any(cid[:SHORT_ID] in line for line in result.lines), cid
