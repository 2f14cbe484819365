"""HostFS.stat: mode, owner and kind of a host file, read under the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS


def test_stat_reads_mode_owner_and_kind_under_the_root(tmp_path: Path) -> None:
    conf = tmp_path / "etc/kubernetes/kubelet.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("apiVersion: v1\n")
    conf.chmod(0o640)
    st = HostFS(str(tmp_path)).stat("/etc/kubernetes/kubelet.conf")
    assert (st.mode, st.uid, st.gid, st.size, st.kind) == (
        0o640,
        os.getuid(),
        os.getgid(),
        15,
        "file",
    )
    assert HostFS(str(tmp_path)).stat("/etc/kubernetes").kind == "dir"


def test_stat_follows_a_link_to_the_file_it_names(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("x")
    (tmp_path / "data").chmod(0o600)
    (tmp_path / "link").symlink_to("data")
    assert HostFS(str(tmp_path)).stat("/link").mode == 0o600


def test_stat_of_an_absent_file_is_a_missing_probe_failure(tmp_path: Path) -> None:
    with pytest.raises(ProbeFailed) as info:
        HostFS(str(tmp_path)).stat("/etc/kubernetes/kubelet.conf")
    assert info.value.kind is ErrorKind.MISSING
    assert info.value.source == "host:/etc/kubernetes/kubelet.conf"
