"""One self-contained HTML page for `node`, `pod --trace-runtime`, `pid` and `audit`.

The page loads nothing: styles are inline, diagrams are inline SVG, there is no script, and a
Content-Security-Policy forbids every fetch, so it opens the same from a CI artifact, a mail
attachment or an air-gapped laptop. Each traced container's runtime chain is drawn as boxes
from the kubelet down to the kernel's limits, each with the source that proved it beside it
(and on hover); audit findings are grouped by severity with their check's rationale.

Every text taken from a host, a runtime or a manifest is escaped for HTML, and control
characters are shown as ``\\xNN`` rather than written raw.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from inspect8s.audit.results import AuditResult, Finding, Severity, Status
from inspect8s.errors import ProbeError
from inspect8s.model import NodeReport, Pod
from inspect8s.model.chain import ContainerTrace, Link, NamespacesLink, RuntimeChain
from inspect8s.render.escape import escape
from inspect8s.render.layout import SHORT_ID, wrap
from inspect8s.render.views import (
    CONTAINER_COLUMNS,
    RUNTIME_COLUMNS,
    SHIM_COLUMNS,
    SOCKET_COLUMNS,
    api_facts,
    api_rows,
    container_rows,
    link_summary,
    runtime_rows,
    shim_rows,
    socket_rows,
)

_CSS = """
:root { --ink:#1d2330; --muted:#5b6475; --line:#c9d0dc; --bg:#f6f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--ink); background: var(--bg); }
header { background: #1d2330; color: #fff; padding: 14px 24px; }
header h1 { margin: 0; font-size: 20px; }
header p { margin: 4px 0 0; color: #c9d0dc; }
main { padding: 8px 24px 40px; max-width: 1180px; }
h2 { font-size: 17px; margin: 26px 0 8px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
code, .mono, td { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: #eef1f6; font-size: 12px; letter-spacing: .03em; }
td { overflow-wrap: break-word; }
td.host-ns { background: #fde2e0; color: #8e1b10; font-weight: bold; }
.scroll { overflow-x: auto; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.chain { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px;
  margin: 12px 0; overflow-x: auto; }
svg text { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
svg .box { stroke-width: 1.5; }
svg .name { font-weight: bold; font-size: 13px; }
svg .source { fill: var(--muted); font-size: 12px; }
svg .arrow { stroke: #7a8499; stroke-width: 1.5; }
.k8s .box { fill: #e6efff; stroke: #326ce5; }
.daemon .box { fill: #f1e9fb; stroke: #7d4cc2; }
.shim .box { fill: #fff1e0; stroke: #d9822b; }
.proc .box { fill: #e6f6ec; stroke: #2f9e5b; }
.kernel .box { fill: #e3f5f5; stroke: #1f8a8a; }
.missing .box { fill: #fff; stroke: #c0392b; stroke-dasharray: 6 4; }
.missing .value { fill: #c0392b; }
.ns-host rect { fill: #fde2e0; stroke: #c0392b; }
.ns-sandbox rect { fill: #e6efff; stroke: #326ce5; }
.ns-private rect { fill: #f2f3f5; stroke: #9aa3b2; }
.legend span { display: inline-block; padding: 0 8px; margin-right: 8px; border-radius: 3px;
  border: 1px solid; font-size: 12px; }
.legend .ns-host { background: #fde2e0; border-color: #c0392b; }
.legend .ns-sandbox { background: #e6efff; border-color: #326ce5; }
.legend .ns-private { background: #f2f3f5; border-color: #9aa3b2; }
.severity { margin: 14px 0; border-left: 6px solid var(--sev); background: #fff;
  border-radius: 4px; padding: 6px 14px 10px; }
.severity h2 { margin: 6px 0; color: var(--sev); }
.sev-critical { --sev: #8e1b10; } .sev-high { --sev: #c0392b; } .sev-medium { --sev: #d9822b; }
.sev-low { --sev: #2f6fb0; } .sev-info { --sev: #5b6475; }
.finding { border-top: 1px solid var(--line); padding: 8px 0; }
.finding .id { font-weight: bold; }
.finding .subject, .finding .location { color: var(--muted); }
.finding details { margin-top: 4px; }
.finding summary { cursor: pointer; color: var(--muted); }
.rationale { white-space: pre-wrap; margin: 4px 0 0; font-size: 13px; }
.errors li { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
.summary { font-size: 15px; }
footer { color: var(--muted); font-size: 12px; padding: 0 24px 24px; }
"""


def esc(value: object) -> str:
    """``value`` as HTML text: control characters shown escaped (render/escape.py), then
    markup escaped."""
    return html.escape(escape(value), quote=True)


def _page(title: str, subtitle: str, body: str) -> str:
    from inspect8s._version import __version__

    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>\n"
        f"<main>\n{body}\n</main>\n"
        f"<footer>inspect8s {esc(__version__)}</footer>\n</body>\n</html>\n"
    )


def _cell(header: str, value: object) -> str:
    # A namespace shared with the host is what a reader of this table looks for.
    if header == "HOST NS" and value not in ("-", ""):
        return f'<td class="host-ns">{esc(value)}</td>'
    return f"<td>{esc(value)}</td>"


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], cls: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(_cell(h, v) for h, v in zip(headers, row, strict=True)) + "</tr>\n"
        for row in rows
    )
    attr = f' class="{cls}"' if cls else ""
    return (
        f'<div class="scroll"><table{attr}><thead><tr>{head}</tr></thead><tbody>\n'
        f"{body}</tbody></table></div>\n"
    )


def _errors(errors: Iterable[ProbeError]) -> str:
    items = [
        f"<li>could not check {esc(err.source)}: {esc(err.kind.value)}: {esc(err.detail)}</li>"
        for err in errors
    ]
    if not items:
        return ""
    return (
        f'<h2>Probe errors ({len(items)})</h2>\n<ul class="errors">\n'
        + "\n".join(items)
        + "\n</ul>\n"
    )


# --------------------------------------------------------------------------- the chain

_GROUP = {
    "kubelet": "k8s",
    "cri-endpoint": "k8s",
    "runtime": "daemon",
    "dockerd": "daemon",
    "containerd": "daemon",
    "handler": "shim",
    "shim": "shim",
    "oci-runtime": "shim",
    "processes": "proc",
    "namespaces": "proc",
}
_TITLES = {
    "kubelet": "kubelet",
    "cri-endpoint": "CRI endpoint",
    "runtime": "runtime daemon",
    "dockerd": "dockerd",
    "containerd": "containerd",
    "handler": "runtime handler",
    "shim": "shim",
    "oci-runtime": "OCI runtime",
    "processes": "processes",
    "namespaces": "namespaces",
    "cgroup": "cgroup",
    "limits": "limits in the kernel",
    "requested": "requested by the runtime",
}
_BOX_X, _BOX_W = 10, 560
_SRC_X = _BOX_X + _BOX_W + 24
_VALUE_CHARS, _SOURCE_CHARS = 72, 46
_LINE, _PAD, _GAP = 16, 10, 26
_CHIP_W, _CHIP_H = 58, 20


def _svg_text(x: int, y: int, lines: Sequence[str], cls: str) -> str:
    spans = "".join(
        f'<tspan x="{x}" dy="{0 if i == 0 else _LINE}">{esc(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text class="{cls}" x="{x}" y="{y}">{spans}</text>'


def _namespace_chips(link: NamespacesLink, y: int) -> tuple[str, int]:
    inodes = link.inodes
    host = set(link.shared_with_host)
    sandbox = set(link.shared_with_sandbox)
    parts = []
    x = _BOX_X + _PAD
    for ns in sorted(set(inodes) | host | sandbox):
        kind = "host" if ns in host else "sandbox" if ns in sandbox else "private"
        inode = inodes.get(ns)
        tip = {
            "host": f"{ns}: shared with the host",
            "sandbox": f"{ns}: shared with the pod's sandbox",
            "private": f"{ns}: the container's own",
        }[kind] + (f" (inode {inode})" if inode else "")
        parts.append(
            f'<g class="ns ns-{kind}" data-ns="{esc(ns)}"><title>{esc(tip)}</title>'
            f'<rect x="{x}" y="{y}" width="{_CHIP_W}" height="{_CHIP_H}" rx="4"/>'
            f'<text x="{x + _CHIP_W // 2}" y="{y + 14}" text-anchor="middle">{esc(ns)}</text></g>'
        )
        x += _CHIP_W + 6
    return "".join(parts), (_CHIP_H + 6 if parts else 0)


def chain_svg(links: Sequence[Link], label: str) -> str:
    """The chain ``links`` (kubelet first) as an SVG drawing of boxes and arrows."""
    parts: list[str] = []
    y = 10
    for i, link in enumerate(links):
        name = link.name or "?"
        missing = link.missing
        group = "missing" if missing else _GROUP.get(name, "kernel")
        value_lines = wrap(link_summary(link), _VALUE_CHARS)
        source = link.source or ("not found" if missing else "-")
        source_lines = wrap(f"source: {source}", _SOURCE_CHARS)
        chips, chips_h = ("", 0)
        if isinstance(link, NamespacesLink) and not missing:
            chips_y = y + _PAD + 18 + _LINE * len(value_lines) + 2
            chips, chips_h = _namespace_chips(link, chips_y)
        height = _PAD * 2 + 18 + _LINE * len(value_lines) + chips_h
        height = max(height, _PAD * 2 + _LINE * len(source_lines))
        title = _TITLES.get(name, name)
        tip = f"{title}: {link_summary(link)} (source: {source})"
        parts.append(
            f'<g class="link {group}" data-link="{esc(name)}"><title>{esc(tip)}</title>'
            f'<rect class="box" x="{_BOX_X}" y="{y}" width="{_BOX_W}" height="{height}" rx="6"/>'
            + _svg_text(_BOX_X + _PAD, y + _PAD + 13, [title], "name")
            + _svg_text(_BOX_X + _PAD, y + _PAD + 13 + 19, value_lines, "value")
            + chips
            + _svg_text(_SRC_X, y + _PAD + 13, source_lines, "source")
            + "</g>"
        )
        y += height
        if i < len(links) - 1:
            mid = _BOX_X + _BOX_W // 2
            parts.append(
                f'<line class="arrow" x1="{mid}" y1="{y}" x2="{mid}" y2="{y + _GAP - 3}" '
                'marker-end="url(#arrowhead)"/>'
            )
            y += _GAP
    width = _SRC_X + _SOURCE_CHARS * 8 + 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{esc(label)}" '
        f'width="{width}" height="{y + 10}" viewBox="0 0 {width} {y + 10}">'
        '<defs><marker id="arrowhead" markerWidth="10" markerHeight="8" refX="9" refY="4" '
        'orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#7a8499"/></marker></defs>'
        + "".join(parts)
        + "</svg>"
    )


_LEGEND = (
    '<p class="legend">namespaces: <span class="ns-host">shared with the host</span>'
    '<span class="ns-sandbox">shared with the sandbox</span>'
    '<span class="ns-private">the container\'s own</span></p>\n'
)


def _chain_section(kind: str, one: ContainerTrace, node_links: Sequence[Link]) -> str:
    cid = one.container_id
    name = one.name or ("" if kind == "sandbox" else "?")
    heading = " ".join(part for part in (kind, name, cid[:SHORT_ID]) if part)
    links = [*node_links, *one.links]
    return (
        f'<section class="chain" data-container="{esc(cid)}">\n<h3>{esc(heading)}</h3>\n'
        f'<p class="mono">{esc(cid)}</p>\n'
        + chain_svg(links, f"runtime chain of {heading}")
        + "\n</section>\n"
    )


def _api_view(pod: Pod) -> str:
    rows = api_rows(pod)
    facts = api_facts(pod)
    headers = ["container", "container ID", "restarts", "last exit", "memory limit", "CPU"]
    return f"<h2>In the Kubernetes API</h2>\n<p>{esc(facts)}</p>\n" + (
        _table(headers, rows) if rows else ""
    )


def _trace_body(doc: RuntimeChain) -> str:
    name, ns = doc.pod_name, doc.pod_namespace
    facts = " · ".join(
        part
        for part in (
            f"uid {doc.pod_uid}" if doc.pod_uid else "",
            f"traced on {doc.traced_on}" if doc.traced_on else "",
        )
        if part
    )
    body = [f'<article class="pod" data-pod="{esc(ns)}/{esc(name)}">\n']
    body.append(f"<h2>Pod {esc(ns)}/{esc(name)}</h2>\n" if name else "<h2>Runtime chain</h2>\n")
    if facts:
        body.append(f"<p>{esc(facts)}</p>\n")
    if doc.api is not None:
        body.append(_api_view(doc.api))
    node_links = doc.node_links
    if doc.sandbox is not None:
        body.append(_chain_section("sandbox", doc.sandbox, node_links))
    for one in doc.containers:
        body.append(_chain_section("container", one, node_links))
    if doc.sandbox is None and not doc.containers:
        body.append(chain_svg(node_links, "node links"))
    body.append(_errors(doc.errors))
    body.append("</article>\n")
    return "".join(body)


def write_trace_html(docs: Sequence[RuntimeChain], out: TextIO, *, lead: str | None = None) -> None:
    """Runtime chains (``pod --trace-runtime``, one per pod; ``pid``) as a page."""
    if len(docs) == 1 and docs[0].pod_name:
        title = f"Pod {docs[0].pod_namespace}/{docs[0].pod_name}"
    else:
        title = f"Runtime chains of {len(docs)} pods" if len(docs) > 1 else "Runtime chain"
    body = [f'<p class="summary">{esc(lead)}</p>\n'] if lead else []
    body.append(
        "<p>From the kubelet down to the limits the kernel enforces; each box names the "
        "source that proved it (beside it, and on hover).</p>\n"
    )
    body.append(_LEGEND)
    body.extend(_trace_body(doc) for doc in docs)
    traced = sorted({d.traced_on for d in docs if d.traced_on})
    out.write(_page(title, "traced on " + ", ".join(traced) if traced else "", "".join(body)))


def write_note_html(title: str, text: str, out: TextIO) -> None:
    """A page that says one thing (``pid`` of a process in no container)."""
    out.write(_page(title, "", f'<p class="summary">{esc(text)}</p>\n'))


# --------------------------------------------------------------------------- node


def write_node_html(report: NodeReport, out: TextIO) -> None:
    """The node view (``inspect8s node -o html``) as a page."""
    node = report.node
    facts = [
        ("kernel", node.kernel),
        ("os", node.os_release or "unknown"),
        ("cgroups", node.cgroup_version.value if node.cgroup_version else "none found"),
        ("cgroup driver", node.cgroup_driver or "unknown (no container cgroups)"),
        ("host namespaces", f"compared with {report.host_reference.reason}"),
    ]
    if node.root != "/":
        facts.append(("root", node.root))
    if report.kubelet:
        k = report.kubelet
        facts.append(
            (
                "kubelet",
                f"PID {k.pid}, version {k.version or 'unknown'}, runtime endpoint flag "
                f"{k.flags.get('--container-runtime-endpoint', '-')}",
            )
        )
    body = [
        '<dl class="facts">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
        + "</dl>\n"
    ]

    def section(title: str, columns: Sequence[Any], rows: list[list[object]], empty: str) -> None:
        if not rows and not empty:
            return
        body.append(f"<h2>{esc(title)}</h2>\n")
        if rows:
            body.append(_table([c.header for c in columns], rows, cls=title.lower()))
        else:
            body.append(f"<p>{esc(empty)}</p>\n")

    section("Runtimes", RUNTIME_COLUMNS, runtime_rows(report), "no runtime daemon process found")
    section("Sockets", SOCKET_COLUMNS, socket_rows(report), "")
    section("Shims", SHIM_COLUMNS, shim_rows(report), "")
    section("Containers", CONTAINER_COLUMNS, container_rows(report), "no container processes found")
    if report.not_found:
        body.append("<h2>Not found</h2>\n<ul>")
        body.extend(f"<li>{esc(item)}</li>" for item in report.not_found)
        body.append("</ul>\n")
    body.append(_errors(report.errors))
    subtitle = f"{len(report.containers)} containers, {len(report.runtimes)} runtime daemons"
    out.write(_page(f"Node {node.hostname}", subtitle, "".join(body)))


# --------------------------------------------------------------------------- audit


def _finding(f: Finding, rationale: str) -> str:
    location = f'<div class="location">at {esc(f.location.text())}</div>' if f.location else ""
    why = (
        f"<details><summary>why it matters</summary>"
        f'<p class="rationale">{esc(rationale)}</p></details>'
        if rationale
        else ""
    )
    return (
        f'<div class="finding" data-check="{esc(f.check_id)}">'
        f'<div><span class="id">{esc(f.check_id)}</span> {esc(f.title)}</div>'
        f'<div class="subject">{esc(f.subject)}</div>'
        f'<div class="message">{esc(f.message)}</div>{location}{why}</div>\n'
    )


def render(result: AuditResult, out: TextIO) -> None:
    """The ``html`` audit renderer: findings grouped by severity, with rationales."""
    rationale = {c.id: c.rationale for c in result.checks}
    active = [f for f in result.findings if f.suppressed is None]
    suppressed = [f for f in result.findings if f.suppressed is not None]
    counts = result.status_counts()
    summary = (
        f"{len(active)} findings in {result.subjects} subjects; {len(result.checks)} checks: "
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped, "
        f"{counts['error']} errors"
    )
    body = [f'<p class="summary">{esc(summary)}</p>\n']
    if not active:
        body.append("<p>No findings.</p>\n")
    for severity in sorted(Severity, key=lambda s: -s.rank):
        group = sorted((f for f in active if f.severity is severity), key=Finding.sort_key)
        if not group:
            continue
        body.append(
            f'<section class="severity sev-{severity.value}" data-severity="{severity.value}">'
            f"<h2>{esc(severity.value)} ({len(group)})</h2>\n"
        )
        body.extend(_finding(f, rationale.get(f.check_id, "")) for f in group)
        body.append("</section>\n")
    if suppressed:
        body.append(f"<h2>Accepted in the ignore file ({len(suppressed)})</h2>\n<ul>")
        body.extend(
            f"<li>{esc(f.check_id)} {esc(f.subject)}: {esc(f.suppressed)}</li>"
            for f in sorted(suppressed, key=Finding.sort_key)
        )
        body.append("</ul>\n")
    problems = sorted(
        {
            (o.status.value, o.check_id, o.reason or "")
            for o in result.outcomes
            if o.status in (Status.SKIPPED, Status.ERROR)
        }
    )
    if problems:
        body.append(f"<h2>Not checked ({len(problems)})</h2>\n")
        body.append(_table(["status", "check", "reason"], problems))
    if result.left_out:
        body.append(f"<h2>Left out: inspect8s's own pods ({len(result.left_out)})</h2>\n<ul>")
        body.extend(f"<li>{esc(x.subject)}: {esc(x.reason)}</li>" for x in result.left_out)
        body.append("</ul>\n")
    body.append(_errors(result.errors))
    inputs = ", ".join(result.inputs)
    out.write(_page(f"Audit of {result.target}", inputs, "".join(body)))
