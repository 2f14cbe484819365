"""Renderers for the inspection views (`node`, `pod`, `pid`): table, JSON and YAML.

JSON and YAML are the documented, versioned schema of docs/output-formats.md: the model
serialised field by field under ``{"schemaVersion": 1, "kind": ...}``. Tables are for people.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from inspect8s.errors import ProbeError
from inspect8s.model import (
    CgroupLimits,
    ConfigValue,
    Container,
    NodeConfig,
    NodeReport,
)
from inspect8s.model.serialize import to_data
from inspect8s.render.escape import escape, escaping

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


def _table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    from tabulate import tabulate

    cells = [[escape(cell) for cell in row] for row in rows]
    return tabulate(cells, headers=headers, tablefmt="plain", disable_numparse=True)


def _section(out: TextIO, title: str) -> None:
    out.write(f"\n{title}\n")


def write_errors(errors: Iterable[ProbeError], out: TextIO) -> None:
    out = escaping(out)
    errors = list(errors)
    if not errors:
        return
    _section(out, f"PROBE ERRORS ({len(errors)})")
    for err in errors:
        out.write(
            f"  could not check {escape(err.source)}: {err.kind.value}: {escape(err.detail)}\n"
        )


def pod_label(c: Container) -> str:
    if c.pod_name:
        return f"{c.pod_namespace or '?'}/{c.pod_name}"
    if c.pod_uid:  # no runtime answered and no bundle named it: the cgroup path has the uid
        return f"uid:{c.pod_uid}"
    return "-"


def _short(cid: str) -> str:
    return cid[:13]


# --------------------------------------------------------------------------- node


def write_node_table(report: NodeReport, out: TextIO) -> None:
    out = escaping(out)
    node = report.node
    cg = node.cgroup_version.value if node.cgroup_version else "none found"
    driver = node.cgroup_driver or "unknown (no container cgroups)"
    out.write(f"NODE {escape(node.hostname)}")
    if node.root != "/":
        out.write(f"  (root {escape(node.root)})")
    out.write("\n")
    out.write(f"  kernel   {escape(node.kernel)}\n")
    out.write(f"  os       {escape(node.os_release or 'unknown')}\n")
    out.write(f"  cgroups  {cg}; driver implied by container paths: {driver}\n")
    ref = report.host_reference
    out.write(f"  host namespaces compared with {ref.reason}\n")

    if report.kubelet:
        k = report.kubelet
        endpoint = k.flags.get("--container-runtime-endpoint", "-")
        out.write(
            f"  kubelet  PID {k.pid}, version {k.version or 'unknown'}, "
            f"runtime endpoint flag {endpoint}\n"
        )

    _section(out, "RUNTIMES")
    if report.runtimes:
        rows = [
            [
                r.name,
                r.pid if r.pid is not None else "-",
                r.version or "-",
                ", ".join(r.sockets) or "-",
                r.config_file or "-",
            ]
            for r in report.runtimes
        ]
        out.write(_table(rows, ["NAME", "PID", "VERSION", "SOCKETS", "CONFIG"]) + "\n")
    else:
        out.write("  no runtime daemon process found\n")
    if report.sockets:
        rows = [[s.path, s.runtime, s.kind] for s in report.sockets]
        _section(out, "SOCKETS")
        out.write(_table(rows, ["PATH", "RUNTIME", "TYPE"]) + "\n")

    if report.shims:
        _section(out, "SHIMS")
        rows = [
            [
                s.pid,
                s.kind,
                s.namespace or "-",
                _short(s.id) if s.id else "-",
                ", ".join(_short(c) for c in s.container_ids) or "-",
            ]
            for s in report.shims
        ]
        out.write(_table(rows, ["PID", "KIND", "NAMESPACE", "ID", "CONTAINERS"]) + "\n")

    _section(out, "CONTAINERS")
    if report.containers:
        rows = []
        for c in sorted(
            report.containers, key=lambda c: (pod_label(c), c.is_sandbox, c.name or "")
        ):
            rows.append(
                [
                    pod_label(c),
                    "(sandbox)" if c.is_sandbox else (c.name or "?"),
                    c.runtime,
                    _short(c.id),
                    c.init_pid if c.init_pid is not None else "-",
                    c.shim_pid if c.shim_pid is not None else "-",
                    c.qos.value if c.qos else "-",
                    *limits_cells(c.limits),
                    ",".join(c.host_namespaces) or "-",
                ]
            )
        headers = ["POD", "CONTAINER", "RUNTIME", "ID", "PID", "SHIM", "QOS"]
        headers += ["MEMORY", "CPU", "PIDS", "HOST NS"]
        out.write(_table(rows, headers) + "\n")
    else:
        out.write("  no container processes found\n")

    if report.not_found:
        _section(out, "NOT FOUND")
        for item in report.not_found:
            out.write(f"  {escape(item)}\n")
    write_errors(report.errors, out)


# --------------------------------------------------------------------------- trace


def _link_summary(link: dict[str, Any]) -> str:
    if link.get("missing"):
        return f"MISSING: {link['missing']}"
    v: dict[str, Any] = link.get("values") or {}
    name = link.get("name")
    if name == "kubelet":
        return f"PID {v.get('pid')}, version {v.get('version') or 'unknown'}"
    if name == "cri-endpoint":
        return f"{v.get('endpoint')} (set by {v.get('set_by')})"
    if name in ("runtime", "dockerd", "containerd"):
        parts = [str(v.get("name")), str(v.get("version") or "version unknown")]
        if v.get("pid"):
            parts.append(f"PID {v['pid']}")
        if v.get("cri_api_version"):
            parts.append(f"CRI {v['cri_api_version']}")
        if v.get("namespace"):
            parts.append(f"namespace {v['namespace']}")
        if v.get("config_file"):
            parts.append(f"config {v['config_file']}")
        return ", ".join(parts)
    if name == "handler":
        handler = v.get("runtime_handler") or "(default)"
        runtime_type = v.get("runtime_type")
        return f"handler {handler}" + (f" -> {runtime_type}" if runtime_type else "")
    if name == "shim":
        text = f"{v.get('binary')} PID {v.get('pid')}"
        return text + (f" (namespace {v['namespace']})" if v.get("namespace") else "")
    if name == "oci-runtime":
        state = v.get("state_file") or "no state file found"
        version = f" {v['version']}" if v.get("version") else ""
        return f"{v.get('binary')}{version}; state {state}"
    if name == "processes":
        text = f"init PID {v.get('init_pid')}"
        if v.get("sandbox_pid"):
            text += f", sandbox PID {v['sandbox_pid']}"
        if v.get("runtime_reported_pid") is not None:
            text += f" (runtime says {v['runtime_reported_pid']})"
        return text
    if name == "namespaces":
        host = ",".join(v.get("shared_with_host") or []) or "none"
        sandbox = ",".join(v.get("shared_with_sandbox") or []) or "none"
        return f"shared with host: {host}; with sandbox: {sandbox}"
    if name == "cgroup":
        return f"{v.get('path')} ({v.get('driver')}, {v.get('qos') or 'no QoS'})"
    if name == "limits":
        mem = human_bytes(v.get("memory_max_bytes"))
        cpu = v.get("cpu_limit_millicores")
        pids = v.get("pids_max")
        return (
            f"memory {mem}, cpu {f'{cpu}m' if cpu is not None else '-'}, "
            f"pids {pids if pids is not None else '-'}"
        )
    return ", ".join(f"{k}={val}" for k, val in v.items() if val not in (None, "", [], {}))


def _write_links(links: Iterable[dict[str, Any]], out: TextIO) -> None:
    rows = [[link["name"], _link_summary(link), link.get("source") or "-"] for link in links]
    out.write(_table(rows, ["LINK", "VALUE", "SOURCE"]) + "\n")


def write_api_view(pod: dict[str, Any], out: TextIO) -> None:
    """The pod as the Kubernetes API sees it (a ``Pod`` model as data)."""
    out = escaping(out)
    out.write(
        f"API  phase {pod.get('phase') or '?'}, node {pod.get('node_name') or '?'}, "
        f"QoS {pod.get('qos') or '?'}\n"
    )
    rows = []
    for c in pod.get("containers") or []:
        limits = c.get("limits") or {}
        rows.append(
            [
                c["name"],
                c.get("container_id") or "-",
                c.get("restart_count", 0),
                c.get("last_termination_reason") or "-",
                human_bytes(limits.get("memory_bytes")),
                f"{limits['cpu_millicores']}m" if limits.get("cpu_millicores") else "-",
            ]
        )
    if rows:
        headers = ["CONTAINER", "CONTAINER ID", "RESTARTS", "LAST EXIT", "MEM LIMIT", "CPU"]
        out.write(_table(rows, headers) + "\n")


def write_trace_table(doc: dict[str, Any], out: TextIO) -> None:
    """A runtime chain document (``RuntimeChain`` as data, plus ``api``/``traced_on``)."""
    out = escaping(out)
    name, ns = doc.get("pod_name"), doc.get("pod_namespace")
    out.write(f"POD {escape(ns)}/{escape(name)}" if name else "POD (none)")
    if doc.get("pod_uid"):
        out.write(f"  uid {doc['pod_uid']}")
    if doc.get("traced_on"):
        out.write(f"  (traced on {doc['traced_on']})")
    out.write("\n")
    if doc.get("api"):
        write_api_view(doc["api"], out)
    _write_links(doc.get("node_links") or [], out)
    sandbox = doc.get("sandbox")
    if sandbox:
        out.write(f"\nSANDBOX {str(sandbox['container_id'])[:13]}\n")
        _write_links(sandbox.get("links") or [], out)
    for trace in doc.get("containers") or []:
        out.write(
            f"\nCONTAINER {escape(trace.get('name') or '?')}  "
            f"{escape(str(trace['container_id'])[:13])}\n"
        )
        _write_links(trace.get("links") or [], out)
    errors = doc.get("errors") or []
    if errors:
        _section(out, f"PROBE ERRORS ({len(errors)})")
        for err in errors:
            out.write(
                f"  could not check {escape(err['source'])}: {escape(err['kind'])}: "
                f"{escape(err['detail'])}\n"
            )


def write_pod_brief(containers: Sequence[Container], out: TextIO) -> None:
    out = escaping(out)
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
    out.write(f"POD {pod_label(first)}  uid {first.pod_uid or '?'}\n")
    headers = ["CONTAINER", "RUNTIME", "ID", "PID", "QOS", "MEMORY", "CPU", "PIDS", "HOST NS"]
    out.write(_table(rows, headers) + "\n")


# --------------------------------------------------------------------------- node config


def _value_text(value: object) -> str:
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)
    return text if len(text) <= 70 else text[:67] + "..."


def _config_rows(values: Iterable[ConfigValue]) -> list[list[str]]:
    return [[v.key, _value_text(v.value), v.where()] for v in values]


def write_node_config_table(config: NodeConfig, out: TextIO) -> None:
    """The node's configuration, each value with the file and line (or flag) that set it."""
    out = escaping(out)
    _section(out, "KUBELET CONFIGURATION")
    k = config.kubelet
    if k is None:
        out.write("  no kubelet configuration found\n")
    else:
        out.write(f"  flags from {k.flags_from}; config file {k.config_file or '-'}\n")
        rows = _config_rows(k.settings[name] for name in sorted(k.settings))
        out.write(_table(rows, ["SETTING", "VALUE", "SET BY"]) + "\n")
        if k.flags:
            _section(out, "KUBELET FLAGS")
            rows = _config_rows(k.flags[name] for name in sorted(k.flags))
            out.write(_table(rows, ["FLAG", "VALUE", "SET BY"]) + "\n")
    c = config.containerd
    _section(out, "CONTAINERD CONFIGURATION")
    if c is None:
        out.write("  no containerd configuration found\n")
    else:
        out.write(f"  {c.path} (version {c.version}); files: {', '.join(c.files)}\n")
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
            out.write(_table(rows, ["RUNTIME", "TYPE", "SYSTEMDCGROUP", "SET BY"]) + "\n")
        extra = [v for v in (c.default_runtime_name, c.sandbox_image, c.snapshotter) if v]
        extra += list(c.disabled_plugins)
        if extra:
            out.write(_table(_config_rows(extra), ["KEY", "VALUE", "SET BY"]) + "\n")
        for dk in c.deprecated_keys:
            out.write(
                f"  deprecated: {dk.value.key} at {dk.value.where()} "
                f"(removed in {dk.removed_in}; {dk.replacement})\n"
            )
    if config.crio is not None:
        _section(out, "CRI-O CONFIGURATION")
        rows = _config_rows(config.crio.settings[k] for k in sorted(config.crio.settings))
        out.write(_table(rows, ["KEY", "VALUE", "SET BY"]) + "\n")
    if config.docker is not None:
        _section(out, "DOCKER DAEMON CONFIGURATION")
        rows = _config_rows(config.docker.settings[k] for k in sorted(config.docker.settings))
        out.write(_table(rows, ["KEY", "VALUE", "SET BY"]) + "\n")
    if config.crictl is not None:
        _section(out, "CRICTL CONFIGURATION")
        cc = config.crictl
        endpoint = cc.runtime_endpoint.value if cc.runtime_endpoint else None
        out.write(f"  {cc.path}: runtime-endpoint {endpoint or '(unset: default list)'}\n")
