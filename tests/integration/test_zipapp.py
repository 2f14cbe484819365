"""The krew archive: scripts/build-zipapp.sh builds it, the manifest names it, and real
``kubectl`` runs the zipapp with a python3 that has nothing installed.

The build (this machine's platform only, about a minute and a half: every dependency's
wheels for four Python versions come from PyPI) runs once per session.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from inspect8s._version import __version__
from scripts.build_zipapp import ARCHIVE_MEMBERS, PLATFORMS, ZIPAPP, archive_name, host_platform

# Builds the krew archive (pex, with wheels from PyPI) and runs it through real kubectl: a
# release test, with the integration tests.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "plugins" / "kubectl" / "krew" / "inspect8s.yaml"
TAG = f"v{__version__}"


def _unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: the zipapp must build and run here)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUT of ``scripts/build-zipapp.sh OUT --platform <this machine's>``."""
    if host_platform() not in PLATFORMS:
        _unavailable(f"no krew platform for this machine ({host_platform()})")
    out = tmp_path_factory.mktemp("zipapp")
    proc = subprocess.run(
        [
            "bash",
            str(REPO / "scripts" / "build-zipapp.sh"),
            str(out),
            "--platform",
            host_platform(),
        ],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return out


def render_manifest(tag: str) -> dict[str, Any]:
    """The manifest as krew-release-bot renders it for ``tag`` (its Go template syntax:
    ``{{ .TagName }}`` and ``{{ addURIAndSha "URL" .TagName }}`` -> uri and sha256 lines)."""
    text = MANIFEST.read_text()

    def uri_and_sha(m: re.Match[str]) -> str:
        indent = m.group(1)
        url = m.group(2).replace("{{ .TagName }}", tag)
        return f"{indent}uri: {url}\n{indent}sha256: {'0' * 64}"

    text = re.sub(
        r'^( *)\{\{ addURIAndSha "([^"]+)" \.TagName \}\}$', uri_and_sha, text, flags=re.M
    )
    text = text.replace("{{ .TagName }}", tag)
    assert "{{" not in text, "a template call this test does not know"
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def test_manifest_names_what_the_script_builds() -> None:
    manifest = render_manifest(TAG)
    listed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_zipapp.py"), "unused", "--list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    built = {line.split("\t")[0]: line.split("\t")[1].split() for line in listed}
    seen = set()
    for entry in manifest["spec"]["platforms"]:
        labels = entry["selector"]["matchLabels"]
        key = f"{labels['os']}_{labels['arch']}"
        name = entry["uri"].rsplit("/", 1)[1]
        assert name == archive_name(TAG, key) and name in built, name
        assert entry["uri"].startswith(
            f"https://github.com/inspect8s/inspect8s/releases/download/{TAG}/"
        )
        assert [f["from"] for f in entry["files"]] == built[name] == list(ARCHIVE_MEMBERS)
        assert all(f["to"] == "." for f in entry["files"])
        assert entry["bin"] == ZIPAPP
        seen.add(key)
    assert seen == set(PLATFORMS)
    assert manifest["spec"]["version"] == TAG


def test_built_archive_holds_the_manifests_files(dist: Path) -> None:
    archive = dist / archive_name(TAG, host_platform())
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == list(ARCHIVE_MEMBERS)
        zipapp, license_member = members
        assert zipapp.mode & 0o111 and zipapp.isfile()
        data = tar.extractfile(license_member).read()  # type: ignore[union-attr]
    assert data == (REPO / "LICENSE").read_bytes()
    assert "Apache License" in data.decode() and "Version 2.0" in data.decode()
    digest = (dist / (archive.name + ".sha256")).read_text().split()[0]
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == digest


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A python3 (>= 3.11) with nothing installed: a venv without pip, setuptools or the
    system's site-packages, made from the machine's own interpreter."""
    base = Path(getattr(sys, "_base_executable", sys.executable))
    system = Path("/usr/bin/python3")
    if system.exists():
        check = "import sys; print(sys.version_info >= (3, 11))"
        probe = subprocess.run(
            [str(system), "-c", check], capture_output=True, text=True, check=False
        )
        if probe.stdout.strip() == "True":
            base = system
    env_dir = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run(
        [str(base), "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120
    )
    return env_dir / "bin"


def test_bare_python_has_nothing_installed(bare_python: Path) -> None:
    code = (
        "import importlib.util as u, json, sys, sysconfig;"
        "mods = ['inspect8s', 'psutil', 'grpc', 'yaml', 'typer', 'kubernetes', 'pip', "
        "'setuptools'];"
        "print(json.dumps({'found': [m for m in mods if u.find_spec(m)], "
        "'purelib': sysconfig.get_paths()['purelib'], 'path': sys.path}))"
    )
    proc = subprocess.run(
        [str(bare_python / "python3"), "-I", "-c", code],
        env={},
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(proc.stdout)
    assert info["found"] == []
    assert not any(
        p.endswith(("dist-packages", "site-packages")) and p != info["purelib"]
        for p in info["path"]
    )
    assert not list(Path(info["purelib"]).iterdir())


def kubectl_env(dist: Path, bare_python: Path, home: Path) -> dict[str, str]:
    """Only the zipapp's directory and the bare python's on PATH; nothing else set."""
    home.mkdir(exist_ok=True)
    return {"PATH": f"{dist / host_platform()}:{bare_python}", "HOME": str(home)}


def test_kubectl_runs_the_zipapp(dist: Path, bare_python: Path, tmp_path: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        _unavailable("kubectl is not installed")
    assert kubectl is not None
    env = kubectl_env(dist, bare_python, tmp_path / "home")

    def kubectl_run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [kubectl, *args], env=env, capture_output=True, text=True, timeout=300, check=False
        )

    plugins = kubectl_run("plugin", "list")
    assert str(dist / host_platform() / ZIPAPP) in plugins.stdout, plugins.stderr
    version = kubectl_run("inspect8s", "--version")  # the first run unpacks the PEX
    assert version.returncode == 0, version.stderr
    assert version.stdout == f"inspect8s {__version__}\n"
    node = kubectl_run("inspect8s", "node", "-o", "json")
    assert node.returncode == 0, node.stderr
    report = json.loads(node.stdout)
    assert report["kind"] == "NodeReport" and report["node"]["root"] == "/"
    table = kubectl_run("inspect8s", "node")
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith(f"NODE {report['node']['hostname']}")
    assert "Traceback" not in node.stderr + table.stderr
    # It ran on the bare interpreter, from the PEX's own unpacked dependencies.
    venvs = list((tmp_path / "home" / ".cache" / "pex").rglob("pyvenv.cfg"))
    assert venvs, "the PEX made no venv under ~/.cache/pex"
