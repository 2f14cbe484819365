"""Write OCI image-layout archives without a registry or a container engine (stdlib only).

    layer = tree_layer(rootfs_dir, work_dir, mtime=epoch)    # or bytes_layer(tar_bytes, ...)
    write_archive("out.tar", [Image("ghcr.io/x/y:1.0", config, (layer,))])

The archive is what ``ctr images import``, ``podman load`` and ``skopeo copy oci-archive:``
read: ``oci-layout``, ``index.json`` (one manifest per image, named by the annotations
``io.containerd.image.name`` and ``org.opencontainers.image.ref.name``) and
``blobs/sha256/``. Formats: OCI image-spec v1.0 (image-layout.md, manifest.md, config.md).

Everything is written with fixed owners, modes and timestamps (gzip headers included), so
the same tree and config give the same digests. Used by scripts/build_image.py (the agent
image) and tests/testbed/images.py (the test bed's busybox images).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import tarfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
EPOCH_TEXT = "1970-01-01T00:00:00Z"


def oci_arch(machine: str | None = None) -> str:
    """The OCI architecture name of this machine (amd64, arm64, ...)."""
    machine = machine or platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Layer:
    """One gzip-compressed layer: its bytes (small layers) or file (big ones), and digests."""

    digest: str  # of the compressed blob
    size: int  # of the compressed blob
    diff_id: str  # of the uncompressed tar (the config's rootfs.diff_ids)
    tar_size: int  # of the uncompressed tar
    data: bytes | None = None
    path: Path | None = None

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")


@dataclass(frozen=True, slots=True)
class Image:
    """One image of the archive: its reference (``repo:tag``), config document and layers."""

    name: str
    config: Mapping[str, Any]
    layers: Sequence[Layer]


def tar_info(
    name: str, kind: bytes, *, size: int = 0, mode: int = 0o755, link: str = "", mtime: int = 0
) -> tarfile.TarInfo:
    """A tar member owned by root with a fixed time."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    info.mode = mode
    info.linkname = link
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _gzip(src: BinaryIO, dst: BinaryIO, level: int) -> None:
    with gzip.GzipFile(fileobj=dst, mode="wb", mtime=0, compresslevel=level, filename="") as gz:
        shutil.copyfileobj(src, gz, 1 << 20)


def bytes_layer(tar_bytes: bytes, *, level: int = 9) -> Layer:
    """A layer from an uncompressed tar held in memory."""
    out = io.BytesIO()
    _gzip(io.BytesIO(tar_bytes), out, level)
    blob = out.getvalue()
    return Layer(digest_of(blob), len(blob), digest_of(tar_bytes), len(tar_bytes), data=blob)


class _Digesting:
    """A write-only stream that hashes and counts what it passes on to ``sink``."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        self.sink.write(data)
        return len(data)

    def digest(self) -> str:
        return "sha256:" + self.sha.hexdigest()


def walk_tree(root: Path, keep: Callable[[str], bool], rel: str = "") -> Iterator[str]:
    """Paths under ``root`` relative to it, in name order, parents first; ``keep(rel)``
    False leaves a path and everything under it out."""
    for name in sorted(os.listdir(root / rel if rel else root)):
        child = f"{rel}/{name}" if rel else name
        if not keep(child):
            continue
        yield child
        path = root / child
        if path.is_dir() and not path.is_symlink():
            yield from walk_tree(root, keep, child)


def tree_layer(
    root: Path,
    work_dir: Path,
    *,
    mtime: int,
    keep: Callable[[str], bool] = lambda rel: True,
    level: int = 6,
) -> Layer:
    """A layer holding the directory tree ``root``, written to a file in ``work_dir``.

    Owners and modes as on disk (numeric owners only: the names would be the build host's),
    times clamped to ``mtime``, hard links kept as links. ``keep(rel)`` gets each path
    relative to ``root`` (``etc/hostname``); False leaves it and its subtree out.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    tmp = work_dir / "layer.tar.gz.tmp"
    with tmp.open("wb") as raw:
        blob = _Digesting(raw)
        with gzip.GzipFile(
            fileobj=blob, mode="wb", mtime=0, compresslevel=level, filename=""
        ) as gz:
            diff = _Digesting(gz)
            with tarfile.open(fileobj=diff, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                links: dict[tuple[int, int], str] = {}
                for rel in walk_tree(root, keep):
                    path = root / rel
                    st = path.lstat()
                    info = tar.gettarinfo(str(path), arcname=rel)
                    info.uname = info.gname = ""
                    info.mtime = min(int(st.st_mtime), mtime)
                    if info.isreg() and st.st_nlink > 1:
                        first = links.setdefault((st.st_dev, st.st_ino), rel)
                        if first != rel:
                            info.type, info.linkname, info.size = tarfile.LNKTYPE, first, 0
                    if info.isreg():
                        with path.open("rb") as f:
                            tar.addfile(info, f)
                    else:
                        tar.addfile(info)
    final = work_dir / (blob.digest().split(":", 1)[1] + ".tar.gz")
    tmp.replace(final)
    return Layer(blob.digest(), blob.size, diff.digest(), diff.size, path=final)


def image_config(
    layers: Sequence[Layer],
    *,
    config: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    created: str = EPOCH_TEXT,
    arch: str | None = None,
) -> dict[str, Any]:
    """An image config document (image-spec config.md) for ``layers``."""
    return {
        "architecture": arch or oci_arch(),
        "os": "linux",
        "created": created,
        "config": dict(config),
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [dict(h) for h in history],
    }


def _json(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def write_archive(out: BinaryIO, images: Sequence[Image]) -> None:
    """Write an OCI image-layout tar holding ``images`` to the binary stream ``out``."""
    small: dict[str, bytes] = {}
    layers: dict[str, Layer] = {}
    entries = []
    for image in images:
        config = _json(image.config)
        small[digest_of(config)] = config
        for layer in image.layers:
            layers[layer.digest] = layer
        labels = dict(image.config.get("config", {}).get("Labels") or {})
        manifest = _json(
            {
                **({"annotations": labels} if labels else {}),
                "schemaVersion": 2,
                "mediaType": MEDIA_MANIFEST,
                "config": {
                    "mediaType": MEDIA_CONFIG,
                    "digest": digest_of(config),
                    "size": len(config),
                },
                "layers": [
                    {"mediaType": MEDIA_LAYER, "digest": layer.digest, "size": layer.size}
                    for layer in image.layers
                ],
            }
        )
        small[digest_of(manifest)] = manifest
        entries.append(
            {
                "mediaType": MEDIA_MANIFEST,
                "digest": digest_of(manifest),
                "size": len(manifest),
                "platform": {
                    "architecture": image.config.get("architecture", oci_arch()),
                    "os": image.config.get("os", "linux"),
                },
                "annotations": {
                    "io.containerd.image.name": image.name,
                    "org.opencontainers.image.ref.name": image.name.rsplit(":", 1)[-1],
                },
            }
        )
    index = _json(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        }
    )
    layout = _json({"imageLayoutVersion": "1.0.0"})

    def blob_name(digest: str) -> str:
        return "blobs/sha256/" + digest.split(":", 1)[1]

    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("oci-layout", layout), ("index.json", index)):
            tar.addfile(
                tar_info(name, tarfile.REGTYPE, size=len(data), mode=0o644), io.BytesIO(data)
            )
        tar.addfile(tar_info("blobs", tarfile.DIRTYPE))
        tar.addfile(tar_info("blobs/sha256", tarfile.DIRTYPE))
        blobs: list[tuple[str, int, Callable[[], BinaryIO]]] = [
            (d, len(b), lambda b=b: io.BytesIO(b)) for d, b in small.items()
        ]
        blobs += [(d, layer.size, layer.open) for d, layer in layers.items()]
        for digest, size, opener in sorted(blobs, key=lambda x: x[0]):
            with opener() as f:
                tar.addfile(tar_info(blob_name(digest), tarfile.REGTYPE, size=size, mode=0o644), f)


def read_archive(path: Path) -> dict[str, Any]:
    """The index, manifests and configs of an OCI archive (for tests and checks).

    Returns ``{"index": ..., "images": {name: {"manifest": ..., "config": ...}}}``.
    """
    with tarfile.open(path) as tar:

        def doc(name: str) -> Any:
            member = tar.extractfile(name)
            assert member is not None, name
            return json.load(member)

        index = doc("index.json")
        images = {}
        for entry in index["manifests"]:
            manifest = doc("blobs/sha256/" + entry["digest"].split(":", 1)[1])
            config = doc("blobs/sha256/" + manifest["config"]["digest"].split(":", 1)[1])
            name = entry.get("annotations", {}).get("io.containerd.image.name", "")
            images[name] = {"manifest": manifest, "config": config, "entry": entry}
    return {"index": index, "images": images}
