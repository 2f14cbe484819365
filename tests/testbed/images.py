"""Container images made from the host's static busybox, with no registry.

``oci_layout_tar`` writes an OCI image-layout archive (for ``ctr images import``, through
the project's one OCI writer, ``scripts/oci_image.py``) holding any number of images that
share one layer; ``rootfs_tar`` writes a plain root filesystem
archive (for ``docker import``). Both are byte-for-byte reproducible: fixed timestamps,
owners and gzip headers, so image IDs stay the same from run to run.
"""

from __future__ import annotations

import io
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# The bed is imported with tests/ on sys.path (pytest, benchmarks, scripts/busy_host.py);
# the OCI writer lives in scripts/ at the repository's top.
_REPO = str(Path(__file__).resolve().parents[2])
if _REPO not in sys.path:
    sys.path.append(_REPO)
from scripts.oci_image import Image, bytes_layer, image_config, tar_info, write_archive  # noqa: E402

BUSYBOX = Path("/bin/busybox")

# Applets linked next to busybox; enough for sleep loops, shells and memory hogs in tests.
APPLETS = (
    "sh", "sleep", "cat", "echo", "ls", "ps", "tail", "head", "true", "false", "env",
    "mkdir", "rm", "id", "dd", "top", "grep", "wc", "yes", "mount", "hostname", "nsenter",
)  # fmt: skip

_DIRS = ("bin", "dev", "etc", "proc", "sys", "tmp", "root", "var", "run")


def is_static_elf(path: Path) -> bool:
    """True when PATH is an ELF executable without a program interpreter (PT_INTERP)."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if data[:4] != b"\x7fELF":
        return False
    is64 = data[4] == 2
    order: Literal["little", "big"] = "little" if data[5] == 1 else "big"

    def num(offset: int, size: int) -> int:
        return int.from_bytes(data[offset : offset + size], order)

    if is64:
        phoff, phentsize, phnum = num(0x20, 8), num(0x36, 2), num(0x38, 2)
    else:
        phoff, phentsize, phnum = num(0x1C, 4), num(0x2A, 2), num(0x2C, 2)
    return all(num(phoff + i * phentsize, 4) != 3 for i in range(phnum))  # 3 = PT_INTERP


def rootfs_tar(busybox: Path = BUSYBOX) -> bytes:
    """An uncompressed tar of a minimal root filesystem: busybox plus applet symlinks."""
    binary = busybox.read_bytes()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in _DIRS:
            mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(tar_info(d, tarfile.DIRTYPE, mode=mode))
        tar.addfile(tar_info("bin/busybox", tarfile.REGTYPE, size=len(binary)), io.BytesIO(binary))
        for applet in APPLETS:
            tar.addfile(tar_info(f"bin/{applet}", tarfile.SYMTYPE, mode=0o777, link="busybox"))
        for name, text in (
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n"),
            ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        ):
            data = text.encode()
            tar.addfile(
                tar_info(name, tarfile.REGTYPE, size=len(data), mode=0o644), io.BytesIO(data)
            )
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """One image to put in the layout: its name (``repo:tag``) and default command."""

    name: str
    cmd: tuple[str, ...]


def oci_layout_tar(images: list[ImageSpec], busybox: Path = BUSYBOX) -> bytes:
    """An OCI image-layout tar holding IMAGES, each named by ``io.containerd.image.name``."""
    layer = bytes_layer(rootfs_tar(busybox))
    history = [{"created": "1970-01-01T00:00:00Z", "created_by": "busybox-static"}]
    out = io.BytesIO()
    write_archive(
        out,
        [
            Image(
                image.name,
                image_config(
                    [layer],
                    config={"Cmd": list(image.cmd), "Env": ["PATH=/bin"], "WorkingDir": "/"},
                    history=history,
                ),
                [layer],
            )
            for image in images
        ],
    )
    return out.getvalue()
