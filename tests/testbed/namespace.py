"""A private mount namespace for a test scene: its own /run, /etc and /var/lib.

A real node's traps need the default paths: a containerd on ``/run/containerd/containerd.sock``,
a dockerd on ``/var/run/docker.sock``, a kubelet unit in ``/etc/systemd/system`` and its
config in ``/var/lib/kubelet``. A test may not use the host's (another containerd may serve
them, and the suite must not disturb it), so the scene makes a mount namespace of its own
(``unshare --mount --propagation private``) where

* ``/run`` is an empty tmpfs (``/var/run`` is a link to ``/run`` on Debian, so both are the
  scene's), and
* ``/etc`` and ``/var/lib`` are overlays of the host's with their changes kept in the
  scene's directory: what the test writes there is seen only inside the namespace.

The namespace lives as long as its holder process (a ``sleep``) and the daemons started in
it with :attr:`exec_prefix` (``nsenter --mount=...``); its mounts go with the last of them.
This process reaches the namespace's files through ``/proc/<holder>/root`` (:meth:`here`):
only symlink-free paths may be used that way, since the kernel resolves an absolute link
met there against this process's root.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from . import host

_SETUP = """set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t overlay overlay \
  -o lowerdir=/etc,upperdir={base}/etc/up,workdir={base}/etc/work /etc
mount -t overlay overlay \
  -o lowerdir=/var/lib,upperdir={base}/varlib/up,workdir={base}/varlib/work /var/lib
echo ready
exec sleep infinity
"""


class MountNamespace:
    """A mount namespace the test owns (see the module docstring)."""

    def __init__(self, base_parent: str = "/tmp") -> None:
        self.base = Path(tempfile.mkdtemp(prefix="i8s-ns-", dir=base_parent))
        for d in ("etc/up", "etc/work", "varlib/up", "varlib/work"):
            (self.base / d).mkdir(parents=True)
        self._holder: subprocess.Popen[bytes] | None = None
        self.inode: int | None = None

    def start(self) -> MountNamespace:
        self._holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             _SETUP.format(base=self.base)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        assert self._holder.stdout is not None
        line = self._holder.stdout.readline()
        if line.strip() != b"ready":
            err = self._holder.stderr.read() if self._holder.stderr else b""
            self.close()
            raise RuntimeError(f"private mount namespace not made: {err.decode(errors='replace')}")
        target = os.readlink(f"/proc/{self._holder.pid}/ns/mnt")
        self.inode = int(target.split("[")[1].rstrip("]"))
        return self

    @property
    def pid(self) -> int:
        if self._holder is None:
            raise RuntimeError("the namespace is not started")
        return self._holder.pid

    @property
    def exec_prefix(self) -> list[str]:
        """Prefix that runs a command inside the namespace."""
        return ["nsenter", f"--mount=/proc/{self.pid}/ns/mnt", "--"]

    def here(self, path: Path | str) -> Path:
        """This process's way to a path of the namespace. ``/var/run`` is taken as the
        ``/run`` it links to (Debian's link, kept in the overlay); other paths must hold no
        symlink."""
        text = str(path)
        if text == "/var/run" or text.startswith("/var/run/"):
            text = text[len("/var") :]
        return Path(f"/proc/{self.pid}/root{text}")

    def write(self, path: str, text: str, mode: int = 0o644) -> None:
        target = self.here(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(mode)

    def pids(self, naming: list[str] | None = None) -> list[int]:
        """Every process in the namespace but the holder; with ``naming``, only those whose
        command line holds one of these strings (one bed's daemons and shims)."""
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == self.pid:
                continue
            try:
                target = os.readlink(f"/proc/{name}/ns/mnt")
                with open(f"/proc/{name}/cmdline", "rb") as handle:
                    cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if self.inode is None or target != f"mnt:[{self.inode}]":
                continue
            if naming is None or any(f"{n} " in cmdline + " " for n in naming):
                found.append(int(name))
        return found

    def close(self) -> None:
        """Stop whatever still runs in the namespace, then its holder; remove the directory."""
        if self._holder is not None:
            host.stop_pids(self.pids())
            if self._holder.poll() is None:
                os.killpg(self._holder.pid, signal.SIGKILL)
            self._holder.wait(timeout=10)
            for stream in (self._holder.stdout, self._holder.stderr):
                if stream is not None:
                    stream.close()
            self._holder = None
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> MountNamespace:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
