"""`-o html`: one self-contained page per view, escaped, drawn from the real CLI's output;
and the same pages in a real headless Chromium (tests/browser.py)."""

from __future__ import annotations

import io
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from inspect8s.errors import ErrorKind, ProbeError
from inspect8s.model.chain import CgroupLink, ContainerTrace, KubeletLink, RuntimeChain
from inspect8s.render.html import esc, write_trace_html
from tests.browser import Browser, chromium_path
from tests.clirun import CliResult
from tests.clirun import cli as run_cli
from tests.ptyrun import REPO
from tests.render.test_piped_golden import BUILTIN_ONLY

NODES = "tests/fixtures/nodes"
BUNDLES = "tests/fixtures/bundles"
CRIO, DD = f"{BUNDLES}/crio-1.29", f"{BUNDLES}/cri-dockerd-0.3"
PAGES: dict[str, list[str]] = {
    "node": ["node", "--root", f"{NODES}/cgroupv2-systemd-containerd", "--no-runtime-calls"],
    "trace-crio": ["pod", "db-0", "-n", "data", "--trace-runtime", "--from", CRIO],
    "trace-cri-dockerd": ["pod", "web-7d9f8-abcde", "-n", "shop", "--trace-runtime", "--from", DD],
    "pid": ["pid", "3202", "--from", f"{BUNDLES}/crio-1.29"],
    "audit": ["audit", "--manifests", "tests/fixtures/manifests/golden", *BUILTIN_ONLY],
    "audit-node": ["audit", "--root", f"{NODES}/cgroupv2-systemd-containerd", *BUILTIN_ONLY],
}


def cli(*args: str) -> CliResult:
    if args[0] == "audit":
        args = (*args, "--fail-on", "none")
    return run_cli(*args, cwd=str(REPO))


def page(name: str, tmp: Path) -> Path:
    proc = cli(*PAGES[name], "-o", "html")
    assert proc.returncode in (0, 3), proc.stderr
    path = tmp / f"{name}.html"
    path.write_text(proc.stdout)
    return path


def as_json(name: str) -> Any:
    proc = cli(*PAGES[name], "-o", "json")
    assert proc.returncode in (0, 3), proc.stderr
    return json.loads(proc.stdout)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Collect()
    parser.feed(text)
    return parser.tags


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_is_self_contained(name: str, tmp_path: Path) -> None:
    text = page(name, tmp_path).read_text()
    assert text.startswith("<!DOCTYPE html>")
    tags = _tags(text)
    assert not [t for t, _ in tags if t in ("script", "link", "img", "iframe", "object")]
    for _, attrs in tags:
        for key in ("src", "href"):
            assert key not in attrs, attrs
    # the only URL in the page is the SVG namespace name
    assert set(re.findall(r"\b\w+://[^\s\"'<)]+", text)) <= {"http://www.w3.org/2000/svg"} | set(
        re.findall(r"unix://[^\s\"'<)]+", text)
    )
    assert "Content-Security-Policy" in text and "default-src 'none'" in text


def test_trace_page_draws_every_link_of_every_container(tmp_path: Path) -> None:
    doc = as_json("trace-cri-dockerd")
    text = page("trace-cri-dockerd", tmp_path).read_text()
    sections = re.findall(r'<section class="chain" data-container="([0-9a-f]+)">', text)
    want = [doc["sandbox"]["container_id"], *(c["container_id"] for c in doc["containers"])]
    assert sections == want
    node_links = [link["name"] for link in doc["node_links"]]
    assert node_links[:2] == ["kubelet", "cri-endpoint"] and "dockerd" in node_links
    drawn = re.findall(r'<g class="link [a-z0-9]+" data-link="([a-z-]+)">', text)
    expected = node_links + [link["name"] for link in doc["sandbox"]["links"]]
    for one in doc["containers"]:
        expected += node_links + [link["name"] for link in one["links"]]
    assert drawn == expected
    # each box carries its source, on hover and beside it
    for link in doc["containers"][0]["links"]:
        assert esc(f"(source: {link['source']})") in text
    assert 'class="ns ns-sandbox" data-ns="net"' in text


def test_audit_page_groups_findings_by_severity_with_rationale(tmp_path: Path) -> None:
    doc = as_json("audit")
    text = page("audit", tmp_path).read_text()
    order = re.findall(r'data-severity="([a-z]+)"', text)
    ranks = ["critical", "high", "medium", "low", "info"]
    assert order == sorted(order, key=ranks.index) and "critical" in order
    active = [f for f in doc["findings"] if not f.get("suppressed")]
    assert text.count('<div class="finding"') == len(active)
    rationale = {c["id"]: c["rationale"] for c in doc["checks"]}
    sock = rationale["I8S-WL-DOCKERSOCK"]
    assert esc(sock) in text
    assert "broken.yaml" in text  # the probe error is on the page too


def test_everything_from_a_host_is_escaped() -> None:
    hostile = '<script>alert("x")</script>\x1b[31m&'
    chain = RuntimeChain(
        pod_name=hostile,
        pod_namespace="ns",
        pod_uid=None,
        node_links=(KubeletLink(pid=1, source=hostile),),
        sandbox=None,
        containers=(
            ContainerTrace("ab" * 32, hostile, None, None, (CgroupLink(path=hostile, source="x"),)),
        ),
        errors=(ProbeError(ErrorKind.MALFORMED, hostile, hostile),),
    )
    out = io.StringIO()
    write_trace_html([chain], out)
    text = out.getvalue()
    assert "<script>" not in text and "\x1b" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\\x1b[31m&amp;" in text


def test_pod_html_needs_the_trace() -> None:
    proc = cli("pod", "db-0", "-n", "data", "--from", f"{BUNDLES}/crio-1.29", "-o", "html")
    assert proc.returncode == 2 and "--trace-runtime" in proc.stderr


# --------------------------------------------------------------------------- in Chromium


@pytest.fixture(scope="module")
def browser() -> Any:
    if chromium_path() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (scripts/test.sh installs it)")
        pytest.skip("chromium is not installed")
    with Browser() as b:
        yield b


BOX_SIZES = """
[...document.querySelectorAll('g.link')].map(g => {
  const r = g.querySelector('rect.box').getBoundingClientRect();
  return [g.dataset.link, Math.round(r.width), Math.round(r.height)];
})
"""


def test_pages_render_in_chromium_without_errors(browser: Browser, tmp_path: Path) -> None:
    for name in sorted(PAGES):
        path = page(name, tmp_path)
        report = browser.load(path)
        assert report.errors == [], (name, report.errors)
        assert report.requests == [path.resolve().as_uri()], (name, report.requests)
        assert browser.evaluate("document.title")
    trace = browser.load(page("trace-crio", tmp_path))
    boxes = trace.evaluate(BOX_SIZES)
    assert len(boxes) >= 20 and all(w > 400 and h > 30 for _, w, h in boxes), boxes
    visible = trace.evaluate(
        "[...document.querySelectorAll('g.link text.source')].map(t => t.textContent)"
    )
    assert any("cri:ContainerStatus(verbose)" in s for s in visible)
    audit = browser.load(page("audit", tmp_path))
    as_json = json.loads(cli(*PAGES["audit"], "--fail-on", "none", "-o", "json").stdout)
    assert as_json["findings"]
    assert audit.evaluate("document.querySelectorAll('.finding').length") == len(
        as_json["findings"]
    )
    assert audit.evaluate("document.querySelector('.sev-critical h2').textContent") == (
        "critical (1)"
    )


def test_the_browser_check_catches_errors_and_fetches(browser: Browser, tmp_path: Path) -> None:
    """The checks above can fail: a page that fetches or throws is caught."""
    fetching = tmp_path / "fetching.html"
    fetching.write_text(
        '<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
        '<img src="http://127.0.0.1:9/x.png"><p>x</p>'
    )
    report = browser.load(fetching)
    assert any("Content Security Policy" in e or "load failed" in e for e in report.errors)
    throwing = tmp_path / "throwing.html"
    throwing.write_text('<!DOCTYPE html><script>throw new Error("boom")</script>')
    report = browser.load(throwing)
    assert any("boom" in e for e in report.errors), report.errors
