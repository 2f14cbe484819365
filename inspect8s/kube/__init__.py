"""Kubernetes API access: live (``live.py``), replayed (``recorded.py``), converters, agent.

Nothing heavy is imported here; ``live.py`` imports the ``kubernetes`` package inside its
functions only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


class KubeReader(Protocol):
    """What both the live API and a recording answer: raw kubectl-shaped dicts."""

    namespace: str  # the default namespace (the context's, else "default")

    def get_pod(self, namespace: str | None, name: str) -> dict[str, Any]: ...

    def list_pods(
        self,
        namespace: str | None = None,
        *,
        node_name: str | None = None,
        label_selector: str | None = None,
        page_size: int = 500,
    ) -> Iterator[dict[str, Any]]: ...

    def list_nodes(self, *, page_size: int = 500) -> Iterator[dict[str, Any]]: ...

    def get_node(self, name: str) -> dict[str, Any]: ...
