"""scripts/oci_image.py: layers from directory trees and OCI archives, checked by reading
them back with tarfile and recomputing every digest."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

from scripts.oci_image import (
    Image,
    bytes_layer,
    image_config,
    read_archive,
    tree_layer,
    write_archive,
)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_tree(root: Path) -> None:
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("build-host\n")
    (root / "etc" / "os-release").write_text("ID=debian\n")
    (root / "usr" / "bin").mkdir(parents=True)
    tool = root / "usr" / "bin" / "tool"
    tool.write_bytes(b"#!/bin/sh\necho hi\n")
    tool.chmod(0o755)
    os.link(tool, root / "usr" / "bin" / "tool2")
    (root / "bin").symlink_to("usr/bin")
    os.utime(root / "etc" / "os-release", (4_000_000_000, 4_000_000_000))


def test_tree_layer_keeps_modes_links_and_clamps_times(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    make_tree(root)
    layer = tree_layer(root, tmp_path / "out", mtime=1_700_000_000,
                       keep=lambda rel: rel != "etc/hostname")  # fmt: skip
    assert layer.path is not None
    blob = layer.path.read_bytes()
    assert sha(blob) == layer.digest and len(blob) == layer.size
    raw = gzip.decompress(blob)
    assert sha(raw) == layer.diff_id and len(raw) == layer.tar_size
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert list(members) == sorted(members)  # parents first, name order
    assert "etc/hostname" not in members
    assert members["bin"].issym() and members["bin"].linkname == "usr/bin"
    assert members["usr/bin/tool"].mode & 0o777 == 0o755
    link = members["usr/bin/tool2"]
    assert link.islnk() and link.linkname == "usr/bin/tool"
    assert members["etc/os-release"].mtime == 1_700_000_000  # clamped
    assert all(m.uname == "" and m.gname == "" for m in members.values())
    again = tree_layer(root, tmp_path / "again", mtime=1_700_000_000,
                       keep=lambda rel: rel != "etc/hostname")  # fmt: skip
    assert again.digest == layer.digest  # reproducible


def test_archive_round_trip(tmp_path: Path) -> None:
    layer = bytes_layer(b"x" * 1024)
    config = image_config([layer], config={"Cmd": ["/bin/sh"], "Labels": {"a": "b"}},
                          history=[{"created_by": "test"}], arch="arm64")  # fmt: skip
    out = tmp_path / "image.tar"
    with out.open("wb") as f:
        write_archive(f, [Image("example.org/a/b:1.2", config, [layer])])
    archive = read_archive(out)
    (entry,) = archive["index"]["manifests"]
    assert entry["annotations"] == {
        "io.containerd.image.name": "example.org/a/b:1.2",
        "org.opencontainers.image.ref.name": "1.2",
    }
    assert entry["platform"] == {"architecture": "arm64", "os": "linux"}
    image = archive["images"]["example.org/a/b:1.2"]
    assert image["manifest"]["annotations"] == {"a": "b"}
    assert image["config"]["rootfs"]["diff_ids"] == [layer.diff_id]
    with tarfile.open(out) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith("blobs/sha256/"):
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                assert sha(data).split(":")[1] == member.name.rsplit("/", 1)[1]
        assert tar.extractfile("oci-layout").read() == b'{"imageLayoutVersion":"1.0.0"}'  # type: ignore[union-attr]
