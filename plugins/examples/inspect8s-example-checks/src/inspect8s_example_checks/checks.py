"""Two organisation rules written the way any inspect8s plugin writes checks."""

from __future__ import annotations

from collections.abc import Iterator

from inspect8s import Scope, Severity, Violation, check
from inspect8s.model import Pod

TEAM_LABELS = ("team", "app.kubernetes.io/part-of")


@check("I8S-EXAMPLE-TEAM", title="Pod has no team label", severity=Severity.LOW, scope=Scope.POD)
def team_label(pod: Pod) -> Iterator[Violation]:
    """Every workload names the team that owns it, so findings reach someone who can act.

    Accepted labels: ``team`` or ``app.kubernetes.io/part-of`` (Kubernetes recommended
    labels). For manifests the pod template's labels count.
    """
    if not any(pod.labels.get(label) for label in TEAM_LABELS):
        yield Violation(f"pod has none of the labels {', '.join(TEAM_LABELS)}")


def _unpinned(image: str) -> str | None:
    """Why ``image`` is not pinned, or None when it is."""
    if "@sha256:" in image:
        return None
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return "has no tag (means :latest)"
    if name.rsplit(":", 1)[1] == "latest":
        return "uses the tag latest"
    return None


@check(
    "I8S-EXAMPLE-LATEST",
    title="Container image is not pinned",
    severity=Severity.MEDIUM,
    scope=Scope.POD,
)
def image_not_pinned(pod: Pod) -> Iterator[Violation]:
    """An image without a tag or tagged ``latest`` changes under the workload: two nodes can
    run different code for the same pod spec, and a rollback does not roll back. Pin a
    version tag or a digest (``image@sha256:...``).
    """
    for spec in pod.containers:
        why = _unpinned(spec.image)
        if why is not None:
            yield Violation(
                f"container {spec.name!r}: image {spec.image!r} {why}",
                subject=f"container/{spec.name}",
            )
