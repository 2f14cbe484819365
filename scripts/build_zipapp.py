"""Build ``kubectl-inspect8s``, one file per platform, and the krew archives holding it.

    python3 scripts/build_zipapp.py OUT [--platform linux_amd64 ...] [--python 3.11 ...]
    python3 scripts/build_zipapp.py OUT --list       # the archive names, nothing built

(scripts/build-zipapp.sh wraps this.) For each platform of the krew manifest
(plugins/kubectl/krew/inspect8s.yaml):

1. this checkout as a wheel, and every dependency's wheel for that platform and each
   Python of ``--python`` (psutil and PyYAML carry compiled code), with
   ``pip download``;
2. a PEX (https://docs.pex-tool.org) of them, offline (``--no-pypi``): a zipapp run by
   whichever ``python3`` (3.11 and later) is on the user's PATH, nothing else installed.
   ``--sh-boot`` finds the interpreter; ``--venv`` unpacks it into a virtual environment
   under ``~/.cache/pex`` on the first run, so later runs start fast;
3. ``OUT/kubectl-inspect8s_<tag>_<os>_<arch>.tar.gz`` holding ``kubectl-inspect8s`` and
   ``LICENSE`` (the manifest's ``files``), and its ``.sha256``.

Needs pex (the project's test extra) and PyPI. Timestamps come from ``SOURCE_DATE_EPOCH``
(default: the commit time), so the same inputs give the same archives.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import platform
import runpy
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ZIPAPP = "kubectl-inspect8s"
ARCHIVE_MEMBERS = (ZIPAPP, "LICENSE")  # the krew manifest's `files: - from:` entries
PYTHONS = ("3.11", "3.12", "3.13", "3.14")


@dataclass(frozen=True, slots=True)
class Platform:
    """A krew platform (``os``/``arch`` selector) and the wheel tags that run there."""

    os: str
    arch: str
    pex_platform: str  # the platform part of a PEX abbreviated platform
    wheel_tags: tuple[str, ...]  # pip download --platform values

    @property
    def key(self) -> str:
        return f"{self.os}_{self.arch}"


def _linux(arch: str, machine: str) -> Platform:
    # glibc >= 2.17 (manylinux2014): what the wheels of every dependency are built for.
    tags = (f"manylinux2014_{machine}", f"manylinux_2_17_{machine}")
    if machine == "x86_64":
        tags += (f"manylinux2010_{machine}", f"manylinux1_{machine}")
    return Platform("linux", arch, f"manylinux2014_{machine}", tags)


def _darwin(arch: str, machine: str) -> Platform:
    # macOS 11 and later; pip adds the older macOS and universal2 tags that run there.
    return Platform("darwin", arch, f"macosx_11_0_{machine}", (f"macosx_11_0_{machine}",))


PLATFORMS = {
    p.key: p
    for p in (
        _linux("amd64", "x86_64"),
        _linux("arm64", "aarch64"),
        _darwin("amd64", "x86_64"),
        _darwin("arm64", "arm64"),
    )
}


def host_platform() -> str:
    """The krew platform of this machine (``linux_amd64``, ...)."""
    machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine(), platform.machine()
    )
    return f"{sys.platform}_{machine}"


def archive_name(tag: str, key: str) -> str:
    """The archive the krew manifest points at for platform ``key`` of release ``tag``."""
    return f"{ZIPAPP}_{tag}_{key}.tar.gz"


def project_version() -> str:
    return str(runpy.run_path(str(REPO / "inspect8s" / "_version.py"))["__version__"])


def run(cmd: Sequence[str]) -> None:
    print("+ " + shlex.join(cmd), flush=True)
    done = subprocess.run(cmd, check=False)
    if done.returncode != 0:
        raise SystemExit(f"build-zipapp: {cmd[0]} exited with status {done.returncode}")


def download_wheels(
    python: str, wheel: Path, target: Platform, versions: Sequence[str], dest: Path
) -> list[Path]:
    """Every dependency's wheels for ``target``, one directory per Python version
    (downloaded side by side: the time is the network's)."""
    tags = [arg for tag in target.wheel_tags for arg in ("--platform", tag)]
    jobs = []
    for version in versions:
        out = dest / f"{target.key}-cp{version}"
        cmd = [python, "-m", "pip", "download", "-q", "--dest", str(out),
               "--only-binary=:all:", "--implementation", "cp", "--python-version", version,
               *tags, str(wheel)]  # fmt: skip
        print("+ " + shlex.join(cmd), flush=True)
        jobs.append((out, subprocess.Popen(cmd)))
    failed = [out.name for out, proc in jobs if proc.wait() != 0]
    if failed:
        raise SystemExit(f"build-zipapp: pip download failed for {', '.join(failed)}")
    return [out for out, _ in jobs]


def build_pex(
    python: str,
    wheels: Sequence[Path],
    version: str,
    target: Platform,
    versions: Sequence[str],
    out: Path,
) -> None:
    """The PEX for ``target``, resolved offline from the ``wheels`` directories."""
    cmd = [python, "-m", "pex", "--no-pypi"]
    cmd += [arg for d in wheels for arg in ("--find-links", str(d))]
    cmd += [f"inspect8s=={version}", "--console-script", ZIPAPP]
    cmd += ["--sh-boot", "--venv", "--no-emit-warnings", "--python-shebang", "/usr/bin/env python3"]
    for v in versions:
        cmd += ["--platform", f"{target.pex_platform}-cp-{v}-cp{v.replace('.', '')}"]
    out.parent.mkdir(parents=True, exist_ok=True)
    run([*cmd, "--output-file", str(out)])


def write_archive(out: Path, zipapp: Path, license_file: Path, mtime: int) -> str:
    """The krew archive: ``kubectl-inspect8s`` and ``LICENSE`` at its top; its sha256."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path, mode in ((ZIPAPP, zipapp, 0o755), ("LICENSE", license_file, 0o644)):
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, mtime
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    blob = io.BytesIO()
    with gzip.GzipFile(fileobj=blob, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    out.write_bytes(blob.getvalue())
    digest = hashlib.sha256(blob.getvalue()).hexdigest()
    out.with_name(out.name + ".sha256").write_text(f"{digest}  {out.name}\n")
    return digest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="output directory")
    parser.add_argument(
        "--platform",
        action="append",
        choices=sorted(PLATFORMS),
        help="krew platform (repeatable; default: all of the manifest's)",
    )
    parser.add_argument(
        "--python",
        dest="pythons",
        action="append",
        help=f"Python version to carry wheels for (default: {' '.join(PYTHONS)})",
    )
    parser.add_argument("--tag", help="release tag (default: v<version>)")
    parser.add_argument("--list", action="store_true", help="print the archive names and stop")
    parser.add_argument(
        "--build-python",
        default=sys.executable,
        help="a Python with pip and pex (default: this one)",
    )
    args = parser.parse_args(argv)
    version = project_version()
    tag = args.tag or f"v{version}"
    keys = args.platform or sorted(PLATFORMS)
    if args.list:
        for key in keys:
            print(f"{archive_name(tag, key)}\t{' '.join(ARCHIVE_MEMBERS)}")
        return 0
    pythons = args.pythons or list(PYTHONS)
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or _commit_time() or 0)
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)  # the wheel's timestamps, so the PEX's
    started = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="inspect8s-zipapp-") as tmp:
        wheels = Path(tmp) / "wheels"
        wheels.mkdir()
        py = args.build_python
        run([py, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(wheels), str(REPO)])
        (wheel,) = wheels.glob("inspect8s-*.whl")
        for key in keys:
            target = PLATFORMS[key]
            found = download_wheels(py, wheel, target, pythons, Path(tmp))
            print(f"== {key}: wheels after {time.monotonic() - started:.0f} s", flush=True)
            zipapp = args.out / key / ZIPAPP
            build_pex(py, [wheels, *found], version, target, pythons, zipapp)
            archive = args.out / archive_name(tag, key)
            digest = write_archive(archive, zipapp, REPO / "LICENSE", epoch)
            print(
                f"== {archive} ({archive.stat().st_size / 1e6:.0f} MB, sha256 {digest}) "
                f"after {time.monotonic() - started:.0f} s",
                flush=True,
            )
    return 0


def _commit_time() -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    done = subprocess.run(
        [git, "-C", str(REPO), "log", "-1", "--format=%ct"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None if done.returncode == 0 else None


if __name__ == "__main__":
    sys.exit(main())
