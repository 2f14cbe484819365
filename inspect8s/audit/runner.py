"""Run checks over a Snapshot and produce an AuditResult; the exit code an audit deserves.

    snapshot --run_checks(checks)--> AuditResult --render/*--> bytes
                                              \\--exit_code(fail_on)--> 0 | 1 | 3 | 4

A check that raises ``Skip`` is a skipped outcome; one that raises anything else is an
error outcome with the exception named: a broken check never crashes the audit.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import gc
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from inspect8s.audit.registry import (
    Check,
    CheckSettings,
    ContainerContext,
    FieldLocator,
    Skip,
    Violation,
)
from inspect8s.audit.results import (
    AuditResult,
    Finding,
    LeftOut,
    Location,
    Outcome,
    OutcomeTable,
    Scope,
    Severity,
    Status,
    outcome_key,
)
from inspect8s.errors import ExitStatus, ProbeError, ProbeFailed, UsageError
from inspect8s.model import OWN_POD_LABEL, KubeObject, Pod, Snapshot
from inspect8s.model.frozen import frozen

DEFAULT_FAIL_ON = Severity.HIGH


# --------------------------------------------------------------------------- subjects


def workload_kind(pod: Pod) -> str:
    """The kind a pod's findings are about: the workload a manifest pod was made from
    (``Deployment`` for a Deployment's template), else ``Pod``."""
    # collect.manifests makes a workload's pod with owner "<Kind>/<its own name>"; a pod
    # from the API (or a `kubectl get pods -o yaml` dump) is owned by a differently named
    # ReplicaSet, StatefulSet or node, and is the pod itself.
    if pod.source.startswith("manifest:") and pod.owner:
        kind, _, name = pod.owner.partition("/")
        if name == pod.name:
            return kind
    return "Pod"


def pod_subject(pod: Pod) -> str:
    """``<Kind>/<namespace>/<name>``: ``Deployment/shop/web``, ``Pod/kube-system/etcd-n1``."""
    return f"{workload_kind(pod)}/{pod.namespace}/{pod.name}"


def container_subject(pod: Pod, container: str) -> str:
    return f"{pod_subject(pod)}/container/{container}"


def node_subject(snapshot: Snapshot) -> str:
    """``node/<name>``: the probed node's hostname, else the (single) API node's name."""
    if snapshot.node is not None:
        return f"node/{snapshot.node.node.hostname}"
    if len(snapshot.kube_nodes) == 1:
        return f"node/{snapshot.kube_nodes[0].name}"
    return "node/unknown"


def object_subject(obj: KubeObject) -> str:
    """``<Kind>/<ns>/<name>``, or ``<Kind>/<name>`` for an object without a namespace
    (cluster-scoped kinds; the collectors put ``default`` on namespaced ones)."""
    name = obj.name or "(unnamed)"
    return f"{obj.kind}/{obj.namespace}/{name}" if obj.namespace else f"{obj.kind}/{name}"


def object_location(obj: KubeObject) -> Location | None:
    """The file, document and line of the object's ``apiVersion``; None: not from a file."""
    if obj.file is None:
        return None
    return Location(obj.file, obj.document_index, obj.line)


@frozen
class _NotRead:
    """An object source that failed: object checks are skipped on it, with the reason."""

    reason: str


def _resolve_subject(base: str, subject: str | None) -> str:
    # A subject starting with "node/" or a Kind ("Pod/...", "Deployment/...") replaces the
    # base; anything else ("container/app") is appended to it.
    if not subject:
        return base
    if subject.startswith("node/") or subject[:1].isupper():
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
                f"Pod/{container.pod_namespace}/{container.pod_name}/container/{container.name}"
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


# --------------------------------------------------------------------------- own pods


@frozen
class OwnPods:
    """The pods inspect8s made (its agent pods, its DaemonSet and Job), which an audit
    leaves out, and how to recognise anything of theirs in a finding's subject."""

    left_out: tuple[LeftOut, ...] = ()
    subjects: frozenset[str] = frozenset()  # "Pod/<ns>/<name>"
    uids: frozenset[str] = frozenset()
    tails: frozenset[str] = frozenset()  # "container/<id12>", "process/<pid>" of theirs

    def covers(self, subject: str) -> bool:
        """True for a subject that is one of these pods or something of theirs."""
        if subject in self.subjects or any(subject.startswith(s + "/") for s in self.subjects):
            return True
        if subject.startswith("node/") and subject.count("/") >= 2:
            subject = subject.split("/", 2)[2]  # node/<host>/container/<id> -> container/<id>
        return subject in self.tails


def own_pods(snapshot: Snapshot) -> OwnPods:
    """The pods of ``snapshot`` carrying ``OWN_POD_LABEL``: API or ``--pods`` pods by
    their labels, pods seen only on the node by their sandbox's labels (the kubelet copies
    a pod's labels onto its CRI sandbox), with their containers and processes."""
    key, value = OWN_POD_LABEL
    reason = f"created by inspect8s (label {key}={value}): an agent does not judge itself"
    names: dict[str, str | None] = {}  # subject -> pod UID
    for pod in snapshot.pods:
        if pod.labels.get(key) == value:
            names[pod_subject(pod)] = pod.uid
    containers = snapshot.node.containers if snapshot.node is not None else ()
    for c in containers:
        if c.is_sandbox and c.labels.get(key) == value and c.pod_namespace and c.pod_name:
            names.setdefault(f"Pod/{c.pod_namespace}/{c.pod_name}", c.pod_uid)
    if not names:
        return OwnPods()
    uids = frozenset(uid for uid in names.values() if uid)
    tails: set[str] = set()
    for c in containers:
        if (c.pod_uid and c.pod_uid in uids) or f"Pod/{c.pod_namespace}/{c.pod_name}" in names:
            tails.add(f"container/{c.id[:12]}")
            tails.update(f"process/{pid}" for pid in c.pids)
    return OwnPods(
        left_out=tuple(LeftOut(subject, reason) for subject in sorted(names)),
        subjects=frozenset(names),
        uids=uids,
        tails=frozenset(tails),
    )


def _is_own(item: Any, subject: str, own: OwnPods) -> bool:
    if isinstance(item, Pod):
        uid = item.uid
    elif isinstance(item, ContainerContext) and item.container is not None:
        uid = item.container.pod_uid
    else:
        uid = None
    return (uid is not None and uid in own.uids) or own.covers(subject)


# --------------------------------------------------------------------------- ignore file


@frozen
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
) -> Iterator[tuple[int | None, Any, str, Location | None]]:
    if check.scope is Scope.POD:
        for i, pod in enumerate(snapshot.pods):
            yield i, pod, pod_subject(pod), pod_locations.get(i)
    elif check.scope is Scope.CONTAINER:
        for ctx in container_contexts(snapshot):
            yield None, ctx, ctx.subject, None
    elif check.scope is Scope.OBJECT:
        for obj in snapshot.objects:
            yield None, obj, object_subject(obj), object_location(obj)
        for source in snapshot.unread_sources:
            reason = f"{source.name} could not be read: {source.reason}"
            yield None, _NotRead(reason), f"source/{source.name}", None
    elif check.scope is Scope.CLUSTER:
        if snapshot.api_server is not None:
            yield None, snapshot, "cluster", None
    else:
        yield None, snapshot, node_subject(snapshot), None


def _suppression(finding: Finding, rules: Sequence[IgnoreRule]) -> str | None:
    for rule in rules:
        if rule.matches(finding):
            return rule.reason
    return None


def _evaluate(
    chk: Check,
    item: Any,
    subject: str,
    location: Location | None,
    settings: CheckSettings,
    ignore: Sequence[IgnoreRule],
    fields: FieldLocator | None,
    strings: dict[str, str] | None = None,
) -> tuple[Status, str | None, list[Finding]]:
    """One check on one item: (status, Skip or error reason, findings sorted).

    ``strings`` interns subjects and messages: a stream of many workloads repeats the same
    ones ("container 'app' sets no resources.limits.cpu") and keeps one copy of each.
    """
    try:
        violations: list[Violation] = chk.run(item, settings)
    except Skip as skip:
        return Status.SKIPPED, skip.reason, []
    except Exception as exc:  # a broken check is an error outcome, never a crash
        return Status.ERROR, f"{type(exc).__name__}: {exc}", []
    if not violations:
        return Status.PASSED, None, []
    found: list[Finding] = []
    for v in violations:
        where = v.location
        if where is None and v.field is not None and fields is not None:
            where = fields.location(v.field)
        named = _resolve_subject(subject, v.subject)
        message = v.message
        if strings is not None:
            named = strings.setdefault(named, named)
            message = strings.setdefault(message, message)
        finding = Finding(
            check_id=chk.id,
            title=chk.info.title,
            severity=chk.severity,
            subject=named,
            message=message,
            location=where or location,
        )
        if ignore:
            accepted = _suppression(finding, ignore)
            if accepted is not None:
                finding = dataclasses.replace(finding, suppressed=accepted)
        found.append(finding)
    if len(found) > 1:
        found.sort(key=Finding.sort_key)
    return Status.FAILED, None, found


def _result(
    checks: Sequence[Check],
    outcomes: list[Outcome] | OutcomeTable,
    findings: list[Finding],
    errors: Iterable[ProbeError],
    subjects: int,
    settings: CheckSettings,
    target: str,
    inputs: Sequence[str],
    documents: int | None,
    left_out: tuple[LeftOut, ...] = (),
    presorted: bool = False,
) -> AuditResult:
    if isinstance(outcomes, list):
        outcomes.sort(key=outcome_key)
    if not presorted:
        findings.sort(key=Finding.sort_key)
    return AuditResult(
        target=target,
        inputs=tuple(inputs),
        checks=tuple(sorted((c.info for c in checks), key=lambda i: i.id)),
        outcomes=tuple(outcomes) if isinstance(outcomes, list) else outcomes,
        findings=tuple(findings),
        errors=tuple(sorted(errors, key=lambda e: (e.source, e.detail))),
        subjects=subjects,
        documents=documents,
        settings=_settings_shown(settings),
        left_out=left_out,
    )


def _settings_shown(settings: CheckSettings) -> dict[str, str]:
    shown: dict[str, str] = {}
    if settings.target_version:
        shown["targetVersion"] = settings.target_version
        if settings.target_source:
            shown["targetVersionFrom"] = settings.target_source
    if settings.versions_files:
        shown["versionsFiles"] = ", ".join(settings.versions_files)
    return shown


def run_checks(
    snapshot: Snapshot,
    checks: Iterable[Check],
    *,
    settings: CheckSettings | None = None,
    pod_locations: Mapping[int, Location] | None = None,
    pod_fields: Mapping[int, FieldLocator] | None = None,
    ignore: Sequence[IgnoreRule] = (),
    target: str = "node",
    inputs: Sequence[str] = (),
    documents: int | None = None,
    leave_out_own: bool = False,
) -> AuditResult:
    """Run every check on every subject of its scope and collect the result.

    ``pod_locations`` maps an index of ``snapshot.pods`` to its manifest location (findings
    on that pod point there unless a violation names its own); ``pod_fields`` maps it to
    the lines of its fields, for violations that name a ``field``. ``ignore`` rules mark
    matching findings as suppressed (kept, but not counted for ``--fail-on``).
    ``leave_out_own`` (node and cluster audits): inspect8s's own pods (:func:`own_pods`)
    are not checked, findings of node checks about them are dropped, and the result's
    ``left_out`` names them.
    """
    own = own_pods(snapshot) if leave_out_own else OwnPods()
    settings = settings or CheckSettings()
    locations = pod_locations or {}
    fields = pod_fields or {}
    checks = tuple(checks)
    findings: list[Finding] = []
    outcomes: list[Outcome] = []
    subjects: set[str] = set()
    for chk in checks:
        for index, item, subject, location in _items(chk, snapshot, locations):
            if isinstance(item, _NotRead):
                outcomes.append(Outcome(chk.id, subject, Status.SKIPPED, item.reason, location))
                continue
            if own.left_out and _is_own(item, subject, own):
                continue
            subjects.add(subject)
            locator = fields.get(index) if index is not None else None
            status, reason, found = _evaluate(
                chk, item, subject, location, settings, ignore, locator
            )
            if own.left_out and any(own.covers(f.subject) for f in found):
                # a node check's finding about an own pod's container or process
                found = [f for f in found if not own.covers(f.subject)]
                status = Status.FAILED if found else Status.PASSED
            outcomes.append(Outcome(chk.id, subject, status, reason, location, tuple(found)))
            findings.extend(found)
    return _result(
        checks,
        outcomes,
        findings,
        snapshot.errors,
        len(subjects),
        settings,
        target,
        inputs,
        documents,
        own.left_out,
    )


def audit_manifests(
    paths: Sequence[str],
    checks: Iterable[Check],
    *,
    settings: CheckSettings | None = None,
    ignore: Sequence[IgnoreRule] = (),
    stdin: IO[Any] | None = None,
    max_file_bytes: int | None = None,
    progress: Callable[[str, int, int | None, int], None] | None = None,
) -> AuditResult:
    """Audit manifest files and directories with the pod- and object-scope checks among
    ``checks``.

    The files are streamed (``collect.manifests.ManifestReader``): each workload is checked
    as soon as it is read and only its findings and outcomes are kept, so memory grows with
    what is found, not with the size of the input. ``max_file_bytes`` caps each file (None:
    the reader's default); ``progress`` is passed to the reader. Every object, workload or
    not, also goes through the object checks (the API version checks); without a target
    version they judge against the newest release the API version table knows, and the
    result's settings say so.
    """
    from inspect8s.collect.manifest_objects import ObjectCollector
    from inspect8s.collect.manifests import DEFAULT_MAX_FILE_BYTES, ManifestReader, workload_pod

    settings = default_target(settings or CheckSettings(), None)
    checks = tuple(checks)
    pod_checks = [c for c in checks if c.scope is Scope.POD]
    object_checks = [c for c in checks if c.scope is Scope.OBJECT]
    as_object = ObjectCollector().convert
    reader = ManifestReader(
        paths,
        stdin=stdin,
        max_file_bytes=max_file_bytes or DEFAULT_MAX_FILE_BYTES,
        progress=progress,
    )
    findings: list[Finding] = []
    outcomes = OutcomeTable([c.id for c in (*pod_checks, *object_checks)])
    errors: list[ProbeError] = []
    subjects: set[str] = set()
    strings: dict[str, str] = {}
    repeated = False  # a subject seen in two documents (the same object given twice)
    thresholds = gc.get_threshold()
    # Millions of small objects that live to the end: collect the young ones less often.
    gc.set_threshold(max(thresholds[0], 20_000), thresholds[1], thresholds[2])

    def check_all(
        checked: Sequence[Check],
        item: Any,
        subject: str,
        location: Location | None,
        fields: FieldLocator | None,
        mine: list[Finding],
    ) -> None:
        row = outcomes.add_row(subject, location)
        for chk in checked:
            status, reason, found = _evaluate(
                chk, item, subject, location, settings, ignore, fields, strings
            )
            if status is Status.PASSED:
                outcomes.passed(row, chk.id)
            elif status is Status.FAILED:
                outcomes.failed(row, chk.id, found)
                mine.extend(found)
            else:
                outcomes.add(Outcome(chk.id, subject, status, reason, location))

    try:
        for obj in reader:
            mine: list[Finding] = []
            named: set[str] = set()
            kube_object = as_object(obj) if object_checks else None
            if kube_object is not None:
                subject = object_subject(kube_object)
                named.add(subject)
                check_all(
                    object_checks, kube_object, subject, object_location(kube_object), None, mine
                )
            try:
                made = workload_pod(obj)
            except ProbeFailed as exc:
                errors.append(exc.record())
                made = None
            if made is not None:
                pod, fields = made
                subject = pod_subject(pod)
                named.add(subject)
                check_all(pod_checks, pod, subject, fields.start(), fields, mine)
            repeated = repeated or not named.isdisjoint(subjects)
            subjects.update(named)
            mine.sort(key=Finding.sort_key)
            findings.extend(mine)
    finally:
        gc.set_threshold(*thresholds)
    # Each object's findings are sorted already and their subjects start with its own
    # "<Kind>/<ns>/<name>": a stable sort by subject alone gives the full order, without a
    # key tuple per finding. The same object given twice interleaves: sort fully then.
    if not repeated:
        findings.sort(key=operator.attrgetter("subject"))
    return _result(
        [*pod_checks, *object_checks],
        outcomes,
        findings,
        [*reader.errors, *errors],
        len(subjects),
        settings,
        "manifests",
        paths,
        reader.documents,
        presorted=not repeated,
    )


def default_target(settings: CheckSettings, server_version: str | None) -> CheckSettings:
    """``settings`` with the target version filled in when none was given: the API
    server's version (``server_version``, "v1.29.3"), else the newest release the API
    version table knows. ``target_source`` says which, for the report."""
    import dataclasses

    from inspect8s.audit.checks.versions import kube_minor

    if settings.target_version is not None:
        if settings.target_source is None:
            return dataclasses.replace(settings, target_source="--target-version")
        return settings
    minor = kube_minor(server_version)
    if minor is not None:
        return dataclasses.replace(
            settings,
            target_version=f"1.{minor}",
            target_source=f"the API server ({server_version})",
        )
    from inspect8s.audit.apitable import load_table, show

    newest = show(load_table(tuple(settings.versions_files)).newest)
    return dataclasses.replace(
        settings,
        target_version=newest,
        target_source="the newest release in the API version table; pass --target-version",
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
