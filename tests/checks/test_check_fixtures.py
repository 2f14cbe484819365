"""Every spec check against its pass and fail manifests (tests/fixtures/checks/<ID>/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspect8s.audit.registry import Check, load_checks
from inspect8s.audit.results import Scope, Status
from inspect8s.audit.runner import audit_manifests
from inspect8s.collect.manifests import ManifestReader, is_workload

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checks"
# built-in checks only: installed plugins (plugins/examples) have their own tests
CHECKS = {c.id: c for c in load_checks() if c.info.origin.startswith("inspect8s.")}


def _cases() -> list[tuple[str, Path]]:
    cases = []
    for directory in sorted(FIXTURES.iterdir()):
        if directory.is_dir():
            for file in sorted(directory.iterdir()):
                if file.name.startswith(("pass", "fail")):
                    cases.append((directory.name, file))
    return cases


CASES = _cases()


@pytest.mark.parametrize(("check_id", "path"), CASES, ids=[f"{c}/{p.name}" for c, p in CASES])
def test_fixture(check_id: str, path: Path) -> None:
    assert check_id in CHECKS, f"fixture directory {check_id} names no registered check"
    chk: Check = CHECKS[check_id]
    result = audit_manifests([str(path)], [chk])
    assert result.errors == (), result.errors
    assert result.subjects >= 1, "the fixture holds no workload"
    assert all(o.status in (Status.PASSED, Status.FAILED) for o in result.outcomes)
    ids = {f.check_id for f in result.findings}
    assert ids <= {check_id}
    kinds = {o.kind for o in ManifestReader([str(path)]) if is_workload(o)}
    if path.name.startswith("fail"):
        assert result.findings, f"{path.name} should fail {check_id}"
        lines = path.read_text().splitlines()
        for finding in result.findings:
            assert finding.location is not None
            assert finding.location.file == str(path)
            assert finding.subject.split("/", 1)[0] in kinds  # the workload's own kind
            assert finding.message
            # it points at a line of the document that holds a field, never past the end
            assert finding.location.line is not None
            assert 1 <= finding.location.line <= len(lines)
            assert lines[finding.location.line - 1].strip()
    else:
        assert result.findings == (), [f.message for f in result.findings]


@pytest.mark.parametrize("check_id", sorted(i for i, c in CHECKS.items() if c.scope is Scope.POD))
def test_every_pod_check_has_pass_and_fail_fixtures(check_id: str) -> None:
    names = [p.name for c, p in CASES if c == check_id]
    assert any(n.startswith("pass") for n in names), f"{check_id} has no pass fixture"
    assert any(n.startswith("fail") for n in names), f"{check_id} has no fail fixture"


def test_fixture_messages_name_the_problem() -> None:
    # spot checks on the exact wording users see
    def messages(check_id: str, name: str) -> list[str]:
        result = audit_manifests([str(FIXTURES / check_id / name)], [CHECKS[check_id]])
        return [f"{f.subject}: {f.message}" for f in result.findings]

    assert messages("I8S-SEC-CAPS", "fail-net-admin-ptrace-module.yaml") == [
        "Deployment/shop/vpn/container/app: container 'app' adds capabilities "
        "NET_ADMIN, SYS_MODULE, SYS_PTRACE"
    ]
    assert messages("I8S-WL-DOCKERSOCK", "fail-containerd-sock-ttrpc.yaml") == [
        "DaemonSet/shop/builder: volume 'host' is hostPath /run/containerd/containerd.sock.ttrpc "
        "(mounted by 'app' at /host)"
    ]
    assert messages("I8S-RES-MEMLIMIT", "fail-init-container.yaml") == [
        "Job/shop/migrate/container/wait: init container 'wait' sets no resources.limits.memory"
    ]
    assert messages("I8S-SEC-HOSTPORT", "fail-hostport.yaml") == [
        "Deployment/shop/ingress/container/app: container 'app' binds hostPort 80"
    ]
    [seccomp] = messages("I8S-WL-SECCOMP-ANN", "fail-container-annotation.yaml")
    assert "container.seccomp.security.alpha.kubernetes.io/app: runtime/default" in seccomp
    assert "docker/default" not in seccomp


def test_real_cluster_pods_yield_exactly_the_expected_findings() -> None:
    """All 9 pods of the recorded 1.26 cluster: the security findings are exactly those of
    legacy-builder (and the hostNetwork every pod there uses, for lack of a CNI)."""
    path = FIXTURES.parent / "manifests" / "real-pods-all.json"
    selected = [
        CHECKS[i]
        for i in (
            "I8S-WL-DOCKERSOCK",
            "I8S-WL-RUNTIMEDIR",
            "I8S-SEC-PRIVILEGED",
            "I8S-SEC-HOSTPID",
            "I8S-WL-SECCOMP-ANN",
            "I8S-SEC-HOSTNETWORK",
            "I8S-RES-MEMLIMIT",
        )
    ]
    result = audit_manifests([str(path)], selected)
    assert result.errors == ()
    assert result.subjects == 9
    got = {(f.check_id, f.subject) for f in result.findings if f.check_id != "I8S-SEC-HOSTNETWORK"}
    assert got == {
        ("I8S-WL-DOCKERSOCK", "Pod/shop/legacy-builder"),
        ("I8S-SEC-PRIVILEGED", "Pod/shop/legacy-builder/container/builder"),
        ("I8S-SEC-HOSTPID", "Pod/shop/legacy-builder"),
        ("I8S-WL-SECCOMP-ANN", "Pod/shop/legacy-builder"),
        # no memory limit (as recorded): legacy-builder, batch-besteffort, api-busybox, the
        # static pod and api-burstable's sidecar; frontend, hungry, web-guaranteed set one
        ("I8S-RES-MEMLIMIT", "Pod/shop/legacy-builder/container/builder"),
        ("I8S-RES-MEMLIMIT", "Pod/shop/batch-besteffort/container/job"),
        ("I8S-RES-MEMLIMIT", "Pod/shop/api-burstable/container/sidecar"),
        ("I8S-RES-MEMLIMIT", "Pod/default/api-busybox/container/busybox"),
        ("I8S-RES-MEMLIMIT", "Pod/default/static-busybox-vm/container/busybox"),
    }
    host_network = {f.subject for f in result.findings if f.check_id == "I8S-SEC-HOSTNETWORK"}
    assert len(host_network) == 9
    # List items keep their line in the file: each pod points at its own line
    lines = {f.location.line for f in result.findings if f.location}
    assert len(lines) > 1
