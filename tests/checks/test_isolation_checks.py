"""The isolation spec checks: exact messages, subjects and the line of the field at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspect8s.audit.checks.isolation import image_tag
from inspect8s.audit.registry import load_checks
from inspect8s.audit.runner import audit_manifests

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checks"
CHECKS = {c.id: c for c in load_checks() if c.info.origin.startswith("inspect8s.")}


def findings(check_id: str, name: str) -> list[tuple[str, str, int | None]]:
    path = FIXTURES / check_id / name
    result = audit_manifests([str(path)], [CHECKS[check_id]])
    assert result.errors == ()
    return [
        (f.subject, f.message, f.location.line if f.location else None) for f in result.findings
    ]


def line_of(check_id: str, name: str, text: str) -> int:
    lines = (FIXTURES / check_id / name).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


@pytest.mark.parametrize(
    ("check_id", "name", "message", "points_at"),
    [
        (
            "I8S-SEC-RUNASROOT",
            "fail-run-as-user-0.yaml",
            "container 'app' runs as UID 0 (runAsUser: 0)",
            "runAsUser: 0",
        ),
        (
            "I8S-SEC-RUNASROOT",
            "fail-container-overrides-pod.yaml",
            "container 'app' sets no runAsUser and runAsNonRoot is false: it runs as the "
            "image's user, root unless the image says otherwise",
            "runAsNonRoot: false",
        ),
        (
            "I8S-SEC-RUNASROOT",
            "fail-no-user.yaml",
            "container 'app' sets no runAsUser and runAsNonRoot is not set: it runs as the "
            "image's user, root unless the image says otherwise",
            "- name: app",  # the field is missing: the container entry
        ),
        (
            "I8S-SEC-ROROOTFS",
            "fail-false.yaml",
            "container 'app': securityContext.readOnlyRootFilesystem is false",
            "readOnlyRootFilesystem: false",
        ),
        (
            "I8S-SEC-SECCOMP",
            "fail-privileged-with-profile.yaml",
            "container 'app' is privileged, so its seccomp profile RuntimeDefault is not "
            "applied: privileged containers run without seccomp",
            "privileged: true",
        ),
        (
            "I8S-SEC-SECCOMP",
            "fail-annotation-only.yaml",
            "container 'app' sets no seccompProfile (neither it nor the pod): no system-call "
            "filter unless the kubelet sets seccompDefault",
            "- name: app",
        ),
        (
            "I8S-SEC-IMAGETAG",
            "fail-latest-if-not-present.yaml",
            "container 'app' image 'registry.example/app:latest' uses the :latest tag; "
            "imagePullPolicy IfNotPresent keeps whatever image a node pulled first",
            "image: registry.example/app:latest",
        ),
        (
            "I8S-SEC-IMAGETAG",
            "fail-registry-port-no-tag.yaml",
            "container 'app' image 'localhost:5000/app' has no tag (so :latest)",
            "image: localhost:5000/app",
        ),
        (
            "I8S-SEC-PROCMOUNT",
            "fail-unmasked.yaml",
            "container 'app' sets securityContext.procMount: Unmasked",
            "procMount: Unmasked",
        ),
        (
            "I8S-SEC-HOSTPROCESS",
            "fail-pod-level.yaml",
            "container 'app' runs as a Windows HostProcess container",
            "- name: app",  # set at pod level: the container entry it applies to
        ),
        (
            "I8S-SEC-CAPS-INSECURE",
            "fail-adds-sys-chroot.yaml",
            "container 'app' adds SYS_CHROOT",
            "add: [SYS_CHROOT, NET_BIND_SERVICE]",
        ),
        (
            "I8S-SEC-CAPS-INSECURE",
            "fail-adds-net-raw-after-drop-all.yaml",
            "container 'app' adds NET_RAW",
            "add: [NET_RAW]",
        ),
        (
            "I8S-SEC-CAPS-INSECURE",
            "fail-keeps-net-raw.yaml",
            "container 'app' keeps NET_RAW (drops neither ALL nor NET_RAW)",
            "- name: app",
        ),
    ],
)
def test_container_findings_name_the_container_and_point_at_the_field(
    check_id: str, name: str, message: str, points_at: str
) -> None:
    [(subject, got, line)] = findings(check_id, name)
    assert subject.endswith("/container/app")
    assert got == message
    assert line == line_of(check_id, name, points_at)


def test_pod_level_findings_point_at_the_volume_or_pod_field() -> None:
    [(subject, message, line)] = findings("I8S-SEC-HOSTPATH", "fail-under-proc.yaml")
    assert subject == "DaemonSet/shop/agent"
    assert message == (
        "volume 'p' is hostPath /proc/sys/net (under /proc) (not mounted by any container)"
    )
    assert line == line_of("I8S-SEC-HOSTPATH", "fail-under-proc.yaml", "hostPath: {path:")
    [(_, message, _)] = findings("I8S-SEC-HOSTPATH", "fail-etc-read-only.yaml")
    assert message == "volume 'etc' is hostPath /etc (mounted by 'app' at /host/etc (ro))"
    [(subject, message, line)] = findings("I8S-SEC-SATOKEN", "fail-default-account-true.yaml")
    assert (subject, message) == (
        "Deployment/shop/web",
        "pod runs as the default service account with automountServiceAccountToken true",
    )
    assert line == line_of(
        "I8S-SEC-SATOKEN", "fail-default-account-true.yaml", "automountServiceAccountToken"
    )


def test_existing_checks_point_at_their_field_too() -> None:
    name = "fail-privileged.yaml"
    result = audit_manifests(
        [str(FIXTURES / "I8S-SEC-PRIVILEGED" / name)], [CHECKS["I8S-SEC-PRIVILEGED"]]
    )
    [finding] = result.findings
    assert finding.location is not None
    assert finding.location.line == line_of("I8S-SEC-PRIVILEGED", name, "privileged: true")
    result = audit_manifests(
        [str(FIXTURES / "I8S-SEC-HOSTPID" / "fail-hostPID.yaml")], [CHECKS["I8S-SEC-HOSTPID"]]
    )
    [finding] = result.findings
    assert finding.location is not None
    assert finding.location.line == line_of("I8S-SEC-HOSTPID", "fail-hostPID.yaml", "hostPID")


@pytest.mark.parametrize(
    ("image", "tag", "pinned"),
    [
        ("nginx", None, False),
        ("nginx:1.25", "1.25", False),
        ("localhost:5000/app", None, False),
        ("localhost:5000/app:2", "2", False),
        ("quay.io/a/b:latest@sha256:abc", "latest", True),
        ("a@sha256:abc", None, True),
        ("", None, False),
    ],
)
def test_image_tag(image: str, tag: str | None, pinned: bool) -> None:
    assert image_tag(image) == (tag, pinned)


def test_same_named_workloads_of_different_kinds_are_different_subjects(tmp_path: Path) -> None:
    doc = (
        "apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: agent, namespace: ops}}\n"
        "spec:\n  template:\n    spec:\n      hostPID: true\n"
        "      containers: [{{name: c, image: x:1}}]\n"
    )
    path = tmp_path / "both.yaml"
    path.write_text(doc.format(kind="Deployment") + "---\n" + doc.format(kind="DaemonSet"))
    result = audit_manifests([str(path)], [CHECKS["I8S-SEC-HOSTPID"]])
    assert result.subjects == 2
    assert [f.subject for f in result.findings] == ["DaemonSet/ops/agent", "Deployment/ops/agent"]
