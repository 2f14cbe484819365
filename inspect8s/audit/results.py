"""What an audit produces: severities, findings, per-check outcomes and the whole result.

These are plain frozen records. ``audit.py`` makes them; renderers in ``render/`` turn them
into bytes; ``audit.exit_code`` turns them into the exit code documented in
docs/exit-codes.md. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from inspect8s.errors import ProbeError


class Severity(StrEnum):
    """How bad a finding is; ``--fail-on`` compares against this order."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for info up to 4 for critical."""
        return _SEVERITY_ORDER.index(self)

    @classmethod
    def parse(cls, text: str) -> Severity:
        """The severity named ``text`` (case-insensitive); ValueError when there is none."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r} (one of: {names})") from None


_SEVERITY_ORDER: tuple[Severity, ...] = tuple(Severity)


class Scope(StrEnum):
    """What one call of a check looks at, and so what the check function receives.

    pod:        a ``model.Pod`` (from the API or from a manifest);
    container:  a ``checks.registry.ContainerContext`` (spec joined with host truth);
    node:       the whole ``model.Snapshot``;
    object:     a ``model.KubeObject``: an object of any kind (manifests, the API, Helm);
    cluster:    the whole ``model.Snapshot``, once, when an API server was asked.
    """

    POD = "pod"
    CONTAINER = "container"
    NODE = "node"
    OBJECT = "object"
    CLUSTER = "cluster"


class Status(StrEnum):
    """The outcome of one check on one subject."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # the check raised Skip(reason): it lacked the data to decide
    ERROR = "error"  # the check raised something unexpected (a bug in the check)


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding comes from in a file: a manifest document or a config file line.

    ``document_index`` is 0-based (the n-th YAML document of the file); None: not a
    multi-document source. ``line`` is 1-based; None: unknown.
    """

    file: str
    document_index: int | None = None
    line: int | None = None

    def text(self) -> str:
        out = self.file
        if self.document_index is not None:
            out += f"#{self.document_index}"
        if self.line is not None:
            out += f":{self.line}"
        return out


@dataclass(frozen=True, slots=True)
class CheckInfo:
    """The description of a check, as renderers show it (no function attached)."""

    id: str
    title: str
    severity: Severity
    scope: Scope
    rationale: str  # the check's docstring, dedented
    origin: str  # where it was loaded from: "inspect8s.audit.checks.pods", "path:/x/y.py", ...
    # Metadata from @check(properties=...), e.g. {"benchmark": "cis-1.12", "cis": "4.2.1"};
    # SARIF puts it in the rule's properties bag.
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """The first paragraph of the rationale, on one line."""
        first = self.rationale.strip().split("\n\n", 1)[0]
        return " ".join(first.split())


@dataclass(frozen=True, slots=True)
class Finding:
    """One violation of one check by one subject.

    ``subject`` names what is wrong: ``pod/<ns>/<name>``, ``pod/<ns>/<name>/container/<c>``,
    ``node/<name>``. ``suppressed`` is the reason from the ignore file when the finding was
    accepted there; None: not suppressed (it counts for ``--fail-on``).
    """

    check_id: str
    title: str
    severity: Severity
    subject: str
    message: str
    location: Location | None = None  # None: not from a file (live API or node data)
    suppressed: str | None = None

    def sort_key(self) -> tuple[str, str, str, str, int, int]:
        loc = self.location
        return (
            self.subject,
            self.check_id,
            self.message,
            loc.file if loc else "",
            loc.document_index if loc and loc.document_index is not None else -1,
            loc.line if loc and loc.line is not None else -1,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one check said about one subject (a pod, a container or the node)."""

    check_id: str
    subject: str
    status: Status
    reason: str | None = None  # the Skip reason or the error; None for passed/failed
    location: Location | None = None  # the subject's source (manifest document); None: n/a
    findings: tuple[Finding, ...] = ()  # what this call found (suppressed ones included)


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A pod the audit did not judge, and why (it is inspect8s's own: an agent pod)."""

    subject: str  # "pod/<ns>/<name>"
    reason: str


@dataclass(frozen=True, slots=True)
class AuditResult:
    """Everything an audit run produced, in a deterministic order.

    ``checks`` are the checks that ran (sorted by ID), ``outcomes`` one per check x subject,
    ``findings`` sorted by subject then check, ``errors`` the probes that failed (files that
    could not be read or parsed, sources that did not answer).
    """

    target: str  # "manifests" | "node" | "cluster"
    inputs: tuple[str, ...]  # the paths, root or bundle directories that were audited
    checks: tuple[CheckInfo, ...]
    outcomes: tuple[Outcome, ...]
    findings: tuple[Finding, ...]
    errors: tuple[ProbeError, ...] = ()
    subjects: int = 0  # how many pods/containers/nodes the checks looked at
    documents: int | None = None  # manifests only: YAML/JSON documents read; None: n/a
    settings: dict[str, str] = field(default_factory=dict)  # e.g. {"targetVersion": "1.31"}
    left_out: tuple[LeftOut, ...] = ()  # pods not judged (inspect8s's own), sorted by subject

    @property
    def active_findings(self) -> tuple[Finding, ...]:
        """The findings not accepted in the ignore file."""
        return tuple(f for f in self.findings if f.suppressed is None)

    @property
    def complete(self) -> bool:
        """True when no probe failed and no check was skipped or errored."""
        if self.errors:
            return False
        return all(o.status in (Status.PASSED, Status.FAILED) for o in self.outcomes)

    def status_counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for outcome in self.outcomes:
            counts[outcome.status.value] += 1
        return counts

    def severity_counts(self) -> dict[str, int]:
        """Active (not suppressed) findings per severity, every severity present."""
        counts = {s.value: 0 for s in Severity}
        for finding in self.active_findings:
            counts[finding.severity.value] += 1
        return counts
