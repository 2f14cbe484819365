"""Container images made from the host's static busybox, with no registry.

``oci_layout_tar`` writes an OCI image-layout archive (for ``ctr images import``) holding
any number of images that share one layer; ``rootfs_tar`` writes a plain root filesystem
archive (for ``docker import``). Both are byte-for-byte reproducible: fixed timestamps,
owners and gzip headers, so image IDs stay the same from run to run.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import platform
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

BUSYBOX = Path("/bin/busybox")

# Applets linked next to busybox; enough for sleep loops, shells and memory hogs in tests.
APPLETS = (
    "sh", "sleep", "cat", "echo", "ls", "ps", "tail", "head", "true", "false", "env",
    "mkdir", "rm", "id", "dd", "top", "grep", "wc", "yes", "mount", "hostname", "nsenter",
)  # fmt: skip

_DIRS = ("bin", "dev", "etc", "proc", "sys", "tmp", "root", "var", "run")

_MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
_MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def oci_arch() -> str:
    """The OCI architecture name of this machine (amd64, arm64, ...)."""
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)


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


def _info(
    name: str, kind: bytes, *, size: int = 0, mode: int = 0o755, link: str = ""
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    info.mode = mode
    info.linkname = link
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def rootfs_tar(busybox: Path = BUSYBOX) -> bytes:
    """An uncompressed tar of a minimal root filesystem: busybox plus applet symlinks."""
    binary = busybox.read_bytes()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in _DIRS:
            mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(_info(d, tarfile.DIRTYPE, mode=mode))
        tar.addfile(_info("bin/busybox", tarfile.REGTYPE, size=len(binary)), io.BytesIO(binary))
        for applet in APPLETS:
            tar.addfile(_info(f"bin/{applet}", tarfile.SYMTYPE, mode=0o777, link="busybox"))
        for name, text in (
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n"),
            ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        ):
            data = text.encode()
            tar.addfile(_info(name, tarfile.REGTYPE, size=len(data), mode=0o644), io.BytesIO(data))
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """One image to put in the layout: its name (``repo:tag``) and default command."""

    name: str
    cmd: tuple[str, ...]


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def oci_layout_tar(images: list[ImageSpec], busybox: Path = BUSYBOX) -> bytes:
    """An OCI image-layout tar holding IMAGES, each named by ``io.containerd.image.name``."""
    layer_tar = rootfs_tar(busybox)
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as f:
        f.write(layer_tar)
    layer = gz.getvalue()
    blobs: dict[str, bytes] = {_digest(layer): layer}
    arch = oci_arch()
    manifests = []
    for image in images:
        config = json.dumps(
            {
                "architecture": arch,
                "os": "linux",
                "created": "1970-01-01T00:00:00Z",
                "config": {"Cmd": list(image.cmd), "Env": ["PATH=/bin"], "WorkingDir": "/"},
                "rootfs": {"type": "layers", "diff_ids": [_digest(layer_tar)]},
                "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "busybox-static"}],
            },
            sort_keys=True,
        ).encode()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": _MEDIA_MANIFEST,
                "config": {
                    "mediaType": _MEDIA_CONFIG,
                    "digest": _digest(config),
                    "size": len(config),
                },
                "layers": [
                    {"mediaType": _MEDIA_LAYER, "digest": _digest(layer), "size": len(layer)}
                ],
            },
            sort_keys=True,
        ).encode()
        blobs[_digest(config)] = config
        blobs[_digest(manifest)] = manifest
        manifests.append(
            {
                "mediaType": _MEDIA_MANIFEST,
                "digest": _digest(manifest),
                "size": len(manifest),
                "platform": {"architecture": arch, "os": "linux"},
                "annotations": {
                    "io.containerd.image.name": image.name,
                    "org.opencontainers.image.ref.name": image.name.rsplit(":", 1)[-1],
                },
            }
        )
    index = json.dumps({"schemaVersion": 2, "manifests": manifests}, sort_keys=True).encode()
    layout = json.dumps({"imageLayoutVersion": "1.0.0"}).encode()

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(
            _info("oci-layout", tarfile.REGTYPE, size=len(layout), mode=0o644), io.BytesIO(layout)
        )
        tar.addfile(
            _info("index.json", tarfile.REGTYPE, size=len(index), mode=0o644), io.BytesIO(index)
        )
        tar.addfile(_info("blobs", tarfile.DIRTYPE))
        tar.addfile(_info("blobs/sha256", tarfile.DIRTYPE))
        for digest, data in sorted(blobs.items()):
            name = "blobs/sha256/" + digest.split(":", 1)[1]
            tar.addfile(_info(name, tarfile.REGTYPE, size=len(data), mode=0o644), io.BytesIO(data))
    return out.getvalue()
