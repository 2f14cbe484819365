"""The example plugin, as inspect8s loads it: through its entry point, on real manifests."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect8s_example_checks import checks as example

from inspect8s.audit.registry import load_checks
from inspect8s.audit.runner import audit_manifests

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - {name: app, image: "registry.example/web"}
        - {name: proxy, image: "registry.example:5000/proxy:latest"}
        - {name: pinned, image: "registry.example/x:1.2"}
        - {name: digest, image: "registry.example/y@sha256:0123456789abcdef"}
---
apiVersion: v1
kind: Pod
metadata:
  name: owned
  labels: {team: payments}
spec:
  containers:
    - {name: app, image: "registry.example:5000/app:2.0"}
"""


@pytest.fixture
def loaded() -> dict[str, object]:
    return {c.id: c for c in load_checks() if c.id.startswith("I8S-EXAMPLE-")}


def test_entry_point_registers_both_checks(loaded: dict[str, object]) -> None:
    assert sorted(loaded) == ["I8S-EXAMPLE-LATEST", "I8S-EXAMPLE-TEAM"]
    team = load_checks()
    origins = {c.info.origin for c in team if c.id.startswith("I8S-EXAMPLE-")}
    assert origins == {"inspect8s_example_checks.checks"}


def test_findings_on_manifests(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(MANIFEST)
    checks = [c for c in load_checks() if c.id.startswith("I8S-EXAMPLE-")]
    result = audit_manifests([str(path)], checks)
    assert result.errors == ()
    got = sorted((f.check_id, f.subject, f.message) for f in result.findings)
    assert got == [
        (
            "I8S-EXAMPLE-LATEST",
            "Deployment/shop/web/container/app",
            "container 'app': image 'registry.example/web' has no tag (means :latest)",
        ),
        (
            "I8S-EXAMPLE-LATEST",
            "Deployment/shop/web/container/proxy",
            "container 'proxy': image 'registry.example:5000/proxy:latest' uses the tag latest",
        ),
        (
            "I8S-EXAMPLE-TEAM",
            "Deployment/shop/web",
            "pod has none of the labels team, app.kubernetes.io/part-of",
        ),
    ]
    assert all(f.location is not None and f.location.file == str(path) for f in result.findings)


@pytest.mark.parametrize(
    ("image", "why"),
    [
        ("nginx", "has no tag (means :latest)"),
        ("nginx:latest", "uses the tag latest"),
        ("localhost:5000/nginx", "has no tag (means :latest)"),
        ("nginx:1.27", None),
        ("nginx@sha256:abc", None),
    ],
)
def test_unpinned(image: str, why: str | None) -> None:
    assert example._unpinned(image) == why
