"""Renderers for the inspection views (`node`, `pod`, `pid`): table, JSON and YAML.

JSON and YAML are the documented, versioned schema of docs/output-formats.md: the model
serialised field by field under ``{"schemaVersion": 1, "kind": ...}``. Tables are for people.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from inspect8s.model.serialize import to_data
from inspect8s.render.layout import SHORT_ID, Column, Fit, Page, Screen

if TYPE_CHECKING:  # the models load on first use: `node -o json` needs none of these here
    from inspect8s.errors import ProbeError
    from inspect8s.model import CgroupLimits, ConfigValue, Container, NodeConfig, NodeReport, Pod
    from inspect8s.model.chain import Link, RuntimeChain

SCHEMA_VERSION = 1


def document(kind: str, body: Any) -> dict[str, Any]:
    """The top-level JSON/YAML document for a view."""
    data = to_data(body)
    return {"schemaVersion": SCHEMA_VERSION, "kind": kind, **data}


def write_json(doc: dict[str, Any], out: TextIO) -> None:
    json.dump(doc, out, indent=2, sort_keys=False)
    out.write("\n")


def write_yaml(doc: dict[str, Any], out: TextIO) -> None:
    import yaml

    yaml.safe_dump(doc, out, sort_keys=False, default_flow_style=False)


def write_structured(kind: str, body: Any, fmt: str, out: TextIO) -> None:
    doc = document(kind, body)
    if fmt == "yaml":
        write_yaml(doc, out)
    else:
        write_json(doc, out)


# --------------------------------------------------------------------------- table helpers


def human_bytes(value: int | None) -> str:
    if value is None:
        return "-"
    for unit, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if value >= size and value % size == 0:
            return f"{value // size}{unit}"
    if value >= 1 << 20:
        return f"{value / (1 << 20):.1f}Mi"
    return str(value)


def cpu_text(limits: CgroupLimits) -> str:
    milli = limits.cpu_limit_millicores
    if milli is None:
        return "-"
    return f"{milli}m"


def limits_cells(limits: CgroupLimits) -> list[str]:
    return [
        human_bytes(limits.memory_max_bytes),
        cpu_text(limits),
        "-" if limits.pids_max is None else str(limits.pids_max),
    ]


def write_errors(errors: Iterable[ProbeError], page: Page) -> None:
    errors = list(errors)
    if not errors:
        return
    page.line()
    page.line(f"PROBE ERRORS ({len(errors)})")
    for err in errors:
        page.line(f"  could not check {err.source}: {err.kind.value}: {err.detail}")


def pod_label(c: Container) -> str:
    if c.pod_name:
        return f"{c.pod_namespace or '?'}/{c.pod_name}"
    if c.pod_uid:  # no runtime answered and no bundle named it: the cgroup path has the uid
        return f"uid:{c.pod_uid}"
    return "-"


def _short(cid: str) -> str:
    return cid[:SHORT_ID]


def _section(page: Page, title: str) -> None:
    page.line()
    page.line(title)


# --------------------------------------------------------------------------- node

RUNTIME_COLUMNS = (
    Column("NAME"),
    Column("PID"),
    Column("VERSION", Fit.ELIDE),
    Column("SOCKETS", Fit.WRAP),
    Column("CONFIG", Fit.ELIDE),
)
SOCKET_COLUMNS = (Column("PATH", Fit.ELIDE), Column("RUNTIME"), Column("TYPE"))
SHIM_COLUMNS = (
    Column("PID"),
    Column("KIND"),
    Column("NAMESPACE"),
    Column("ID"),
    Column("CONTAINERS", Fit.WRAP),
)
CONTAINER_COLUMNS = (
    Column("POD", Fit.ELIDE),
    Column("CONTAINER", Fit.ELIDE),
    Column("RUNTIME", drop=3),
    Column("ID"),
    Column("PID"),
    Column("SHIM", drop=5),
    Column("QOS", drop=2),
    Column("MEMORY"),
    Column("CPU"),
    Column("PIDS", drop=4),
    Column("HOST NS", Fit.WRAP, min_width=8),
)


def runtime_rows(report: NodeReport) -> list[list[object]]:
    return [
        [
            r.name,
            r.pid if r.pid is not None else "-",
            r.version or "-",
            ", ".join(r.sockets) or "-",
            r.config_file or "-",
        ]
        for r in report.runtimes
    ]


def socket_rows(report: NodeReport) -> list[list[object]]:
    return [[s.path, s.runtime, s.kind] for s in report.sockets]


def shim_rows(report: NodeReport) -> list[list[object]]:
    return [
        [
            s.pid,
            s.kind,
            s.namespace or "-",
            _short(s.id) if s.id else "-",
            ", ".join(_short(c) for c in s.container_ids) or "-",
        ]
        for s in report.shims
    ]


def sorted_containers(report: NodeReport) -> list[Container]:
    return sorted(
        report.containers, key=lambda c: (pod_label(c), c.pod_uid or "", c.is_sandbox, c.name or "")
    )


def runtime_label(report: NodeReport, c: Container) -> str:
    """The runtime that runs ``c``; with its daemon's PID when the node runs two daemons of
    that kind (two containerds), so that each container says which."""
    daemon = next((d for d in report.runtimes if d.pid and d.pid == c.runtime_pid), None)
    if daemon is not None and sum(d.name == daemon.name for d in report.runtimes) > 1:
        return f"{c.runtime}:{daemon.pid}"
    return c.runtime


def container_rows(report: NodeReport) -> list[list[object]]:
    return [
        [
            pod_label(c),
            "(sandbox)" if c.is_sandbox else (c.name or "?"),
            runtime_label(report, c),
            _short(c.id),
            c.init_pid if c.init_pid is not None else "-",
            c.shim_pid if c.shim_pid is not None else "-",
            c.qos.value if c.qos else "-",
            *limits_cells(c.limits),
            ",".join(c.host_namespaces) or "-",
        ]
        for c in sorted_containers(report)
    ]


def write_node_table(report: NodeReport, out: TextIO, screen: Screen | None = None) -> None:
    page = Page(out, screen)
    node = report.node
    cg = node.cgroup_version.value if node.cgroup_version else "none found"
    driver = node.cgroup_driver or "unknown (no container cgroups)"
    title = f"NODE {node.hostname}"
    if node.root != "/":
        title += f"  (root {node.root})"
    page.line(title)
    page.line(f"  kernel   {node.kernel}")
    page.line(f"  os       {node.os_release or 'unknown'}")
    page.line(f"  cgroups  {cg}; driver implied by container paths: {driver}")
    ref = report.host_reference
    page.line(f"  host namespaces compared with {ref.reason}")

    if report.kubelet:
        k = report.kubelet
        endpoint = k.flags.get("--container-runtime-endpoint", "-")
        page.line(
            f"  kubelet  PID {k.pid}, version {k.version or 'unknown'}, "
            f"runtime endpoint flag {endpoint}"
        )

    _section(page, "RUNTIMES")
    if report.runtimes:
        page.table(runtime_rows(report), RUNTIME_COLUMNS)
    else:
        page.line("  no runtime daemon process found")
    if report.sockets:
        _section(page, "SOCKETS")
        page.table(socket_rows(report), SOCKET_COLUMNS)

    if report.shims:
        _section(page, "SHIMS")
        page.table(shim_rows(report), SHIM_COLUMNS)

    _section(page, "CONTAINERS")
    if report.containers:
        page.table(container_rows(report), CONTAINER_COLUMNS)
    else:
        page.line("  no container processes found")

    if report.not_found:
        _section(page, "NOT FOUND")
        for item in report.not_found:
            page.line(f"  {item}")
    write_errors(report.errors, page)


# --------------------------------------------------------------------------- trace


def link_summary(link: Link) -> str:
    """One line saying what a link established (or why it could not)."""
    from inspect8s.model.chain import (
        CgroupLink,
        ContainerdLink,
        CriEndpointLink,
        DaemonLink,
        HandlerLink,
        KubeletLink,
        LimitsLink,
        NamespacesLink,
        OciRuntimeLink,
        ProcessesLink,
        RuntimeLink,
        ShimLink,
    )

    if link.missing:
        return f"MISSING: {link.missing}"
    if isinstance(link, KubeletLink):
        return f"PID {link.pid}, version {link.version or 'unknown'}"
    if isinstance(link, CriEndpointLink):
        text = f"{link.endpoint} (set by {link.set_by})"
        if link.container_runs_here is False:
            text += "; this pod does NOT run in the runtime behind it"
        return text
    if isinstance(link, DaemonLink):
        parts = [link.daemon, link.version or "version unknown"]
        if link.pid:
            parts.append(f"PID {link.pid}")
        if isinstance(link, RuntimeLink) and link.cri_api_version:
            parts.append(f"CRI {link.cri_api_version}")
        if isinstance(link, RuntimeLink) and link.relays:
            parts.append(f"relays Docker {link.relays}")
        if isinstance(link, ContainerdLink) and link.namespace:
            parts.append(f"namespace {link.namespace}")
        if link.config_file:
            parts.append(f"config {link.config_file}")
        return ", ".join(parts)
    if isinstance(link, HandlerLink):
        handler = link.runtime_handler or "(default)"
        if not link.runtime_handler and link.resolved_handler:
            handler = f"(default: {link.resolved_handler})"
        text = f"handler {handler}" + (f" -> {link.runtime_type}" if link.runtime_type else "")
        if link.runtime_path:
            text += f", {link.runtime_path}"
        if link.runtime_root:
            text += f", root {link.runtime_root}"
        return text
    if isinstance(link, ShimLink):
        text = f"{link.binary} PID {link.pid}"
        if link.namespace:
            text += f" (namespace {link.namespace})"
        if link.runtime:
            text += f", runs {link.runtime}"
        return text
    if isinstance(link, OciRuntimeLink):
        state = link.state_file or "no state file found"
        version = f" {link.version}" if link.version else ""
        return f"{link.binary}{version}; state {state}"
    if isinstance(link, ProcessesLink):
        text = f"init PID {link.init_pid}"
        if link.sandbox_pid:
            text += f", sandbox PID {link.sandbox_pid}"
        if link.runtime_reported_pid is not None:
            text += f" (runtime says {link.runtime_reported_pid})"
        return text
    if isinstance(link, NamespacesLink):
        host = ",".join(link.shared_with_host) or "none"
        sandbox = ",".join(link.shared_with_sandbox) or "none"
        text = f"shared with host: {host}; with sandbox: {sandbox}"
        if link.pinned:
            text += f"; pinned: {','.join(sorted(link.pinned))}"
        return text
    if isinstance(link, CgroupLink):
        return f"{link.path} ({link.driver}, {link.qos or 'no QoS'})"
    if isinstance(link, LimitsLink):
        lim = link.limits
        cpu = lim.cpu_limit_millicores
        pids = lim.pids_max
        return (
            f"memory {human_bytes(lim.memory_max_bytes)}, "
            f"cpu {f'{cpu}m' if cpu is not None else '-'}, "
            f"pids {pids if pids is not None else '-'}"
        )
    values = link.value_data()
    return ", ".join(f"{k}={val}" for k, val in values.items() if val not in (None, "", [], {}))


LINK_COLUMNS = (Column("LINK"), Column("VALUE", Fit.WRAP), Column("SOURCE", Fit.WRAP))
API_COLUMNS = (
    Column("CONTAINER", Fit.ELIDE),
    Column("CONTAINER ID", Fit.ELIDE),
    Column("RESTARTS"),
    Column("LAST EXIT", Fit.ELIDE),
    Column("MEM LIMIT"),
    Column("CPU"),
)


def _write_links(links: Iterable[Link], page: Page) -> None:
    rows = [[link.name, link_summary(link), link.source or "-"] for link in links]
    page.table(rows, LINK_COLUMNS)


def api_rows(pod: Pod) -> list[list[object]]:
    """The API's view of each container: name, ID, restarts, last exit, memory, CPU."""
    return [
        [
            c.name,
            c.container_id or "-",
            c.restart_count,
            c.last_termination_reason or "-",
            human_bytes(c.limits.memory_bytes),
            f"{c.limits.cpu_millicores}m" if c.limits.cpu_millicores else "-",
        ]
        for c in pod.containers
    ]


def api_facts(pod: Pod) -> str:
    qos = pod.qos.value if pod.qos else "?"
    return f"phase {pod.phase or '?'}, node {pod.node_name or '?'}, QoS {qos}"


def write_api_view(pod: Pod, page: Page) -> None:
    """The pod as the Kubernetes API sees it."""
    page.line(f"API  {api_facts(pod)}")
    rows = api_rows(pod)
    if rows:
        page.table(rows, API_COLUMNS)


def write_trace_table(chain: RuntimeChain, out: TextIO, screen: Screen | None = None) -> None:
    """A pod's runtime chain: the links it shares, then each container's, with sources."""
    page = Page(out, screen)
    name, ns = chain.pod_name, chain.pod_namespace
    title = f"POD {ns}/{name}" if name else "POD (none)"
    if chain.pod_uid:
        title += f"  uid {chain.pod_uid}"
    if chain.traced_on:
        title += f"  (traced on {chain.traced_on})"
    page.line(title)
    if chain.api is not None:
        write_api_view(chain.api, page)
    _write_links(chain.node_links, page)
    if chain.sandbox is not None:
        page.line()
        page.line(f"SANDBOX {_short(chain.sandbox.container_id)}")
        _write_links(chain.sandbox.links, page)
    for trace in chain.containers:
        page.line()
        page.line(f"CONTAINER {trace.name or '?'}  {_short(trace.container_id)}")
        _write_links(trace.links, page)
    if chain.notes:
        _section(page, "NOTES")
        for note in chain.notes:
            page.line(f"  {note}")
    if chain.errors:
        _section(page, f"PROBE ERRORS ({len(chain.errors)})")
        for err in chain.errors:
            page.line(f"  could not check {err.source}: {err.kind.value}: {err.detail}")


POD_COLUMNS = (
    Column("CONTAINER", Fit.ELIDE),
    Column("RUNTIME", drop=3),
    Column("ID"),
    Column("PID"),
    Column("QOS", drop=2),
    Column("MEMORY"),
    Column("CPU"),
    Column("PIDS", drop=4),
    Column("HOST NS", Fit.WRAP, min_width=8),
)


def write_pod_brief(
    containers: Sequence[Container], out: TextIO, screen: Screen | None = None
) -> None:
    page = Page(out, screen)
    rows = [
        [
            "(sandbox)" if c.is_sandbox else (c.name or "?"),
            c.runtime,
            _short(c.id),
            c.init_pid if c.init_pid is not None else "-",
            c.qos.value if c.qos else "-",
            *limits_cells(c.limits),
            ",".join(c.host_namespaces) or "-",
        ]
        for c in containers
    ]
    first = containers[0]
    page.line(f"POD {pod_label(first)}  uid {first.pod_uid or '?'}")
    page.table(rows, POD_COLUMNS)


# --------------------------------------------------------------------------- node config


def _value_text(value: object) -> str:
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)
    return text if len(text) <= 70 else text[:67] + "..."


def _config_rows(values: Iterable[ConfigValue]) -> list[list[str]]:
    return [[v.key, _value_text(v.value), v.where()] for v in values]


def _config_columns(key: str) -> tuple[Column, ...]:
    return (Column(key, Fit.ELIDE), Column("VALUE", Fit.WRAP), Column("SET BY", Fit.ELIDE))


CONTAINERD_RUNTIME_COLUMNS = (
    Column("RUNTIME", Fit.ELIDE),
    Column("TYPE", Fit.ELIDE),
    Column("SYSTEMDCGROUP"),
    Column("SET BY", Fit.ELIDE),
)


def write_node_config_table(config: NodeConfig, out: TextIO, screen: Screen | None = None) -> None:
    """The node's configuration, each value with the file and line (or flag) that set it."""
    page = Page(out, screen)
    _section(page, "KUBELET CONFIGURATION")
    k = config.kubelet
    if k is None:
        page.line("  no kubelet configuration found")
    else:
        page.line(f"  flags from {k.flags_from}; config file {k.config_file or '-'}")
        rows = _config_rows(k.settings[name] for name in sorted(k.settings))
        page.table(rows, _config_columns("SETTING"))
        if k.flags:
            _section(page, "KUBELET FLAGS")
            rows = _config_rows(k.flags[name] for name in sorted(k.flags))
            page.table(rows, _config_columns("FLAG"))
    c = config.containerd
    _section(page, "CONTAINERD CONFIGURATION")
    if c is None:
        page.line("  no containerd configuration found")
    else:
        page.line(f"  {c.path} (version {c.version}); files: {', '.join(c.files)}")
        rows = []
        for name, rt in sorted(c.runtimes.items()):
            systemd = rt.systemd_cgroup
            rows.append(
                [
                    name,
                    str(rt.runtime_type.value) if rt.runtime_type else "-",
                    "-" if systemd is None else str(systemd),
                    f"{rt.source}:{rt.line}" if rt.line else rt.source,
                ]
            )
        if rows:
            page.table(rows, CONTAINERD_RUNTIME_COLUMNS)
        extra = [v for v in (c.default_runtime_name, c.sandbox_image, c.snapshotter) if v]
        extra += list(c.disabled_plugins)
        if extra:
            page.table(_config_rows(extra), _config_columns("KEY"))
        for dk in c.deprecated_keys:
            page.line(
                f"  deprecated: {dk.value.key} at {dk.value.where()} "
                f"(removed in {dk.removed_in}; {dk.replacement})"
            )
    if config.crio is not None:
        _section(page, "CRI-O CONFIGURATION")
        rows = _config_rows(config.crio.settings[k] for k in sorted(config.crio.settings))
        page.table(rows, _config_columns("KEY"))
    if config.docker is not None:
        _section(page, "DOCKER DAEMON CONFIGURATION")
        rows = _config_rows(config.docker.settings[k] for k in sorted(config.docker.settings))
        page.table(rows, _config_columns("KEY"))
    if config.crictl is not None:
        _section(page, "CRICTL CONFIGURATION")
        cc = config.crictl
        endpoint = cc.runtime_endpoint.value if cc.runtime_endpoint else None
        page.line(f"  {cc.path}: runtime-endpoint {endpoint or '(unset: default list)'}")
