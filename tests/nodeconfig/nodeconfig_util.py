"""Helpers shared by the node configuration tests."""

from __future__ import annotations

from pathlib import Path

from inspect8s.host.fs import HostFS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nodeconfig"


def tree(name: str) -> HostFS:
    return HostFS(str(FIXTURES / name))


def proc_cmdline(name: str, pid: int) -> list[str]:
    raw = (FIXTURES / name / "proc" / str(pid) / "cmdline").read_bytes()
    return [part.decode() for part in raw.split(b"\0") if part]


def write(root: Path, host_path: str, content: str | bytes) -> Path:
    target = root / host_path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content)
    return target
