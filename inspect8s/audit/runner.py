"""Run checks over a Snapshot and produce an AuditResult; the exit code an audit deserves.

    snapshot --run_checks(checks)--> AuditResult --render/*--> bytes
                                              \\--exit_code(fail_on)--> 0 | 1 | 3 | 4

A check that raises ``Skip`` is a skipped outcome; one that raises anything else is an
error outcome with the exception named: a broken check never crashes the audit.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from inspect8s.audit.registry import Check, CheckSettings, ContainerContext, Skip, Violation
from inspect8s.audit.results import (
    AuditResult,
    Finding,
    Location,
    Outcome,
    Scope,
    Severity,
    Status,
)
from inspect8s.errors import ExitStatus, UsageError
from inspect8s.model import Pod, Snapshot

DEFAULT_FAIL_ON = Severity.HIGH


# --------------------------------------------------------------------------- subjects


def pod_subject(pod: Pod) -> str:
    return f"pod/{pod.namespace}/{pod.name}"


def container_subject(pod: Pod, container: str) -> str:
    return f"{pod_subject(pod)}/container/{container}"


def node_subject(snapshot: Snapshot) -> str:
    """``node/<name>``: the probed node's hostname, else the (single) API node's name."""
    if snapshot.node is not None:
        return f"node/{snapshot.node.node.hostname}"
    if len(snapshot.kube_nodes) == 1:
        return f"node/{snapshot.kube_nodes[0].name}"
    return "node/unknown"


def _resolve_subject(base: str, subject: str | None) -> str:
    if not subject:
        return base
    if subject.startswith(("pod/", "node/")):
        return subject
    return f"{base}/{subject.lstrip('/')}"


# --------------------------------------------------------------------------- container hook


def container_contexts(snapshot: Snapshot) -> Iterator[ContainerContext]:
    """HOOK (container checks): one context per non-sandbox container seen on the node.

    Joins the node probe's containers (``snapshot.node.containers``) to pod specs by pod
    UID and container name, and to traces by container ID. Containers no pod claims get
    the subject ``container/<id>``. The node-probe owner may refine the join; checks see
    only :class:`ContainerContext`.
    """
    if snapshot.node is None:
        return
    pods_by_uid = {p.uid: p for p in snapshot.pods if p.uid}
    traces = {
        t.container_id: t for chain in snapshot.traces for t in chain.containers if t.container_id
    }
    for container in snapshot.node.containers:
        if container.is_sandbox:
            continue
        pod = pods_by_uid.get(container.pod_uid) if container.pod_uid else None
        spec = None
        if pod is not None and container.name is not None:
            spec = next((c for c in pod.containers if c.name == container.name), None)
        if pod is not None and container.name:
            subject = container_subject(pod, container.name)
        elif container.pod_namespace and container.pod_name and container.name:
            subject = (
                f"pod/{container.pod_namespace}/{container.pod_name}/container/{container.name}"
            )
        else:
            subject = f"container/{container.id[:12]}"
        yield ContainerContext(
            subject=subject,
            snapshot=snapshot,
            pod=pod,
            spec=spec,
            container=container,
            trace=traces.get(container.id),
        )


# --------------------------------------------------------------------------- node hook


def collect_for_node(
    root: str,
    *,
    from_dirs: Sequence[str] = (),
    timeout: float = 5.0,
    cri_endpoints: Sequence[str] = (),
    docker_hosts: Sequence[str] = (),
    kubelet_version: str | None = None,
) -> Snapshot:
    """HOOK (node audit): collect the Snapshot that ``inspect8s audit`` checks on a node.

    ``root`` is ``--root`` (host files under it), ``from_dirs`` the ``--from`` bundles
    written by ``inspect8s record``, ``timeout`` the per-call deadline; ``cri_endpoints``
    and ``docker_hosts`` are extra runtime sockets, ``kubelet_version`` overrides the
    detected kubelet version. Probe failures are in ``errors`` (never raised for one
    source). Implemented in :mod:`inspect8s.collect.nodeaudit`.
    """
    from inspect8s.collect.nodeaudit import collect_for_node as collect

    return collect(
        root,
        from_dirs=from_dirs,
        timeout=timeout,
        cri_endpoints=cri_endpoints,
        docker_hosts=docker_hosts,
        kubelet_version=kubelet_version,
    )


# --------------------------------------------------------------------------- ignore file


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """An accepted finding: check ID (glob) and subject (glob), with the reason it is OK."""

    id: str
    subject: str
    reason: str

    def matches(self, finding: Finding) -> bool:
        return fnmatch.fnmatchcase(finding.check_id, self.id) and fnmatch.fnmatchcase(
            finding.subject, self.subject
        )


def parse_ignore_rules(
    data: Any, source: str, *, param: str | None = None
) -> tuple[IgnoreRule, ...]:
    """The ignore file's content -> rules. Raises UsageError (exit 2) on a bad entry.

    Shape: a YAML list (or ``{"ignore": [...]}``) of ``{id, subject, reason}``; ``id`` and
    ``subject`` are shell-style globs (``I8S-RES-*``, ``pod/kube-system/*``), ``subject``
    defaults to ``*``; ``reason`` is required.
    """
    if isinstance(data, Mapping) and "ignore" in data:
        data = data["ignore"]
    if data is None:
        return ()
    if not isinstance(data, list):
        raise UsageError(
            f"{source}: expected a list of {{id, subject, reason}} entries", param=param
        )
    rules = []
    for n, entry in enumerate(data, start=1):
        if not isinstance(entry, Mapping):
            raise UsageError(f"{source}: entry {n} is not a mapping", param=param)
        unknown = set(entry) - {"id", "subject", "reason"}
        if unknown:
            raise UsageError(
                f"{source}: entry {n}: unknown keys {', '.join(sorted(unknown))}", param=param
            )
        rule_id = entry.get("id")
        reason = entry.get("reason")
        subject = entry.get("subject", "*")
        if not isinstance(rule_id, str) or not rule_id.strip():
            raise UsageError(f"{source}: entry {n} has no id", param=param)
        if not isinstance(reason, str) or not reason.strip():
            raise UsageError(f"{source}: entry {n} ({rule_id}) has no reason", param=param)
        if not isinstance(subject, str) or not subject.strip():
            raise UsageError(
                f"{source}: entry {n} ({rule_id}): subject must be a string", param=param
            )
        rules.append(
            IgnoreRule(id=rule_id.strip().upper(), subject=subject.strip(), reason=reason.strip())
        )
    return tuple(rules)


def load_ignore_file(path: str) -> tuple[IgnoreRule, ...]:
    """Read an ignore file (YAML); a missing or invalid file is a usage error (exit 2)."""
    import yaml

    param = "ignore_file"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"ignore file {path}: {exc.strerror or exc}", param=param) from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"ignore file {path}: not UTF-8 text", param=param) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"ignore file {path}: invalid YAML: {exc}", param=param) from exc
    return parse_ignore_rules(data, f"ignore file {path}", param=param)


# --------------------------------------------------------------------------- running


def _items(
    check: Check, snapshot: Snapshot, pod_locations: Mapping[int, Location]
) -> Iterator[tuple[Any, str, Location | None]]:
    if check.scope is Scope.POD:
        for i, pod in enumerate(snapshot.pods):
            yield pod, pod_subject(pod), pod_locations.get(i)
    elif check.scope is Scope.CONTAINER:
        for ctx in container_contexts(snapshot):
            yield ctx, ctx.subject, None
    else:
        yield snapshot, node_subject(snapshot), None


def _suppression(finding: Finding, rules: Sequence[IgnoreRule]) -> str | None:
    for rule in rules:
        if rule.matches(finding):
            return rule.reason
    return None


def run_checks(
    snapshot: Snapshot,
    checks: Iterable[Check],
    *,
    settings: CheckSettings | None = None,
    pod_locations: Mapping[int, Location] | None = None,
    ignore: Sequence[IgnoreRule] = (),
    target: str = "node",
    inputs: Sequence[str] = (),
    documents: int | None = None,
) -> AuditResult:
    """Run every check on every subject of its scope and collect the result.

    ``pod_locations`` maps an index of ``snapshot.pods`` to its manifest location (findings
    on that pod point there unless a violation names its own). ``ignore`` rules mark
    matching findings as suppressed (kept, but not counted for ``--fail-on``).
    """
    settings = settings or CheckSettings()
    locations = pod_locations or {}
    checks = tuple(checks)
    findings: list[Finding] = []
    outcomes: list[Outcome] = []
    subjects: set[str] = set()
    for chk in checks:
        for item, subject, location in _items(chk, snapshot, locations):
            subjects.add(subject)
            try:
                violations: list[Violation] = chk.run(item, settings)
            except Skip as skip:
                outcomes.append(Outcome(chk.id, subject, Status.SKIPPED, skip.reason, location))
                continue
            except Exception as exc:  # a broken check is an error outcome, never a crash
                reason = f"{type(exc).__name__}: {exc}"
                outcomes.append(Outcome(chk.id, subject, Status.ERROR, reason, location))
                continue
            found: list[Finding] = []
            for v in violations:
                finding = Finding(
                    check_id=chk.id,
                    title=chk.info.title,
                    severity=chk.severity,
                    subject=_resolve_subject(subject, v.subject),
                    message=v.message,
                    location=v.location or location,
                )
                if ignore:
                    accepted = _suppression(finding, ignore)
                    if accepted is not None:
                        finding = Finding(
                            finding.check_id,
                            finding.title,
                            finding.severity,
                            finding.subject,
                            finding.message,
                            finding.location,
                            suppressed=accepted,
                        )
                found.append(finding)
            found.sort(key=Finding.sort_key)
            findings.extend(found)
            status = Status.FAILED if found else Status.PASSED
            outcomes.append(Outcome(chk.id, subject, status, None, location, tuple(found)))
    outcomes.sort(key=lambda o: (o.check_id, o.subject, o.location.text() if o.location else ""))
    findings.sort(key=Finding.sort_key)
    return AuditResult(
        target=target,
        inputs=tuple(inputs),
        checks=tuple(sorted((c.info for c in checks), key=lambda i: i.id)),
        outcomes=tuple(outcomes),
        findings=tuple(findings),
        errors=tuple(sorted(snapshot.errors, key=lambda e: (e.source, e.detail))),
        subjects=len(subjects),
        documents=documents,
        settings=({"targetVersion": settings.target_version} if settings.target_version else {}),
    )


def audit_manifests(
    paths: Sequence[str],
    checks: Iterable[Check],
    *,
    settings: CheckSettings | None = None,
    ignore: Sequence[IgnoreRule] = (),
    stdin: TextIO | None = None,
    on_progress: Callable[[str, int, int | None], None] | None = None,
) -> AuditResult:
    """Audit manifest files and directories with the pod-scope checks among ``checks``
    (``on_progress``: told the files and documents read so far)."""
    from inspect8s.collect.manifests import load_manifests

    found = load_manifests(paths, stdin=stdin, on_progress=on_progress)
    snapshot = Snapshot(pods=found.pods, errors=found.errors)
    pod_checks = [c for c in checks if c.scope is Scope.POD]
    return run_checks(
        snapshot,
        pod_checks,
        settings=settings,
        pod_locations=dict(enumerate(found.locations)),
        ignore=ignore,
        target="manifests",
        inputs=paths,
        documents=found.documents,
    )


# --------------------------------------------------------------------------- exit code


def exit_code(
    result: AuditResult, fail_on: Severity | None = DEFAULT_FAIL_ON, require_complete: bool = False
) -> ExitStatus:
    """The exit status of docs/exit-codes.md for this result.

    4  nothing could be audited: probes failed and no subject was checked;
    1  an active (not suppressed) finding at or above ``fail_on`` (None: never);
    3  with ``require_complete``: a probe failed, or a check was skipped or errored;
    0  otherwise.
    The first that applies wins, in this order.
    """
    if result.errors and result.subjects == 0:
        return ExitStatus.TOOL_ERROR
    if fail_on is not None and any(f.severity.rank >= fail_on.rank for f in result.active_findings):
        return ExitStatus.FINDINGS
    if require_complete and not result.complete:
        return ExitStatus.INCOMPLETE
    return ExitStatus.OK
