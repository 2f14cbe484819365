"""OCI runtime state: runc/crun ``state.json`` and the bundle's ``config.json``.

Locations (runtime-facts.md "OCI bundle / config.json locations"):

* runc keeps ``<root>/<id>/state.json``; containerd's runc.v2 shim uses the root
  ``/run/containerd/runc/<namespace>`` unless the runtime's ``options.Root`` says otherwise;
  Docker sets ``<exec-root>/runtime-runc/moby``; CRI-O's runc uses the handler's
  ``runtime_root`` (conmon passes it as ``--runtime-arg --root=<root>``), else ``/run/runc``.
* crun keeps ``<root>/<id>/status`` (JSON with ``pid``, ``bundle``...) under ``/run/crun``.
* containerd bundles: ``/run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/``;
  CRI-O: ``/run/containers/storage/overlay-containers/<id>/userdata/``.

runc's state.json (libcontainer ``State``) holds ``init_process_pid``, ``cgroup_paths``,
``namespace_paths`` and ``config`` (``cgroups.path``, ``namespaces``, ``labels`` with
``bundle=<dir>``). Readers here are pure over text; :func:`find_state` does the look-ups.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import field
from typing import Any

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model.frozen import frozen
from inspect8s.shape import items, obj, text, total

RUNC_ROOTS = (
    "/run/containerd/runc/{ns}",
    "/var/run/containerd/runc/{ns}",
    "/run/docker/runtime-runc/{ns}",
    "/var/run/docker/runtime-runc/{ns}",
    "/run/runc",
    "/run/runc/{ns}",
)
CRUN_ROOTS = ("/run/crun",)
BUNDLE_DIRS = (
    "/run/containerd/io.containerd.runtime.v2.task/{ns}/{id}",
    "/var/run/containerd/io.containerd.runtime.v2.task/{ns}/{id}",
    "/run/containers/storage/overlay-containers/{id}/userdata",
    "/var/run/docker/containerd/{id}",
    "/run/docker/containerd/{id}",
)
BINARY_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin")


@frozen
class OCIState:
    """What the OCI runtime's own state says about one container."""

    runtime: str  # "runc" | "crun"
    state_path: str
    init_pid: int | None
    bundle: str | None
    cgroup_path: str | None  # config.cgroups.path (runc) / cgroupsPath
    namespaces: dict[str, str] = field(default_factory=dict)  # type -> path ("" = new)


def _malformed(source: str, detail: str) -> ProbeFailed:
    return ProbeFailed(ErrorKind.MALFORMED, source, detail)


def _load(raw: str, source: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except RecursionError:
        raise _malformed(source, "nested too deeply") from None
    except ValueError as exc:
        raise _malformed(source, f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _malformed(source, "not a JSON object")
    return data


_NS_NAMES = {
    "NEWNET": "net",
    "NEWPID": "pid",
    "NEWIPC": "ipc",
    "NEWUTS": "uts",
    "NEWNS": "mnt",
    "NEWUSER": "user",
    "NEWCGROUP": "cgroup",
    "NEWTIME": "time",
    "network": "net",
    "mount": "mnt",
}


@total("host:state.json", source_arg=1)
def parse_runc_state(raw: str, source: str) -> OCIState:
    data = _load(raw, source)
    config = obj(data.get("config"))
    bundle = None
    for label in items(config.get("labels")):
        if isinstance(label, str) and label.startswith("bundle="):
            bundle = label.split("=", 1)[1]
    namespaces: dict[str, str] = {}
    for ns in items(config.get("namespaces")):
        if isinstance(ns, dict) and "type" in ns:
            kind = _NS_NAMES.get(str(ns["type"]), str(ns["type"]))
            namespaces[kind] = str(ns.get("path") or "")
    cgroups = obj(config.get("cgroups"))
    cgroup_path = text(cgroups.get("path"))
    if cgroup_path is None and cgroups.get("name"):
        cgroup_path = (
            f"{cgroups.get('parent', '')}:{cgroups.get('scope_prefix', '')}:{cgroups['name']}"
        )
    pid = data.get("init_process_pid")
    if isinstance(pid, bool):
        pid = None
    return OCIState(
        runtime="runc",
        state_path=source.removeprefix("host:"),
        init_pid=int(pid) if isinstance(pid, int) else None,
        bundle=bundle,
        cgroup_path=cgroup_path,
        namespaces=namespaces,
    )


@total("host:status", source_arg=1)
def parse_crun_status(raw: str, source: str) -> OCIState:
    data = _load(raw, source)
    pid = data.get("pid")
    if isinstance(pid, bool):
        pid = None
    return OCIState(
        runtime="crun",
        state_path=source.removeprefix("host:"),
        init_pid=int(pid) if isinstance(pid, int) else None,
        bundle=text(data.get("bundle")),
        cgroup_path=text(data.get("cgroup-path")),
    )


def find_state(
    fs: HostFS, container_id: str, namespace: str | None, roots: Iterable[str] = ()
) -> OCIState:
    """Find and read the OCI state of ``container_id``; ``roots`` (a runtime's
    ``options.Root``, CRI-O's ``runtime_root``, conmon's ``--runtime-arg --root``) are tried
    first, for runc's ``state.json`` and crun's ``status`` alike. Raises
    ProbeFailed(missing) naming what was tried."""
    ns = namespace or "k8s.io"
    tried: list[str] = []
    given = list(roots)
    candidates = [
        *((r, "state.json") for r in given),
        *((r, "status") for r in given),
        *((x.format(ns=ns), "state.json") for x in RUNC_ROOTS),
        *((r, "status") for r in CRUN_ROOTS),
    ]
    for root, name in candidates:
        path = f"{root.rstrip('/')}/{container_id}/{name}"
        if path in tried:
            continue
        tried.append(path)
        if fs.exists(path):
            parse = parse_runc_state if name == "state.json" else parse_crun_status
            return parse(fs.read_text(path), f"host:{path}")
    raise ProbeFailed(
        ErrorKind.MISSING, f"host:{tried[0]}", f"no OCI state found (tried {len(tried)} paths)"
    )


def read_bundle_config(fs: HostFS, bundle: str) -> dict[str, Any]:
    path = f"{bundle.rstrip('/')}/config.json"
    return _load(fs.read_text(path), f"host:{path}")


def find_binary(fs: HostFS, name: str) -> str | None:
    """The host path of an OCI runtime binary: ``name`` itself when absolute, else the
    first of the usual directories holding it."""
    if name.startswith("/"):
        return name if fs.exists(name) else None
    for d in BINARY_DIRS:
        path = f"{d}/{name}"
        if fs.is_file(path):
            return path
    return None


def binary_version(fs: HostFS, path: str, timeout: float = 3.0) -> tuple[str | None, str]:
    """``(version, source)`` of an OCI runtime binary.

    On a live root the binary is run with ``--version`` (it only prints); under ``--root``
    running another system's binary is not safe, so the version is left unknown.
    """
    if not fs.is_live:
        return None, "not run: --root is not this machine"
    import subprocess

    try:
        proc = subprocess.run(
            [fs.real(path), "--version"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{path} --version failed: {exc}"
    first = (proc.stdout or proc.stderr).strip().splitlines()
    if not first:
        return None, f"{path} --version printed nothing"
    words = first[0].split()
    # "runc version 1.1.5" / "crun version 1.8.1"
    version = words[2] if len(words) >= 3 and words[1] == "version" else first[0]
    return version, f"exec:{path} --version"
