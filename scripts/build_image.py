"""Build the agent image without a registry or a container engine; write an OCI archive.

    sudo python3 scripts/build_image.py OUT.tar     (scripts/build-image.sh wraps this)

What ``Containerfile`` builds, made from packages only (PyPI and a Debian mirror):

1. this checkout as a wheel, and its dependencies as wheels for the image's Python
   (CPython 3.11, glibc 2.36: Debian bookworm), with ``pip wheel`` / ``pip download``;
2. a Debian bookworm root filesystem with ``python3`` (``mmdebstrap --variant=apt``,
   merged /usr, no man pages, docs or locales: what ``debian:bookworm-slim`` leaves out),
   from the Debian mirror this machine's apt sources name (read now, or ``--mirror``);
3. inside it, ``python3 -m venv --without-pip /opt/inspect8s`` and the wheels installed
   there offline by a pip run from its own wheel (so no pip stays in the image);
4. the tree as one gzip layer plus the config (entry point, PATH, labels) as an OCI
   image-layout tar, named exactly the default ``--agent-image`` of this version, so that
   ``ctr -n k8s.io images import OUT.tar`` makes it the image agent pods ask for.

Needs root (mmdebstrap and chroot), ``mmdebstrap``, the Debian archive keyring and a
Python with pip. Timestamps are clamped to the commit time (``SOURCE_DATE_EPOCH``).
"""

from __future__ import annotations

import argparse
import os
import platform
import runpy
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oci_image import Image, image_config, tree_layer, write_archive

REPO = Path(__file__).resolve().parents[1]
SOURCE_URL = "https://github.com/inspect8s/inspect8s"
VENV = "/opt/inspect8s"
IMAGE_PATH = f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
WHEELS_IN_ROOTFS = "/tmp/inspect8s-wheels"
MERGED_USR_HOOKS = Path("/usr/share/mmdebstrap/hooks/merged-usr")
# Left out of the image the way debian:bookworm-slim leaves them out (dpkg path-exclude),
# keeping each package's copyright file.
DPKG_EXCLUDES = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/lintian/*",
)


@dataclass(frozen=True, slots=True)
class Target:
    """A Debian release the image can be based on: its python3 and glibc versions."""

    suite: str
    python: str  # "3.11"
    glibc_minor: int  # 36: manylinux_2_36 and older wheels run on it


TARGETS = {"bookworm": Target("bookworm", "3.11", 36)}
DEBIAN_ALIASES = frozenset({"stable", "oldstable", "oldoldstable", "testing", "unstable", "sid"})


# --------------------------------------------------------------------------- apt sources


@dataclass(frozen=True, slots=True)
class AptSource:
    uri: str
    suite: str
    components: tuple[str, ...]


def parse_one_line_sources(text: str) -> list[AptSource]:
    """``deb [opts] URI SUITE COMPONENT...`` lines (sources.list(5), one-line style)."""
    found = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        words = line.split()[1:]
        if words and words[0].startswith("["):
            while words and not words[0].endswith("]"):
                words.pop(0)
            words = words[1:]
        if len(words) >= 3:
            found.append(AptSource(words[0].rstrip("/"), words[1], tuple(words[2:])))
    return found


def parse_deb822_sources(text: str) -> list[AptSource]:
    """Stanzas of ``Types: / URIs: / Suites: / Components:`` (sources.list(5), deb822)."""
    found = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for raw in stanza.splitlines():
            if raw.startswith("#") or not raw.strip():
                continue
            if raw[0] in " \t" and key:
                fields[key] += " " + raw.strip()
                continue
            key, _, value = raw.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if fields.get("enabled", "yes").lower() == "no" or "deb" not in fields.get("types", ""):
            continue
        components = tuple(fields.get("components", "").split())
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                found.append(AptSource(uri.rstrip("/"), suite, components))
    return found


def read_apt_sources(etc_apt: Path = Path("/etc/apt")) -> list[AptSource]:
    """Every ``deb`` source this machine's apt uses (sources.list and sources.list.d/)."""
    found: list[AptSource] = []
    one_line = [etc_apt / "sources.list", *sorted((etc_apt / "sources.list.d").glob("*.list"))]
    for path in one_line:
        if path.is_file():
            found += parse_one_line_sources(path.read_text(errors="replace"))
    for path in sorted((etc_apt / "sources.list.d").glob("*.sources")):
        found += parse_deb822_sources(path.read_text(errors="replace"))
    return found


def debian_mirror_lines(
    sources: Iterable[AptSource], host_codename: str | None, suite: str
) -> list[str]:
    """``deb URI SUITE main`` lines for ``suite`` (and its -updates and -security) from
    the Debian sources of this machine: those of its own release (or a Debian alias such
    as ``stable``) with the ``main`` component. Third-party repositories (other suite
    names) are not used."""
    lines: list[str] = []
    for src in sources:
        if "main" not in src.components:
            continue
        base, sep, pocket = src.suite.partition("-")
        base = base.split("/", 1)[0]
        if base != host_codename and base != suite and base not in DEBIAN_ALIASES:
            continue
        if src.suite.endswith("/updates"):  # the old security suite name
            pocket, sep = "security", "-"
        line = f"deb {src.uri} {suite}{sep}{pocket} main"
        if pocket in ("", "updates", "security") and line not in lines:
            lines.append(line)
    return lines


def host_codename(os_release: Path = Path("/etc/os-release")) -> str | None:
    try:
        text = os_release.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "VERSION_CODENAME":
            return value.strip().strip('"') or None
    return None


# --------------------------------------------------------------------------- wheels


def wheel_platforms(glibc_minor: int, machine: str) -> list[str]:
    """Platform tags of wheels that run on glibc 2.<glibc_minor> (PEP 600, PEP 599)."""
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(glibc_minor, 16, -1)]
    tags += [f"manylinux2014_{machine}"]
    if machine in ("x86_64", "i686"):
        tags += [f"manylinux2010_{machine}", f"manylinux1_{machine}"]
    return tags


class BuildFailed(Exception):
    """A build step failed; the message names it."""


def run(cmd: Sequence[str]) -> None:
    print("+ " + shlex.join(cmd), flush=True)
    done = subprocess.run(cmd, check=False)
    if done.returncode != 0:
        raise BuildFailed(f"{cmd[0]} exited with status {done.returncode} (output above)")


def build_wheels(python: str, target: Target, machine: str, out: Path) -> Path:
    """This checkout's wheel and every dependency's, for the image's Python; the wheel."""
    out.mkdir(parents=True)
    run([python, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(out), str(REPO)])
    (wheel,) = out.glob("inspect8s-*.whl")
    platforms = [
        arg for tag in wheel_platforms(target.glibc_minor, machine) for arg in ("--platform", tag)
    ]
    run(
        [
            python,
            "-m",
            "pip",
            "download",
            "-q",
            "--dest",
            str(out),
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            target.python,
            *platforms,
            str(wheel),
            "pip",
        ]
    )
    return wheel


# --------------------------------------------------------------------------- root filesystem


def public_sources(suite: str) -> str:
    """The image's /etc/apt/sources.list: Debian's public mirrors, as in debian:<suite>
    images, not the build machine's (which may be a private mirror)."""
    return (
        f"deb http://deb.debian.org/debian {suite} main\n"
        f"deb http://deb.debian.org/debian {suite}-updates main\n"
        f"deb http://deb.debian.org/debian-security {suite}-security main\n"
    )


def rootfs_hooks(wheels: Path, wheel: Path, version: str, epoch: int, suite: str) -> list[str]:
    """mmdebstrap ``--customize-hook``s: the venv and the offline install into it, and
    the public apt sources."""
    (pip_wheel,) = sorted(wheels.glob("pip-*.whl"))
    clean_env = f"env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 SOURCE_DATE_EPOCH={epoch}"
    pip = f"{VENV}/bin/python {WHEELS_IN_ROOTFS}/{pip_wheel.name}/pip"
    install = (
        f"{pip} install -q --no-index --find-links {WHEELS_IN_ROOTFS} --no-cache-dir "
        "--disable-pip-version-check --root-user-action=ignore --no-warn-script-location "
        f"{WHEELS_IN_ROOTFS}/{wheel.name}"
    )
    return [
        f"copy-in {wheels} /tmp",
        f'chroot "$1" {clean_env} python3 -m venv --without-pip {VENV}',
        f'chroot "$1" {clean_env} {install}',
        f'rm -rf "$1{WHEELS_IN_ROOTFS}"',
        f'test "$(chroot "$1" {clean_env} {VENV}/bin/inspect8s --version)" = "inspect8s {version}"',
        f'printf %s {shlex.quote(public_sources(suite))} > "$1/etc/apt/sources.list"',
    ]


def build_rootfs(target: Target, mirrors: Sequence[str], hooks: Sequence[str], out: Path) -> None:
    cmd = ["mmdebstrap", "--variant=apt", "--include=python3", "--format=directory"]
    if MERGED_USR_HOOKS.is_dir():
        # usr-is-merged instead of the usrmerge package, which pulls in perl.
        cmd.append(f"--hook-dir={MERGED_USR_HOOKS}")
    cmd += [f"--dpkgopt={opt}" for opt in DPKG_EXCLUDES]
    cmd += [f"--customize-hook={hook}" for hook in hooks]
    cmd += [target.suite, str(out), *mirrors]
    run(cmd)


# Runtime-provided or build-time-only paths: the runtime mounts /dev, /proc, /sys, /run
# and writes resolv.conf and hostname; apt's lists and caches and the build logs are not
# needed to run (and would make every build differ).
_LEAVE_OUT_UNDER = (
    "dev/",
    "proc/",
    "sys/",
    "run/",
    "tmp/",
    "var/tmp/",
    "var/cache/apt/",
    "var/lib/apt/lists/",
    "var/log/apt/",
)
_LEAVE_OUT = frozenset(
    {"etc/resolv.conf", "etc/hostname", "etc/machine-id", "var/log/dpkg.log",
     "var/log/alternatives.log", "var/log/bootstrap.log"}
)  # fmt: skip


def keep_in_image(rel: str) -> bool:
    """False for paths the image leaves out (their parent directories stay)."""
    if rel in _LEAVE_OUT:
        return False
    if rel.endswith("-old") and rel.startswith(("var/lib/dpkg/", "var/cache/debconf/")):
        return False  # dpkg's and debconf's backup copies
    return not rel.startswith(_LEAVE_OUT_UNDER)


# --------------------------------------------------------------------------- image


def image_labels(version: str, revision: str | None, created: str) -> dict[str, str]:
    labels = {
        "org.opencontainers.image.title": "inspect8s",
        "org.opencontainers.image.description": "inspect8s node agent: "
        "`inspect8s node|audit --root /host` in a privileged hostPID pod",
        "org.opencontainers.image.source": SOURCE_URL,
        "org.opencontainers.image.url": SOURCE_URL,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.licenses": "Apache-2.0",
        "org.opencontainers.image.created": created,
    }
    if revision:
        labels["org.opencontainers.image.revision"] = revision
    return labels


def container_config(labels: dict[str, str]) -> dict[str, object]:
    """The runtime part of the image config; Containerfile says the same."""
    return {
        "User": "0",
        "Entrypoint": [f"{VENV}/bin/inspect8s"],
        "Cmd": ["--help"],
        "Env": [f"PATH={IMAGE_PATH}", "LANG=C.UTF-8"],
        "WorkingDir": "/",
        "Labels": labels,
    }


def git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def project_version() -> tuple[str, str]:
    """(version, default agent image reference) from inspect8s/_version.py."""
    ns = runpy.run_path(str(REPO / "inspect8s" / "_version.py"))
    return str(ns["__version__"]), f"{ns['AGENT_IMAGE_REPOSITORY']}:{ns['__version__']}"


def _mounted_under(path: Path) -> list[str]:
    prefix = str(path.resolve()) + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p.startswith(prefix)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the OCI archive to write (OUT.tar)")
    parser.add_argument("--suite", default="bookworm", choices=sorted(TARGETS))
    parser.add_argument(
        "--mirror",
        action="append",
        default=[],
        help='"deb URI SUITE main" (repeatable); default: from /etc/apt',
    )
    parser.add_argument(
        "--python", default=sys.executable, help="a Python with pip, for the wheels"
    )
    parser.add_argument("--tag", help="image reference (default: the default --agent-image)")
    parser.add_argument("--work-dir", type=Path, help="keep the build tree here")
    args = parser.parse_args(argv)

    if os.geteuid() != 0:
        parser.error("needs root (mmdebstrap and chroot)")
    if shutil.which("mmdebstrap") is None:
        parser.error("mmdebstrap not found (Debian package mmdebstrap)")
    target = TARGETS[args.suite]
    mirrors = args.mirror or debian_mirror_lines(read_apt_sources(), host_codename(), target.suite)
    if not mirrors:
        parser.error(
            "no Debian mirror in /etc/apt/sources.list{,.d}; pass --mirror 'deb URI "
            f"{target.suite} main'"
        )
    version, default_ref = project_version()
    ref = args.tag or default_ref
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or git("log", "-1", "--format=%ct") or 0)

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="inspect8s-image-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        return _build(args, target, mirrors, version, ref, epoch, work, started)
    except BuildFailed as exc:
        print(f"build-image: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.work_dir is None:
            mounted = _mounted_under(work)
            if mounted:
                print(f"not removing {work}: still mounted: {', '.join(mounted)}", file=sys.stderr)
            else:
                shutil.rmtree(work, ignore_errors=True)


def _build(
    args: argparse.Namespace,
    target: Target,
    mirrors: Sequence[str],
    version: str,
    ref: str,
    epoch: int,
    work: Path,
    started: float,
) -> int:
    created = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)  # mmdebstrap and pip honour it
    wheels = work / Path(WHEELS_IN_ROOTFS).name  # copy-in keeps the directory name
    shutil.rmtree(wheels, ignore_errors=True)
    wheel = build_wheels(args.python, target, platform.machine(), wheels)
    print(f"== wheels ready ({time.monotonic() - started:.0f} s)", flush=True)
    rootfs = work / "rootfs"
    if rootfs.exists():
        shutil.rmtree(rootfs)
    build_rootfs(target, mirrors, rootfs_hooks(wheels, wheel, version, epoch, target.suite), rootfs)
    print(f"== root filesystem ready ({time.monotonic() - started:.0f} s)", flush=True)
    layer = tree_layer(rootfs, work / "layers", mtime=epoch, keep=keep_in_image)
    history = [
        {
            "created": created,
            "created_by": f"mmdebstrap --variant=apt --include=python3 {target.suite}; "
            f"python3 -m venv {VENV}; pip install {wheel.name}",
        },
    ]
    config = image_config(
        [layer],
        config=container_config(image_labels(version, git("rev-parse", "HEAD"), created)),
        history=history,
        created=created,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_name(args.out.name + ".tmp")
    with tmp_out.open("wb") as f:
        write_archive(f, [Image(ref, config, [layer])])
    tmp_out.replace(args.out)
    print(
        f"== {args.out}: {ref}, {layer.tar_size / 1e6:.0f} MB unpacked, "
        f"{layer.size / 1e6:.0f} MB compressed, in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
