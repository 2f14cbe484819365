"""OutcomeTable: the compact outcomes of a manifest stream iterate exactly like the sorted
tuple of the same Outcome records."""

from __future__ import annotations

import random

from inspect8s.audit.results import (
    Finding,
    Location,
    Outcome,
    OutcomeTable,
    Severity,
    Status,
    outcome_key,
)


def test_iteration_equals_the_sorted_records() -> None:
    rng = random.Random(5)
    checks = ["I8S-B", "I8S-A", "I8S-C"]
    table = OutcomeTable(checks)
    expected = []
    for i in rng.sample(range(500), 200):
        subject = f"Deployment/ns-{i % 7}/w{i}"
        location = Location(f"f{i % 3}.yaml", i % 5, i) if i % 4 else None
        row = table.add_row(subject, location)
        for check_id in checks:
            status = rng.choice([Status.PASSED, Status.PASSED, Status.FAILED, Status.SKIPPED])
            if status is Status.PASSED:
                table.passed(row, check_id)
                expected.append(Outcome(check_id, subject, status, None, location))
            elif status is Status.FAILED:
                found = tuple(
                    Finding(check_id, "t", Severity.LOW, subject, f"m{n}", location)
                    for n in range(rng.randint(1, 3))
                )
                table.failed(row, check_id, found)
                expected.append(Outcome(check_id, subject, status, None, location, found))
            else:
                reason = "why" if status is Status.SKIPPED else None
                outcome = Outcome(check_id, subject, status, reason, location)
                table.add(outcome)
                expected.append(outcome)
    expected.sort(key=outcome_key)
    assert list(table) == expected
    assert len(table) == len(expected)
    assert table[3] == expected[3]
    assert list(table) == expected  # iterating twice gives the same


def test_a_cell_with_many_findings_and_the_order_of_failures() -> None:
    import pytest

    table = OutcomeTable(["I8S-A", "I8S-B"])
    row = table.add_row("Pod/b/x", None)
    many = tuple(Finding("I8S-A", "t", Severity.LOW, "Pod/b/x", f"m{n}", None) for n in range(300))
    table.failed(row, "I8S-A", many)
    one = (Finding("I8S-B", "t", Severity.LOW, "Pod/b/x", "b", None),)
    table.failed(row, "I8S-B", one)
    first = table.add_row("Pod/a/y", None)
    table.passed(first, "I8S-A")
    outcomes = list(table)
    assert [(o.check_id, o.subject, len(o.findings)) for o in outcomes] == [
        ("I8S-A", "Pod/a/y", 0),
        ("I8S-A", "Pod/b/x", 300),
        ("I8S-B", "Pod/b/x", 1),
    ]
    assert outcomes[1].findings == many and outcomes[2].findings == one
    with pytest.raises(ValueError):
        table.failed(row, "I8S-B", one)  # not the last row any more
