"""kubectl habits through the real CLI: --no-headers, -o wide, -o jsonpath=, -A, -l, one
--timeout default, and --help listing only the formats a command prints. The API is the
local test server (real HTTP, the real kubernetes client's configuration)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inspect8s.commands._options import DEFAULT_TIMEOUT
from inspect8s.render.layout import text_width
from tests.clirun import cli
from tests.kubeserver import AgentScript, KubeServer
from tests.ptyrun import REPO, run_in_pty
from tests.render.test_piped_golden import BUILTIN_ONLY

NODE = ["node", "--root", str(REPO / "tests/fixtures/nodes/real-1.26-containerd")]
NODE += ["--no-runtime-calls"]
CRIO = str(REPO / "tests/fixtures/bundles/crio-1.29")
MANIFESTS = str(REPO / "tests/fixtures/manifests/golden")
GOLDEN = REPO / "tests/fixtures/golden/tables"
AGENT_OUTPUT = REPO / "tests/fixtures/agent/pod-web-guaranteed-trace.json"
HEADERS = ("NAME ", "PATH ", "PID ", "POD ", "SEVERITY ", "LINK ", "CONTAINER ")


def _header_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(HEADERS)]


# --------------------------------------------------------------------------- --no-headers


def test_no_headers_leaves_out_header_rows_and_nothing_else() -> None:
    full = cli(*NODE).stdout
    bare = cli(*NODE, "--no-headers").stdout
    assert len(_header_lines(full)) == 3 and _header_lines(bare) == []  # runtimes, shims, pods
    rows = [line.split()[0] for line in full.splitlines() if line.startswith("uid:")]
    assert rows and rows == [line.split()[0] for line in bare.splitlines() if line[:4] == "uid:"]
    assert "CONTAINERS" in bare  # section titles stay
    audit = cli("audit", "--manifests", MANIFESTS, "--no-headers", "--fail-on", "none").stdout
    assert audit.startswith("critical ") and "SEVERITY" not in audit and "----" not in audit
    fitted = cli(*NODE, "--no-headers", isatty=True, env={"COLUMNS": "100"}).stdout
    assert _header_lines(fitted) == [] and max(map(text_width, fitted.splitlines())) <= 100


# --------------------------------------------------------------------------- -o wide


@pytest.mark.parametrize(
    ("golden", "args"),
    [
        ("node-real-1.26.txt", NODE),
        ("pid-crio-3202.txt", ["pid", "3202", "--from", CRIO]),
        (
            "audit-manifests.txt",
            [
                "audit",
                "--manifests",
                "tests/fixtures/manifests/golden",
                "--ignore-file",
                "tests/fixtures/manifests/golden-ignore.yaml",
                "--fail-on",
                "none",
                *BUILTIN_ONLY,
            ],
        ),
    ],
)
def test_wide_on_a_terminal_prints_the_full_rows(golden: str, args: list[str]) -> None:
    args = [a.replace(str(REPO) + "/", "") for a in args]
    result = run_in_pty([*args, "-o", "wide"], columns=100)
    want = (GOLDEN / golden).read_text().replace("<REPO>", str(REPO))
    shown = "\n".join(result.lines)
    assert shown == want
    assert max(map(len, want.splitlines())) > 100


# --------------------------------------------------------------------------- jsonpath


def test_jsonpath_on_the_views() -> None:
    doc = cli(*NODE, "-o", "json").json()
    ids = cli(*NODE, "-o", 'jsonpath={range .containers[*]}{.id}{"\\n"}{end}')
    assert ids.returncode == 0 and ids.stdout.splitlines() == [c["id"] for c in doc["containers"]]
    assert cli(*NODE, "-o", "jsonpath={.kind}").stdout == "NodeReport"
    trace = ["pod", "db-0", "-n", "data", "--trace-runtime", "--from", CRIO]
    chain = cli(*trace, "-o", "json").json()
    got = cli(*trace, "-o", "jsonpath={.containers[*].container_id} {.sandbox.container_id}")
    assert got.stdout.split() == [
        *(c["container_id"] for c in chain["containers"]),
        chain["sandbox"]["container_id"],
    ]
    filtered = cli(*trace, "-o", 'jsonpath={.containers[0].links[?(@.name=="shim")].values.binary}')
    assert filtered.stdout == "conmon"
    pid = cli("pid", "3202", "--from", CRIO, "-o", "jsonpath={.container}").stdout
    assert pid.startswith("4eb25b7b7be8c")
    audit = cli("audit", "--manifests", MANIFESTS, "--fail-on", "none", "-o", "json").json()
    counted = cli(
        "audit", "--manifests", MANIFESTS, "--fail-on", "none", "-o", "jsonpath={.summary.findings}"
    )
    assert counted.stdout == str(audit["summary"]["findings"])


@pytest.mark.parametrize("template", ["jsonpath=", "jsonpath={.a", "jsonpath={range .a}"])
def test_a_bad_template_is_a_usage_error(template: str) -> None:
    result = cli(*NODE, "-o", template)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("inspect8s: error: ") and "jsonpath" in result.stderr


# --------------------------------------------------------------------------- help, timeout


@pytest.mark.parametrize("command", ["node", "pod", "pid", "audit", "record"])
def test_help_shows_one_timeout_default_and_only_printed_formats(command: str) -> None:
    text = cli(command, "--help", env={"COLUMNS": "200"}).stdout
    assert f"[default: {DEFAULT_TIMEOUT}; x>=0.1]" in " ".join(text.split())
    if command in ("node", "pod", "pid"):
        assert "table, wide, json, yaml, html or jsonpath=TEMPLATE" in " ".join(text.split())
        assert "sarif" not in text and "junit" not in text
    if command == "audit":
        assert "sarif, junit" in text


# --------------------------------------------------------------------------- -A and -l


def _queries(server: KubeServer, path: str) -> list[dict[str, list[str]]]:
    return [r.query for r in server.requests_for("GET") if r.path == path]


def test_all_namespaces_finds_the_pod_by_name_in_any_namespace(tmp_path: Path) -> None:
    with KubeServer() as server:
        server.agent = AgentScript(phases=("Succeeded",), logs=AGENT_OUTPUT.read_text())
        kubeconfig = str(server.kubeconfig(tmp_path / "config", namespace="default"))
        result = cli(
            "pod", "web-guaranteed", "-A", "--trace-runtime", "--kubeconfig", kubeconfig,
            "-o", "jsonpath={.api.namespace}/{.api.name}",
        )  # fmt: skip
        lists = _queries(server, "/api/v1/pods")
        posts = server.requests_for("POST")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "shop/web-guaranteed"
    assert lists and lists[0]["fieldSelector"] == ["metadata.name=web-guaranteed"]
    assert len(posts) == 1 and posts[0].body["spec"]["nodeName"] == "vm"
    both = cli("pod", "web-guaranteed", "-A", "-n", "shop", "--kubeconfig", kubeconfig)
    assert both.returncode == 2 and "cannot be combined" in both.stderr


def test_selector_traces_every_matching_pod(tmp_path: Path) -> None:
    with KubeServer() as server:
        server.agent = AgentScript(phases=("Succeeded",), logs=AGENT_OUTPUT.read_text())
        kubeconfig = str(server.kubeconfig(tmp_path / "config", namespace="shop"))
        result = cli(
            "pod", "-l", "app=frontend", "--trace-runtime", "--kubeconfig", kubeconfig,
            "-o", "json",
        )  # fmt: skip
        lists = _queries(server, "/api/v1/namespaces/shop/pods")
        created = len(server.requests_for("POST"))
        deleted = len(server.requests_for("DELETE"))
        left = dict(server.created)
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    assert doc["kind"] == "List"
    names = sorted(item["api"]["name"] for item in doc["items"])
    assert names == ["frontend-7b6b64b765-bfc4q", "frontend-7b6b64b765-lxbnp"]
    assert lists[0]["labelSelector"] == ["app=frontend"]
    assert created == deleted == 2 and left == {}


def test_selector_needs_the_api_and_a_name_or_selector() -> None:
    local = cli("pod", "-l", "app=web", "--local")
    assert local.returncode == 2 and "Kubernetes API" in local.stderr
    neither = cli("pod", "--local")
    assert neither.returncode == 2 and "-l/--selector" in neither.stderr
    audit = cli("audit", "--manifests", MANIFESTS, "-l", "app=web")
    assert audit.returncode == 2 and "--cluster or --kubeconfig" in audit.stderr


def test_cluster_audit_with_namespace_and_selector(tmp_path: Path) -> None:
    with KubeServer() as server:
        kubeconfig = str(server.kubeconfig(tmp_path / "config"))
        base = ["audit", "--cluster", "--kubeconfig", kubeconfig, "--fail-on", "none"]
        every = cli(*base, "-A", "-o", "json").json()
        narrowed = cli(*base, "-n", "shop", "-l", "app=frontend", "-o", "json").json()
        lists = _queries(server, "/api/v1/namespaces/shop/pods")
        subjects = cli(
            *base, "-n", "shop", "-l", "app!=frontend", "-o", "jsonpath={.findings[*].subject}"
        )
    pods = {
        f["subject"].split("/")[2] for f in narrowed["findings"] if f["subject"].startswith("Pod/")
    }
    assert pods == {"frontend-7b6b64b765-bfc4q", "frontend-7b6b64b765-lxbnp"}
    assert any(f["subject"].startswith("Pod/default/") for f in every["findings"])
    assert lists and lists[0]["labelSelector"] == ["app=frontend"]
    others = {s.split("/")[2] for s in subjects.stdout.split() if s.startswith("Pod/")}
    assert others and not any(name.startswith("frontend-") for name in others)
