"""The agent image recipe: Containerfile and scripts/build_image.py describe one image, and
the build script's pure parts (apt sources, wheel tags, what the layer keeps) work.

Building the image for real and running it is tests/integration/test_agent_image.py.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from inspect8s._version import __version__
from inspect8s.kube.agent import DEFAULT_AGENT_IMAGE
from scripts import build_image
from scripts.build_image import (
    AptSource,
    debian_mirror_lines,
    keep_in_image,
    parse_deb822_sources,
    parse_one_line_sources,
    wheel_platforms,
)

REPO = Path(__file__).resolve().parents[2]


def final_stage() -> dict[str, list[str]]:
    """Instructions of the Containerfile's last stage: name -> their arguments (joined)."""
    text = (REPO / "Containerfile").read_text().replace("\\\n", " ")
    stages: list[dict[str, list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word == "FROM":
            stages.append({})
        stages[-1].setdefault(word, []).append(rest.strip())
    return stages[-1]


def pairs(args: list[str]) -> dict[str, str]:
    out = {}
    for arg in args:
        for item in shlex.split(arg):
            key, _, value = item.partition("=")
            out[key] = value
    return out


def test_containerfile_and_build_script_make_the_same_image() -> None:
    stage = final_stage()
    defaults = pairs(stage["ARG"])
    assert defaults["VERSION"] == __version__, "Containerfile's ARG VERSION lags the package"
    script = build_image.container_config(
        build_image.image_labels(__version__, "abc123", "2026-01-01T00:00:00Z")
    )
    assert json.loads(stage["ENTRYPOINT"][0]) == script["Entrypoint"]
    assert json.loads(stage["CMD"][0]) == script["Cmd"]
    assert stage["USER"] == [script["User"]]
    assert stage["WORKDIR"] == [script["WorkingDir"]]
    env = pairs(stage["ENV"])
    assert [f"{k}={v}" for k, v in env.items()] == script["Env"]
    labels = pairs(stage["LABEL"])
    expected = dict(script["Labels"])  # type: ignore[call-overload]
    assert expected.pop("org.opencontainers.image.created")  # set by every builder itself
    assert labels.pop("org.opencontainers.image.version") == "${VERSION}"
    assert labels.pop("org.opencontainers.image.revision") == "${REVISION}"
    assert expected.pop("org.opencontainers.image.version") == __version__
    assert expected.pop("org.opencontainers.image.revision") == "abc123"
    assert labels == expected
    # Same base: Debian bookworm's python3 in both.
    assert stage["FROM"] == ["docker.io/library/debian:bookworm-slim"]
    assert build_image.TARGETS["bookworm"].python == "3.11"
    assert "python3" in stage["RUN"][0]
    assert stage["COPY"] == [f"--from=build {build_image.VENV} {build_image.VENV}"]


def test_image_reference_is_the_default_agent_image() -> None:
    version, ref = build_image.project_version()
    assert (version, ref) == (__version__, DEFAULT_AGENT_IMAGE)


def test_mirrors_come_from_the_machines_debian_sources() -> None:
    deb822 = """Types: deb
# a snapshot comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security/
Suites: bookworm-security
Components: main

Types: deb
URIs: https://deb.nodesource.example/node_20.x
Suites: nodistro
Components: main

Types: deb-src
URIs: http://mirror.example/debian
Suites: bookworm
Components: main

Enabled: no
Types: deb
URIs: http://off.example/debian
Suites: bookworm
Components: main
"""
    sources = parse_deb822_sources(deb822)
    assert debian_mirror_lines(sources, "bookworm", "bookworm") == [
        "deb http://mirror.example/debian bookworm main",
        "deb http://mirror.example/debian bookworm-updates main",
        "deb http://mirror.example/debian-security bookworm-security main",
    ]
    # Another release on the build machine: the same mirrors, bookworm's suites.
    one_line = (
        "deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian trixie main\n"
        "# deb http://commented.example/debian trixie main\n"
        "deb http://m.example/debian-security trixie-security main non-free-firmware\n"
        "deb http://ppa.example/ubuntu jammy main\n"
        "deb http://m.example/debian trixie-backports main\n"
    )
    assert debian_mirror_lines(parse_one_line_sources(one_line), "trixie", "bookworm") == [
        "deb http://m.example/debian bookworm main",
        "deb http://m.example/debian-security bookworm-security main",
    ]
    no_main = [AptSource("http://m.example/debian", "bookworm", ("contrib",))]
    assert debian_mirror_lines(no_main, "bookworm", "bookworm") == []


def test_wheel_platforms_cover_older_glibc_only() -> None:
    tags = wheel_platforms(36, "x86_64")
    assert tags[0] == "manylinux_2_36_x86_64" and "manylinux_2_17_x86_64" in tags
    assert "manylinux_2_37_x86_64" not in tags
    assert {"manylinux2014_x86_64", "manylinux1_x86_64"} <= set(tags)
    assert "manylinux1_aarch64" not in wheel_platforms(36, "aarch64")


KEPT = (
    "dev", "proc", "tmp", "etc/passwd", "opt/inspect8s/bin/inspect8s", "var/lib/dpkg/status",
    "var/log", "var/log/apt", "usr/share/doc/python3/copyright",
)  # fmt: skip
DROPPED = (
    "dev/null", "proc/1", "run/lock", "tmp/inspect8s-wheels", "etc/resolv.conf", "etc/hostname",
    "var/lib/apt/lists/lock", "var/cache/apt/pkgcache.bin", "var/log/dpkg.log",
    "var/log/apt/history.log", "var/lib/dpkg/status-old",
)  # fmt: skip


def test_layer_leaves_out_runtime_and_build_leftovers() -> None:
    assert [p for p in KEPT if not keep_in_image(p)] == []
    assert [p for p in DROPPED if keep_in_image(p)] == []
