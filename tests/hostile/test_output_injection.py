"""Names, labels, process names and API messages holding escape sequences never reach a
terminal raw: tables and stderr show them escaped; JSON and YAML keep them exactly; JUnit
stays valid XML and SARIF valid JSON."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from inspect8s.render.escape import escape, escape_text
from tests.hostile.conftest import REPO, one_line, run_cli
from tests.kubeserver import KubeServer, status_body

FIXTURE_HOST = REPO / "tests/fixtures/audit/containerd-2.1-v2-removed-keys/host"
CONTAINER = "ca7cb500d202fe3ddc2bfce87d4e0d99004aba9b54e7f74205aae9558f68729b"

CLEAR = "\x1b[2J"
TITLE = "\x1b]0;pwned\x07"
CSI8 = "\x9b31m"  # the one-byte CSI of C1
RTL = "\u202e"
EVIL_NAME = f"web{CLEAR}{TITLE}{CSI8}{RTL}x"
EVIL_NS = f"shop\r\nFAKE LINE{CLEAR}"

# What may not appear raw in human output: C0 except the line break, DEL, C1, bidi.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strings(value: object) -> list[str]:
    """Every string in a parsed document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def test_escape_function() -> None:
    assert escape(EVIL_NAME) == "web\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\u202ex"
    assert escape("a\nb\tc\rd") == "a\\nb\\tc\\rd"
    assert escape("\udcff") == "\\xff"  # an undecodable byte kept by surrogateescape
    assert escape("plain/path C:\\x") == "plain/path C:\\x"
    assert escape_text(f"one{CLEAR}\ntwo\t\n") == "one\\x1b[2J\ntwo\\t\n"
    assert escape(42) == "42"


def evil_manifest(tmp_path: Path) -> Path:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": EVIL_NAME, "namespace": EVIL_NS, "labels": {"app": TITLE}},
        "spec": {"containers": [{"name": f"app{TITLE}", "image": f"nginx{CLEAR}",
                                 "securityContext": {"privileged": True}}]},
    }  # fmt: skip
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(pod))
    return path


def test_audit_table_and_stderr_show_escapes(tmp_path: Path) -> None:
    proc = run_cli("audit", "--manifests", str(evil_manifest(tmp_path)))
    assert proc.returncode == 1, proc.stderr
    assert RAW.search(proc.stdout) is None and RAW.search(proc.stderr) is None
    assert "web\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\u202ex" in proc.stdout
    assert "FAKE LINE" in proc.stdout and "\nFAKE LINE" not in proc.stdout


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_json_and_yaml_keep_names_exactly(tmp_path: Path, fmt: str) -> None:
    proc = run_cli("audit", "--manifests", str(evil_manifest(tmp_path)), "-o", fmt)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout) if fmt == "json" else yaml.safe_load(proc.stdout)
    assert any(EVIL_NAME in text for text in strings(doc))
    assert "\x1b" not in proc.stdout  # both formats write control characters as escapes


def test_junit_is_valid_xml(tmp_path: Path) -> None:
    proc = run_cli("audit", "--manifests", str(evil_manifest(tmp_path)), "-o", "junit")
    assert proc.returncode == 1, proc.stderr
    root = ET.fromstring(proc.stdout.encode())
    names = [case.get("name") or "" for case in root.iter("testcase")]
    assert any("web\\x1b[2J" in n for n in names)  # ESC cannot be in XML: shown escaped
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout


def test_sarif_is_valid_json_with_exact_text(tmp_path: Path) -> None:
    proc = run_cli("audit", "--manifests", str(evil_manifest(tmp_path)), "-o", "sarif")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["version"] == "2.1.0"
    assert any(EVIL_NAME in text for text in strings(doc))


def test_node_table_escapes_names_from_the_host(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(FIXTURE_HOST, root, symlinks=True)
    bundle_dir = root / f"run/containerd/io.containerd.runtime.v2.task/k8s.io/{CONTAINER}"
    bundle_dir.mkdir(parents=True)
    (bundle_dir / "config.json").write_text(json.dumps({"annotations": {
        "io.kubernetes.cri.container-type": "container",
        "io.kubernetes.cri.sandbox-name": EVIL_NAME,
        "io.kubernetes.cri.sandbox-namespace": EVIL_NS,
        "io.kubernetes.cri.sandbox-uid": "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a",
        "io.kubernetes.cri.container-name": f"app{TITLE}",
    }}))  # fmt: skip
    (root / "etc/hostname").write_text(f"node{TITLE}\n")
    table = run_cli("node", "--root", str(root))
    assert table.returncode == 0, table.stderr
    assert RAW.search(table.stdout) is None
    assert "app\\x1b]0;pwned\\x07" in table.stdout
    doc = json.loads(run_cli("node", "--root", str(root), "-o", "json").stdout)
    names = {c.get("name") for c in doc["containers"]}
    assert f"app{TITLE}" in names  # exact in JSON


def test_api_error_messages_are_escaped_on_one_line(tmp_path: Path) -> None:
    with KubeServer() as server:
        message = f"boom{TITLE}\nsecond line{CLEAR}"
        server.fail("/api/v1/namespaces/shop/pods/web", 500,
                    json.dumps(status_body(500, message, "InternalError")).encode())  # fmt: skip
        kubeconfig = server.kubeconfig(tmp_path / "kubeconfig")
        proc = run_cli("pod", "web", "-n", "shop", "--kubeconfig", str(kubeconfig),
                       "--timeout", "5")  # fmt: skip
    assert proc.returncode == 4
    line = one_line(proc.stderr)
    assert "boom\\x1b]0;pwned\\x07\\nsecond line\\x1b[2J" in line
    assert RAW.search(proc.stderr) is None


def test_usage_errors_with_control_characters_stay_one_line(tmp_path: Path) -> None:
    missing = tmp_path / f"nope{CLEAR}\nreally"
    proc = run_cli("audit", "--manifests", str(missing))
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert RAW.search(line) is None and "nope\\x1b[2J\\nreally" in line
