"""A runtime daemon's own version when its API does not say it: cri-dockerd.

cri-dockerd answers CRI ``Version`` with the Docker Engine's name and version
(``runtimeName "docker"``, ``runtimeVersion`` = dockerd's; cri-dockerd
core/docker_service.go ``Version``), so its own version comes, first found wins, from the
host's package database (``cri-dockerd`` in dpkg's status file, Mirantis' packages) or the
version its build stamps into the binary (``-ldflags -X
github.com/Mirantis/cri-dockerd/version.Version=0.3.15``, cri-dockerd's Makefile; Go keeps
the flags in the binary's build information), read, never executed, from the daemon's own
view of the filesystem. Nothing found: None, and the report says the version is unknown.
"""

from __future__ import annotations

import re

from inspect8s.collect.errors import Errors
from inspect8s.collect.kubelet import DPKG_STATUS, binary_version, installed_version
from inspect8s.host.fs import HostFS
from inspect8s.model import RuntimeDaemon

CRI_DOCKERD_STAMP = re.compile(rb"cri-dockerd/(?:cmd/)?version\.Version=([0-9][0-9A-Za-z.+~-]*)")


def cri_dockerd_version(
    fs: HostFS, view: HostFS, daemon: RuntimeDaemon, errors: Errors
) -> tuple[str, str] | None:
    """``(version, source)`` of a cri-dockerd daemon (module docstring); ``view`` is the
    filesystem as the daemon sees it."""
    found = installed_version(view, errors, "cri-dockerd")
    if found:
        return found, f"host:{DPKG_STATUS} (package cri-dockerd)"
    candidates: list[tuple[HostFS, str]] = []
    if daemon.pid is not None:
        candidates.append((fs, f"/proc/{daemon.pid}/exe"))
    if daemon.cmdline and daemon.cmdline[0].startswith("/"):
        candidates.append((view, daemon.cmdline[0]))
    for where, path in candidates:
        if not where.is_file(path):
            continue
        stamped = binary_version(where, path, CRI_DOCKERD_STAMP)
        if stamped:
            return stamped, f"host:{path} (build stamp)"
    return None
