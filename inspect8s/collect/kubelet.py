"""The kubelet as the node shows it: its version (with provenance) and the runtime it uses.

Version, first found wins: what the caller knows (the Node object's
``status.nodeInfo.kubeletVersion`` when the API is reachable, ``--kubelet-version``, a
bundle's record), the host's package database (``kubelet`` in dpkg's status file), the
version string embedded in the kubelet binary (read, never executed). Nothing is guessed:
no source gives None, and the checks that need a version skip and say so.

The binary: Kubernetes' build stamps ``k8s.io/component-base/version.gitVersion`` with
``-ldflags -X`` (hack/lib/version.sh); Go (1.18+) records those flags in the binary's build
information unless it was built with ``-trimpath``, as ``-X '...gitVersion=v1.28.0'``. The
binary is scanned in chunks for that stamp only: a version-looking string elsewhere in a
binary names a dependency, not the kubelet. Cost: one sequential read of the binary (about
0.1 s per 100 MB here), only when neither of the cheaper sources answered.
"""

from __future__ import annotations

import re

from inspect8s.collect.errors import Errors
from inspect8s.errors import ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model import KubeletConfig, KubeletProcess, KubeletRuntime, KubeletVersion

DPKG_STATUS = "/var/lib/dpkg/status"
KUBELET_BINARIES = ("/usr/bin/kubelet", "/usr/local/bin/kubelet")
_STAMP = re.compile(rb"version\.gitVersion=(v1\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)")
_CHUNK = 8 << 20
_MAX_BINARY = 512 << 20


def parse_dpkg_version(text: str, package: str = "kubelet") -> str | None:
    """The installed version of ``package`` in a dpkg status file; None: not installed. Pure.

    Only the paragraphs with a ``Package: <package>`` line are parsed (a node's status file
    holds hundreds of packages)."""
    heading = re.compile(rf"^Package:[ \t]*{re.escape(package)}[ \t]*$", re.MULTILINE)
    paragraphs = []
    for found in heading.finditer(text):
        start = text.rfind("\n\n", 0, found.start())
        end = text.find("\n\n", found.end())
        paragraphs.append(text[start + 2 if start >= 0 else 0 : end if end >= 0 else len(text)])
    for paragraph in paragraphs:
        fields: dict[str, str] = {}
        for line in paragraph.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith((" ", "\t")):
                fields[key.strip()] = value.strip()
        if fields.get("Package") == package and "installed" in fields.get("Status", "").split():
            status = fields["Status"].split()
            if status[-1] == "installed" and fields.get("Version"):
                return fields["Version"]
    return None


def installed_version(fs: HostFS, errors: Errors, package: str = "kubelet") -> str | None:
    """:func:`parse_dpkg_version` of the host's dpkg status file; a read failure is
    recorded in ``errors`` and gives None."""
    try:
        text = fs.read_text_or_none(DPKG_STATUS)
    except ProbeFailed as exc:
        errors.add(exc)
        return None
    return parse_dpkg_version(text, package) if text else None


def version_stamp(data: bytes, stamp: re.Pattern[bytes] = _STAMP) -> str | None:
    """The ``gitVersion`` stamped into a kubelet binary's build information (or what
    ``stamp``'s first group matches); None: absent."""
    found = stamp.search(data)
    return found.group(1).decode("ascii") if found else None


def binary_version(fs: HostFS, path: str, stamp: re.Pattern[bytes] = _STAMP) -> str | None:
    """:func:`version_stamp` of the file at ``path``, read in chunks (never executed)."""
    tail = b""
    read = 0
    try:
        for chunk in fs.iter_chunks(path, chunk=_CHUNK):  # inside the root, as every read
            read += len(chunk)
            found = version_stamp(tail + chunk, stamp)
            if found or read >= _MAX_BINARY:
                return found
            tail = chunk[-128:]
    except ProbeFailed:
        return None
    return None


def kubelet_version(
    fs: HostFS,
    errors: Errors,
    *,
    given: KubeletVersion | None,
    process: KubeletProcess | None,
    config: KubeletConfig | None,
) -> KubeletVersion | None:
    """The kubelet's version from the first source that has it (module docstring)."""
    if given is not None:
        return given
    if process is None and config is None:
        return None  # no kubelet on this node: no version to find
    found = installed_version(fs, errors)
    if found:
        return KubeletVersion(found, f"host:{DPKG_STATUS}")
    candidates: list[str] = []
    if process is not None:
        if process.cmdline and process.cmdline[0].startswith("/"):
            candidates.append(process.cmdline[0])
        candidates.append(f"/proc/{process.pid}/exe")
    candidates += list(KUBELET_BINARIES)
    for path in dict.fromkeys(candidates):
        if not fs.is_file(path):
            continue
        found = binary_version(fs, path)
        if found:
            return KubeletVersion(found, f"host:{path} (build stamp)")
    return None


def kubelet_endpoint(
    process: KubeletProcess | None, config: KubeletConfig | None
) -> tuple[str, str, str] | None:
    """``(endpoint, set_by, source)`` of the CRI endpoint the kubelet uses; None when there
    is no kubelet (no process, unit or configuration file)."""
    if config is not None:
        value = config.settings.get("containerRuntimeEndpoint")
        if value is not None and isinstance(value.value, str) and value.value:
            if value.source == "cmdline":
                set_by = "flag --container-runtime-endpoint"
                pid = process.pid if process else None
                source = f"host:/proc/{pid}/cmdline" if pid else "kubelet command line"
            elif value.source == "default":
                set_by = "the kubelet's default (no flag, no config value)"
                source = f"kubelet {config.version or ''} default".replace("  ", " ")
            elif value.key.startswith("--"):
                set_by = f"flag {value.key} ({value.where()})"
                source = f"host:{value.where()}"
            else:
                set_by = "config containerRuntimeEndpoint"
                source = f"host:{value.where()}"
            return value.value, set_by, source
    if process is not None:
        flag = process.flags.get("--container-runtime-endpoint")
        if flag:
            return flag, "flag --container-runtime-endpoint", f"host:/proc/{process.pid}/cmdline"
    return None


def kubelet_runtime_of(
    endpoint: tuple[str, str, str] | None,
    process: KubeletProcess | None,
    *,
    socket: str | None,
    daemon_pid: int | None,
    runtime: str | None,
    problem: str | None,
) -> KubeletRuntime | None:
    if endpoint is None:
        return None
    value, set_by, source = endpoint
    return KubeletRuntime(
        endpoint=value,
        set_by=set_by,
        source=source,
        kubelet_pid=process.pid if process else None,
        socket=socket,
        daemon_pid=daemon_pid,
        runtime=runtime,
        problem=problem,
    )
