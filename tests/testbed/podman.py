"""Containers under conmon, for real: Debian's podman driving conmon and runc.

CRI-O is not packaged here, but its monitor is: podman starts one ``conmon`` per container
exactly as CRI-O does (``conmon -c <id> -u <id> -r <runtime> -b <bundle> -n <name> ...``),
and conmon starts the OCI runtime, which starts the container as conmon's child. Podman runs
in a mount namespace of the test's own (``namespace.py``), so the paths it writes whatever
it is told (``/var/lib/containers/cache``, ``/run/runc``, ``/etc/containers``) are the
scene's; its storage, run root and temporary directory are under the namespace's directory,
and its containers get a cgroup parent of their own, removed at the end. ``--runtime runc``:
crun refuses this hybrid cgroup host ("cgroups in hybrid mode not supported"). The image is
a busybox root filesystem imported with ``podman import``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from types import TracebackType

from . import host
from .images import BUSYBOX, is_static_elf, rootfs_tar
from .namespace import MountNamespace

IMAGE = "localhost/i8s-busybox:1"


def missing_requirements() -> list[str]:
    """Why podman with conmon and runc cannot run here; empty when it can."""
    import os

    reasons = [] if os.geteuid() == 0 else ["needs root (podman runs containers as root)"]
    for binary, package in (("podman", "podman"), ("conmon", "conmon"), ("runc", "runc"),
                            ("unshare", "util-linux"), ("nsenter", "util-linux")):  # fmt: skip
        if shutil.which(binary) is None:
            reasons.append(f"{binary} not on PATH (Debian package {package})")
    if not is_static_elf(BUSYBOX):
        reasons.append(f"{BUSYBOX} missing or not static (Debian package busybox-static)")
    return reasons


@dataclass(frozen=True, slots=True)
class PodmanContainer:
    id: str
    name: str
    pid: int  # the container's init process (conmon's child)
    conmon_pid: int


class Podman:
    """podman in ``ns`` with storage of its own (see the module docstring)."""

    __test__ = False

    def __init__(self, ns: MountNamespace) -> None:
        self.ns = ns
        self.base = ns.base / "podman"
        self.cgroup_parent = f"/i8s-podman-{uuid.uuid4().hex[:8]}"
        self.containers: list[PodmanContainer] = []

    def command(self, *args: str) -> list[str]:
        return [
            *self.ns.exec_prefix, "podman",
            "--root", str(self.base / "root"), "--runroot", str(self.base / "runroot"),
            "--tmpdir", str(self.base / "tmp"), "--runtime", "runc",
            "--cgroup-manager", "cgroupfs", "--events-backend", "none",
            "--storage-driver", "vfs", "--log-level", "error", *args,
        ]  # fmt: skip

    def _run(self, *args: str, data: bytes | None = None) -> str:
        proc = subprocess.run(
            self.command(*args), input=data, capture_output=True, timeout=120, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
        return proc.stdout.decode()

    def start(self) -> Podman:
        self.base.mkdir(parents=True, exist_ok=True)
        archive = self.base / "rootfs.tar"
        archive.write_bytes(rootfs_tar())
        self._run("import", str(archive), IMAGE)
        return self

    def run(self, name: str, *command: str) -> PodmanContainer:
        """A detached container (no network; the nofile and nproc limits this machine's
        root may set: it lacks CAP_SYS_RESOURCE, and podman would raise them)."""
        cid = self._run(
            "run", "-d", "--name", name, "--network", "none", "--cgroup-parent",
            self.cgroup_parent, "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
            IMAGE, *(command or ("/bin/sleep", "infinity")),
        ).strip()  # fmt: skip
        state = json.loads(self._run("inspect", "--format", "{{json .State}}", cid))
        pid = int(state["Pid"])
        conmon = int(state.get("ConmonPid") or 0)
        if not conmon:
            with open(f"/proc/{pid}/stat") as handle:
                conmon = int(handle.read().rsplit(")", 1)[1].split()[1])
        made = PodmanContainer(cid, name, pid, conmon)
        self.containers.append(made)
        return made

    def close(self) -> list[str]:
        """Remove the containers and the image; what stayed (PIDs alive, cgroups), if any."""
        left: list[str] = []
        try:
            self._run("rm", "--all", "--force", "--time", "0")
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            left.append(str(exc))
        pids = [p for c in self.containers for p in (c.pid, c.conmon_pid) if host.pid_alive(p)]
        left += [f"PID {p} still runs" for p in host.stop_pids(pids)]
        left += host.remove_cgroup_tree(self.cgroup_parent)
        try:
            self._run("rmi", "--all", "--force")
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            left.append(str(exc))
        shutil.rmtree(self.base, ignore_errors=True)
        return left

    def __enter__(self) -> Podman:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        left = self.close()
        if left and exc is None:
            raise RuntimeError("podman left behind: " + "; ".join(left))
