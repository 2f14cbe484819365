"""What an audit produces: severities, findings, per-check outcomes and the whole result.

These are plain frozen records. ``audit.py`` makes them; renderers in ``render/`` turn them
into bytes; ``audit.exit_code`` turns them into the exit code documented in
docs/exit-codes.md. Nothing here does I/O.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import field
from enum import StrEnum
from typing import overload

from inspect8s.errors import ProbeError
from inspect8s.model.frozen import frozen


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


@frozen
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


@frozen
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


@frozen
class Finding:
    """One violation of one check by one subject.

    ``subject`` names what is wrong: ``<Kind>/<ns>/<name>`` (``Deployment/shop/web``,
    ``Pod/kube-system/etcd-n1``), the same with ``/container/<c>``, ``node/<name>``.
    ``suppressed`` is the reason from the ignore file when the finding was
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


@frozen
class Outcome:
    """What one check said about one subject (a pod, a container or the node)."""

    check_id: str
    subject: str
    status: Status
    reason: str | None = None  # the Skip reason or the error; None for passed/failed
    location: Location | None = None  # the subject's source (manifest document); None: n/a
    findings: tuple[Finding, ...] = ()  # what this call found (suppressed ones included)


def outcome_key(o: Outcome) -> tuple[str, str, str, int, int]:
    """The order of ``AuditResult.outcomes``: check, subject, then location."""
    loc = o.location
    if loc is None:
        return (o.check_id, o.subject, "", -1, -1)
    doc = -1 if loc.document_index is None else loc.document_index
    return (o.check_id, o.subject, loc.file, doc, -1 if loc.line is None else loc.line)


class OutcomeTable(Sequence[Outcome]):
    """Outcomes kept compactly for audits of many subjects (a manifest stream).

    One row per subject (its name and location) and one byte per check and row say
    "passed" or "failed" (the findings of a failed one are a slice of one list); skipped
    and errored outcomes are kept as they are. Iterating gives the same Outcome
    records, in the order of :func:`outcome_key`, that a sorted tuple would hold, while a
    passed outcome costs one byte instead of one object.
    """

    def __init__(self, check_ids: Sequence[str]) -> None:
        self._checks = tuple(check_ids)
        self._column = {c: i for i, c in enumerate(self._checks)}
        self._rows: list[tuple[str, Location | None]] = []
        # per row and check: 0 not run, 1 passed, 2 + n: failed with n + 1 findings (the
        # findings of a row follow each other in _found, in column order, from _start[row];
        # a cell with more than 253 findings keeps its count in _many)
        self._passed = bytearray()
        self._start = array("Q")
        self._many: dict[int, int] = {}
        self._found: list[Finding] = []
        self._others: list[Outcome] = []
        self._sorted = True

    def add_row(self, subject: str, location: Location | None) -> int:
        """A new subject; returns its row number for :meth:`passed`."""
        self._rows.append((subject, location))
        self._passed.extend(bytes(len(self._checks)))
        self._start.append(len(self._found))
        self._sorted = False
        return len(self._rows) - 1

    def passed(self, row: int, check_id: str) -> None:
        self._passed[row * len(self._checks) + self._column[check_id]] = 1

    def failed(self, row: int, check_id: str, findings: Sequence[Finding]) -> None:
        """A failed outcome of the last row added; a row's checks come in column order."""
        cell = row * len(self._checks) + self._column[check_id]
        if row != len(self._rows) - 1 or any(
            self._passed[cell + 1 : (row + 1) * len(self._checks)]
        ):
            raise ValueError("failed outcomes are added to the last row, in column order")
        count = len(findings)
        if count > 253:
            self._many[cell] = count
            count = 253
        self._passed[cell] = 1 + count
        self._found.extend(findings)

    def _findings(self, row: int, cell: int) -> tuple[Finding, ...]:
        width = len(self._checks)
        start = self._start[row]
        for earlier in range(row * width, cell):
            state = self._passed[earlier]
            if state >= 2:
                start += self._many.get(earlier, state - 1)
        state = self._passed[cell]
        return tuple(self._found[start : start + self._many.get(cell, state - 1)])

    def add(self, outcome: Outcome) -> None:
        self._others.append(outcome)
        self._sorted = False

    def _order(self) -> None:
        if self._sorted:
            return
        self._others.sort(key=outcome_key)
        width = len(self._checks)
        order = sorted(
            range(len(self._rows)),
            key=lambda r: outcome_key(
                Outcome("", self._rows[r][0], Status.PASSED, None, self._rows[r][1])
            ),
        )
        rows = [self._rows[r] for r in order]
        passed = bytearray(len(self._passed))
        starts = array("Q", (self._start[r] for r in order))
        many: dict[int, int] = {}
        for new, old in enumerate(order):
            a, b = new * width, old * width
            passed[a : a + width] = self._passed[b : b + width]
            if self._many:
                for column in range(width):
                    if b + column in self._many:
                        many[a + column] = self._many[b + column]
        self._rows, self._passed, self._start, self._many = rows, passed, starts, many
        self._sorted = True

    def __iter__(self) -> Iterator[Outcome]:
        self._order()
        width = len(self._checks)
        others = iter(self._others)
        pending = next(others, None)
        for column, check_id in sorted(enumerate(self._checks), key=lambda c: c[1]):
            for row, (subject, location) in enumerate(self._rows):
                cell = row * width + column
                state = self._passed[cell]
                if not state:
                    continue
                if state == 1:
                    made = Outcome(check_id, subject, Status.PASSED, None, location)
                else:
                    found = self._findings(row, cell)
                    made = Outcome(check_id, subject, Status.FAILED, None, location, found)
                key = outcome_key(made)
                while pending is not None and outcome_key(pending) <= key:
                    yield pending
                    pending = next(others, None)
                yield made
            while pending is not None and pending.check_id == check_id:
                yield pending
                pending = next(others, None)
        while pending is not None:
            yield pending
            pending = next(others, None)

    def __len__(self) -> int:
        return len(self._passed) - self._passed.count(0) + len(self._others)

    def counts_by_check(self) -> dict[str, dict[str, int]]:
        """check ID -> status -> how many, without building the outcomes."""
        width = len(self._checks)
        out = {c: {s.value: 0 for s in Status} for c in self._checks}
        for column, check_id in enumerate(self._checks):
            cells = self._passed[column::width] if width else b""
            out[check_id][Status.PASSED.value] = cells.count(1)
            out[check_id][Status.FAILED.value] = len(cells) - cells.count(0) - cells.count(1)
        for o in self._others:
            counts = out.setdefault(o.check_id, {s.value: 0 for s in Status})
            counts[o.status.value] += 1
        return out

    def undecided(self) -> list[Outcome]:
        """The skipped and errored outcomes, in order."""
        return sorted(self._others, key=outcome_key)

    @overload
    def __getitem__(self, index: int) -> Outcome: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Outcome]: ...

    def __getitem__(self, index: int | slice) -> Outcome | Sequence[Outcome]:
        return tuple(self)[index]


@frozen
class LeftOut:
    """A pod the audit did not judge, and why (it is inspect8s's own: an agent pod)."""

    subject: str  # "pod/<ns>/<name>"
    reason: str


@frozen
class AuditResult:
    """Everything an audit run produced, in a deterministic order.

    ``checks`` are the checks that ran (sorted by ID), ``outcomes`` one per check x subject,
    ``findings`` sorted by subject then check, ``errors`` the probes that failed (files that
    could not be read or parsed, sources that did not answer).
    """

    target: str  # "manifests" | "node" | "cluster"
    inputs: tuple[str, ...]  # the paths, root or bundle directories that were audited
    checks: tuple[CheckInfo, ...]
    outcomes: Sequence[Outcome]  # a sorted tuple, or an OutcomeTable (same order)
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
        return not self.undecided()

    def undecided(self) -> list[Outcome]:
        """The skipped and errored outcomes, in the order of ``outcomes``."""
        if isinstance(self.outcomes, OutcomeTable):
            return self.outcomes.undecided()
        return [o for o in self.outcomes if o.status in (Status.SKIPPED, Status.ERROR)]

    def counts_by_check(self) -> dict[str, dict[str, int]]:
        """check ID -> status -> number of outcomes (every check and status present)."""
        if isinstance(self.outcomes, OutcomeTable):
            counts = self.outcomes.counts_by_check()
        else:
            counts = {}
            for outcome in self.outcomes:
                per = counts.setdefault(outcome.check_id, {s.value: 0 for s in Status})
                per[outcome.status.value] += 1
        for c in self.checks:
            counts.setdefault(c.id, {s.value: 0 for s in Status})
        return counts

    def status_counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for per in self.counts_by_check().values():
            for status, n in per.items():
                counts[status] += n
        return counts

    def severity_counts(self) -> dict[str, int]:
        """Active (not suppressed) findings per severity, every severity present."""
        counts = {s.value: 0 for s in Severity}
        for finding in self.active_findings:
            counts[finding.severity.value] += 1
        return counts
