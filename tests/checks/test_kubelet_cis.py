"""The CIS 1.12 kubelet checks on replay trees, recorded real nodes and a kubelet /configz.

The trees under tests/fixtures/kubelet/ (see their SOURCE.md) are audited with
``--root``; git keeps no modes or owners, so each test copies a tree and applies its
``modes.json`` first. The real-node fixtures are bundles replayed with ``--from``; the
/configz tests serve the recorded answers from tests/kubeserver.py to the real client.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from inspect8s.audit.registry import Check, CheckSettings, filter_checks, load_checks
from inspect8s.audit.results import AuditResult, Status
from inspect8s.audit.runner import run_checks
from inspect8s.collect.nodeaudit import collect_for_node
from inspect8s.model import Snapshot
from tests.clirun import cli
from tests.kubeserver import KubeServer, status_body

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "kubelet"
TREES = sorted(p.name for p in FIXTURES.iterdir() if (p / "modes.json").is_file())
REAL_NODE = FIXTURES / "real-node-1.28"
REAL_CRIO = FIXTURES / "real-crio-1.28.11"
SARIF_SCHEMA = json.loads((REPO / "tests/fixtures/schemas/sarif-schema-2.1.0.json").read_text())

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="the trees' files must be made root:root, and chown needs root"
)

# What the recorded kubelet (both real nodes: same flags and config file) is found doing.
RK_CONFIG = "/etc/rk-node/kubelet-config.yaml"
REAL_FINDINGS = {
    ("I8S-KUBELET-HOSTNAME-OVERRIDE", "node/vm/kubelet/--hostname-override", None),
    ("I8S-KUBELET-IPTABLES-CHAINS", "node/vm/kubelet/makeIPTablesUtilChains", f"{RK_CONFIG}:21"),
    ("I8S-KUBELET-CERT-ROTATION", "node/vm/kubelet/rotateCertificates", RK_CONFIG),
    ("I8S-KUBELET-TLS-CIPHERS", "node/vm/kubelet/tlsCipherSuites", RK_CONFIG),
    ("I8S-KUBELET-POD-PIDS", "node/vm/kubelet/podPidsLimit", RK_CONFIG),
    ("I8S-KUBELET-SECCOMP-DEFAULT", "node/vm/kubelet/seccompDefault", RK_CONFIG),
}


def cis_checks() -> tuple[Check, ...]:
    return filter_checks(load_checks(), benchmark="cis")


def prepared(name: str, tmp_path: Path) -> Path:
    """A copy of the tree's host root with the modes and owners of its modes.json."""
    root = tmp_path / name
    shutil.copytree(FIXTURES / name / "host", root, symlinks=True)
    for host_path, entry in json.loads((FIXTURES / name / "modes.json").read_text()).items():
        target = root / host_path.lstrip("/")
        os.chown(target, entry["uid"], entry["gid"])
        os.chmod(target, int(entry["mode"], 8))
    return root


def triples(result: AuditResult) -> set[tuple[str, str, str | None]]:
    return {
        (f.check_id, f.subject, f.location.text() if f.location else None) for f in result.findings
    }


def audit(snapshot: Snapshot, settings: CheckSettings | None = None) -> AuditResult:
    return run_checks(snapshot, cis_checks(), settings=settings)


def outcome(result: AuditResult, check_id: str) -> Any:
    return next(o for o in result.outcomes if o.check_id == check_id)


# --------------------------------------------------------------------------- the benchmark


def test_benchmark_cis_selects_exactly_the_24_items() -> None:
    found = {c.info.properties["cis"]: c.id for c in cis_checks()}
    items = [f"4.1.{n}" for n in range(1, 11)] + [f"4.2.{n}" for n in range(1, 15)]
    assert sorted(found) == sorted(items)
    assert all(c.info.properties["benchmark"] == "cis-1.12" for c in cis_checks())
    for c in cis_checks():  # the CIS number is in the rationale too
        assert f"CIS {c.info.properties['cis']}:" in c.info.rationale, c.id
    # protect-kernel-defaults is checked but is no CIS 1.12 item
    assert "I8S-KUBELET-PROTECT-KERNEL" not in found.values()
    assert filter_checks(load_checks(), benchmark="cis-1.12") == cis_checks()
    assert filter_checks(load_checks(), benchmark="cis-9.9") == ()


def test_trees_carry_their_sources() -> None:
    assert set(TREES) == {
        "default-kubelet-override",
        "kubeadm-safe",
        "kubeadm-unsafe",
        "loose-modes",
        "stopped-no-unit",
    }
    for name in [*TREES, REAL_NODE.name, REAL_CRIO.name]:
        assert (FIXTURES / name / "SOURCE.md").is_file(), name


# --------------------------------------------------------------------------- replay trees


@needs_root
@pytest.mark.parametrize("name", TREES)
def test_tree_gives_exactly_its_findings_with_file_and_line(name: str, tmp_path: Path) -> None:
    result = audit(collect_for_node(str(prepared(name, tmp_path))))
    want = {
        tuple(x) for x in json.loads((FIXTURES / name / "expected.json").read_text())["findings"]
    }
    assert triples(result) == want
    assert not [o for o in result.outcomes if o.status is Status.ERROR]


@needs_root
def test_safe_node_passes_every_item_it_can_judge(tmp_path: Path) -> None:
    result = audit(collect_for_node(str(prepared("kubeadm-safe", tmp_path))))
    assert result.findings == ()
    assert len(result.outcomes) == 24
    for o in result.outcomes:  # judged and passed, none skipped for lack of data
        assert o.status is Status.PASSED, (o.check_id, o.reason)


@needs_root
def test_default_kubelet_overrides_the_config_file_and_says_both(tmp_path: Path) -> None:
    snap = collect_for_node(str(prepared("default-kubelet-override", tmp_path)))
    kc = snap.node_config.kubelet if snap.node_config else None
    assert kc is not None and kc.flags_from == "cmdline"
    # the running command line is credited to the env file and variable that put it there
    flag = kc.flags["--anonymous-auth"]
    assert (flag.source, flag.line, flag.origin, flag.via) == (
        "/etc/default/kubelet",
        1,
        "env-file",
        "KUBELET_EXTRA_ARGS",
    )
    messages = {f.check_id: f.message for f in audit(snap).findings}
    port = messages["I8S-KUBELET-READONLY-PORT"]
    assert "readOnlyPort is 10255" in port
    assert "put there by /etc/default/kubelet:1, $KUBELET_EXTRA_ARGS" in port
    assert "overrides --read-only-port: 0" in port
    assert "/var/lib/kubelet/kubeadm-flags.env:1, $KUBELET_KUBEADM_ARGS" in port
    assert "readOnlyPort: 0 (/var/lib/kubelet/config.yaml:22, the --config file)" in port
    assert "remove --read-only-port=10255 from /etc/default/kubelet:1" in port
    anon = messages["I8S-KUBELET-ANON-AUTH"]
    assert "authentication.anonymous.enabled: false (/var/lib/kubelet/config.yaml:5" in anon
    assert "remove --anonymous-auth=true from /etc/default/kubelet:1" in anon


@needs_root
def test_unsafe_values_name_their_file_line_and_the_fix(tmp_path: Path) -> None:
    snap = collect_for_node(str(prepared("kubeadm-unsafe", tmp_path)))
    found = {f.check_id: f for f in audit(snap).findings}
    port = found["I8S-KUBELET-READONLY-PORT"].message
    assert "/etc/kubernetes/kubelet.conf.d/50-ports.conf:3, a --config-dir drop-in" in port
    assert "set readOnlyPort: 0" in port
    ciphers = found["I8S-KUBELET-TLS-CIPHERS"].message
    assert "TLS_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_3DES_EDE_CBC_SHA" in ciphers
    assert "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256," not in ciphers.split(";")[0].split(":")[-1]
    host = found["I8S-KUBELET-HOSTNAME-OVERRIDE"].message
    assert "would start with --hostname-override=worker-7" in host  # the kubelet is stopped
    assert "/etc/default/kubelet:1, $KUBELET_EXTRA_ARGS" in host
    for f in found.values():
        assert f.location is not None, f
    # kube-proxy runs in a pod there: its kubeconfig is not on the host's paths
    result = audit(snap)
    reason = outcome(result, "I8S-PROXY-KUBECONFIG-MODE").reason
    assert reason is not None and reason.startswith("kube-proxy (PID 900) runs in its own mount")


@needs_root
def test_loose_modes_say_the_mode_the_owner_and_the_command(tmp_path: Path) -> None:
    result = audit(collect_for_node(str(prepared("loose-modes", tmp_path))))
    by_key = {(f.check_id, f.subject.rsplit(":", 1)[-1]): f.message for f in result.findings}
    ca = by_key[("I8S-KUBELET-CLIENTCA-MODE", "/etc/kubernetes/pki/ca.crt")]
    assert "mode 0666, more than 0644 allows (group w too, others w too)" in ca
    assert "named by authentication.x509.clientCAFile, /var/lib/kubelet/config.yaml:10" in ca
    assert ca.endswith("run chmod 644 /etc/kubernetes/pki/ca.crt")
    drop = by_key[
        ("I8S-KUBELET-UNIT-OWNER", "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf")
    ]
    assert "owned by uid 1000, gid 1000, not root:root" in drop
    kubeconfig = by_key[("I8S-KUBELET-KUBECONFIG-MODE", "/etc/kubernetes/kubelet.conf")]
    assert "mode 0640" in kubeconfig and "$KUBELET_KUBECONFIG_ARGS" in kubeconfig


@needs_root
def test_modes_survive_record_and_replay(tmp_path: Path) -> None:
    from inspect8s.collect.record import record_node

    root = prepared("loose-modes", tmp_path)
    bundle = tmp_path / "bundle"
    record_node(str(bundle), root=str(root))
    stats = json.loads((bundle / "host-stat.json").read_text())
    assert stats["/etc/kubernetes/pki/ca.crt"] == {
        "gid": 1000,
        "kind": "file",
        "mode": 0o666,
        "size": len((root / "etc/kubernetes/pki/ca.crt").read_bytes()),
        "uid": 0,
    }
    # the bundle's own files carry other modes (wherever it was unpacked): the record wins
    (bundle / "host/var/lib/kubelet/config.yaml").chmod(0o600)
    live = triples(audit(collect_for_node(str(root))))
    assert triples(audit(collect_for_node("/", from_dirs=[str(bundle)]))) == live


def test_stopped_kubelet_without_unit_is_found_where_kubeadm_puts_it() -> None:
    from inspect8s.host.fs import HostFS
    from inspect8s.nodeconfig.kubelet import collect_kubelet_config

    errors: list[Any] = []
    kc = collect_kubelet_config(
        HostFS(str(FIXTURES / "stopped-no-unit" / "host")), None, errors, version="1.31.4"
    )
    assert kc is not None and errors == []
    assert kc.flags_from == "none" and kc.unit_files == ()
    assert kc.config_file == "/var/lib/kubelet/config.yaml"
    assert kc.config_named_by is not None and kc.config_named_by.origin == "known-location"
    roles = {f.role: f.path for f in kc.files}
    assert roles == {
        "config": "/var/lib/kubelet/config.yaml",
        "kubeconfig": "/etc/kubernetes/kubelet.conf",
        "client-ca": "/etc/kubernetes/pki/ca.crt",
    }
    assert kc.legacy_defaults is False  # the config file found makes the v1beta1 defaults apply


# --------------------------------------------------------------------------- no kubelet


def test_machine_without_kubelet_skips_every_kubelet_check_with_the_reason() -> None:
    from inspect8s.host.fs import HostFS
    from inspect8s.nodeconfig import collect_node_config

    config, _errors = collect_node_config(HostFS("/"), kubelet_cmdline=None)
    if config.kubelet is not None:
        pytest.skip("this machine has a kubelet unit or configuration")
    result = audit(Snapshot(node_config=config))
    assert result.findings == ()
    for o in result.outcomes:
        assert o.status is Status.SKIPPED, o
        if o.check_id.startswith("I8S-KUBELET-"):
            assert o.reason == "no kubelet on this node (no process, unit or configuration found)"


# --------------------------------------------------------------------------- recorded nodes


@pytest.mark.parametrize("bundle", [REAL_NODE, REAL_CRIO], ids=lambda p: p.name)
def test_recorded_real_kubelet_is_judged(bundle: Path) -> None:
    snap = collect_for_node("/", from_dirs=[str(bundle)])
    kc = snap.node_config.kubelet if snap.node_config else None
    assert kc is not None and kc.flags_from == "cmdline" and kc.version == "v1.28.0"
    result = audit(snap)
    assert triples(result) == REAL_FINDINGS
    reason = outcome(result, "I8S-KUBELET-CONFIG-MODE").reason
    assert reason == (
        "mode and owner unknown: /etc/rk-node/kubelet-config.yaml: unavailable: "
        "file mode not recorded in the bundle"
    )
    assert outcome(result, "I8S-KUBELET-ANON-AUTH").status is Status.PASSED
    assert outcome(result, "I8S-KUBELET-READONLY-PORT").status is Status.PASSED
    hostname = next(f for f in result.findings if f.check_id == "I8S-KUBELET-HOSTNAME-OVERRIDE")
    assert "the running kubelet's command line (no unit file passes it)" in hostname.message


# --------------------------------------------------------------------------- /configz


def _recorded_configz() -> bytes:
    return (REAL_NODE / "api" / "kubelet-configz-direct.json").read_bytes()


def _server() -> KubeServer:
    nodes = json.loads((REAL_NODE / "api" / "nodes.json").read_text())["items"]
    return KubeServer(pods=[], nodes=nodes)


def _joined(server: KubeServer, tmp_path: Path) -> Snapshot:
    from inspect8s.collect.cluster import Machine, join_node
    from inspect8s.kube.live import KubeAPI

    snap = collect_for_node("/", from_dirs=[str(REAL_NODE)])
    kubeconfig = str(server.kubeconfig(tmp_path / "kubeconfig"))
    with KubeAPI.from_config(kubeconfig=kubeconfig, timeout=5.0, environ={}) as api:
        return join_node(snap, api, machine=Machine(None, None), node_name="rk-node")


def test_configz_through_the_api_proxy_confirms_the_files(tmp_path: Path) -> None:
    with _server() as server:
        server.configz["rk-node"] = (200, _recorded_configz())
        snap = _joined(server, tmp_path)
        asked = [r.path for r in server.requests_for("GET", "/api/v1/nodes/rk-node/proxy")]
    assert asked == ["/api/v1/nodes/rk-node/proxy/configz"]
    live = snap.kubelet_configz
    assert live is not None and live.error is None
    assert live.get("authentication.anonymous.enabled") is not None
    assert live.get("podPidsLimit").value == -1  # type: ignore[union-attr]
    result = audit(snap)
    assert triples(result) == REAL_FINDINGS
    pids = next(f for f in result.findings if f.check_id == "I8S-KUBELET-POD-PIDS")
    assert "the running kubelet's /configz reports the same" in pids.message


def test_configz_that_differs_from_the_files_is_reported_as_the_running_value(
    tmp_path: Path,
) -> None:
    data = json.loads(_recorded_configz())
    data["kubeletconfig"]["readOnlyPort"] = 10255  # running: port open; files: 0
    data["kubeletconfig"]["makeIPTablesUtilChains"] = True  # running: fine; files: false
    with _server() as server:
        server.configz["rk-node"] = (200, json.dumps(data).encode())
        result = audit(_joined(server, tmp_path))
    port = next(f for f in result.findings if f.check_id == "I8S-KUBELET-READONLY-PORT")
    assert port.message.startswith(
        "readOnlyPort is 10255 in the running kubelet (its /configz through the API)"
    )
    assert "the node's files give 0" in port.message
    assert "restart" in port.message
    chains = [f for f in result.findings if f.check_id == "I8S-KUBELET-IPTABLES-CHAINS"]
    assert len(chains) == 1 and "/etc/rk-node/kubelet-config.yaml:21" in chains[0].message


def test_configz_refused_by_the_api_server_keeps_the_reason(tmp_path: Path) -> None:
    refused = (REAL_NODE / "api" / "kubelet-configz-proxy-400.json").read_bytes()
    with _server() as server:
        server.configz["rk-node"] = (400, refused)
        snap = _joined(server, tmp_path)
    live = snap.kubelet_configz
    assert live is not None and live.error == "400 address not allowed"
    sources = [e.source for e in snap.errors]
    assert "api:GET /api/v1/nodes/rk-node/proxy/configz" in sources
    assert triples(audit(snap)) == REAL_FINDINGS  # judged from the node's files


def test_configz_forbidden_names_the_permission(tmp_path: Path) -> None:
    message = (
        'nodes "rk-node" is forbidden: User "system:serviceaccount:default:audit" cannot get '
        'resource "nodes/proxy" in API group "" at the cluster scope'
    )
    body = json.dumps(status_body(403, message, "Forbidden", {"name": "rk-node"})).encode()
    with _server() as server:
        server.configz["rk-node"] = (403, body)
        snap = _joined(server, tmp_path)
    assert snap.kubelet_configz is not None
    assert snap.kubelet_configz.error == f"403 {message}"
    error = next(e for e in snap.errors if e.source.endswith("/proxy/configz"))
    assert "may not get nodes/proxy cluster-wide" in error.detail


# --------------------------------------------------------------------------- the CLI


def test_cli_benchmark_cis_sarif_carries_the_cis_numbers() -> None:
    proc = cli("audit", "--from", str(REAL_NODE), "--benchmark", "cis", "-o", "sarif")
    assert proc.returncode == 0, proc.stderr  # no finding at or above high
    doc = proc.json()
    jsonschema.validate(doc, SARIF_SCHEMA)
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert len(rules) == 24
    host = rules["I8S-KUBELET-HOSTNAME-OVERRIDE"]["properties"]
    assert (host["cis"], host["benchmark"]) == ("4.2.7", "cis-1.12")
    assert "CIS 4.2.7" in host["tags"]
    assert {r["ruleId"] for r in doc["runs"][0]["results"]} == {f[0] for f in REAL_FINDINGS}


def test_cli_configz_with_kubeconfig_says_which_source(tmp_path: Path) -> None:
    with _server() as server:
        server.configz["rk-node"] = (200, _recorded_configz())
        kubeconfig = server.kubeconfig(tmp_path / "kubeconfig")
        proc = cli(
            "audit", "--from", str(REAL_NODE), "--benchmark", "cis", "-o", "json",
            "--kubeconfig", str(kubeconfig), "--node", "rk-node",
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    messages = {f["checkId"]: f["message"] for f in proc.json()["findings"]}
    assert "the running kubelet's /configz reports the same" in messages["I8S-KUBELET-POD-PIDS"]
    assert set(messages) == {f[0] for f in REAL_FINDINGS}


def test_cli_unknown_benchmark_is_a_usage_error() -> None:
    proc = cli("audit", "--from", str(REAL_NODE), "--benchmark", "stig")
    assert proc.returncode == 2
    assert "benchmark stig: no check belongs to it (known: cis) (--benchmark)" in proc.stderr
    listed = cli("checks", "--benchmark", "cis", "-o", "json")
    assert listed.returncode == 0
    assert len(listed.json()["checks"]) == 24


def test_kubelet_without_config_file_is_judged_by_its_flag_defaults(tmp_path: Path) -> None:
    from inspect8s.host.fs import HostFS
    from inspect8s.model import NodeConfig
    from inspect8s.nodeconfig.kubelet import collect_kubelet_config

    cmd = ["/usr/bin/kubelet", "--kubeconfig=/etc/kubernetes/kubelet.conf", "--v=2"]
    kc = collect_kubelet_config(HostFS(str(tmp_path)), cmd, [], version="v1.26.15")
    assert kc is not None
    config = NodeConfig(kubelet=kc, containerd=None, crio=None, docker=None, crictl=None)
    found = {f.check_id: f for f in audit(Snapshot(node_config=config)).findings}
    anon = found["I8S-KUBELET-ANON-AUTH"].message
    assert anon.startswith("authentication.anonymous.enabled is true")
    assert "the default of kubelet v1.26.15, its flag default: the kubelet has no --config" in anon
    assert found["I8S-KUBELET-AUTHZ-ALWAYSALLOW"].message.startswith(
        "authorization.mode is 'AlwaysAllow'"
    )
    assert "readOnlyPort is 10255" in found["I8S-KUBELET-READONLY-PORT"].message
    # no file to point at: the findings say the default and the command line instead
    assert found["I8S-KUBELET-ANON-AUTH"].location is None
    # eventRecordQPS defaults to 5 before 1.27: valid, no finding
    assert "I8S-KUBELET-EVENT-QPS" not in found
    assert kc.get("eventRecordQPS").value == 5  # type: ignore[union-attr]
