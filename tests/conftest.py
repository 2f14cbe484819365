"""Shared pytest fixtures; ``testbed`` is the real runtime test bed (tests/testbed/).

Tests that use ``testbed`` are integration tests (mark them ``@pytest.mark.integration``).
Without root or the Debian packages they skip with the reason, except under ``CI=true``,
where a test bed that cannot start fails them: a green CI run means they ran.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from testbed import TestBed, missing_requirements


@pytest.fixture(scope="session")
def testbed_available() -> None:
    """Skip (or, under CI=true, fail) the test when the test bed cannot run here."""
    reasons = missing_requirements()
    if not reasons:
        return
    message = "runtime test bed unavailable: " + "; ".join(reasons)
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: integration tests must run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def testbed(testbed_available: None) -> Iterator[TestBed]:
    """One private containerd + dockerd for the whole session, torn down at its end."""
    with TestBed() as bed:
        yield bed
