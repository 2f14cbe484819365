"""Replay of recorded API answers: the read side of ``KubeAPI`` over a directory of JSON.

The directory holds files as ``kubectl get -o json`` writes them: each ``*.json`` is a
``List``/``PodList``/``NodeList`` or a single ``Pod``/``Node``; other kinds (Status, Events,
Deployments) are ignored. Pods are keyed by namespace/name, so overlapping files (pages
and a whole list) are harmless. Missing names raise the same errors as the live API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.kube.live import KubeNotFoundError

DEFAULT_NAMESPACE = "default"


class RecordedKubeAPI:
    """``KubeReader`` over a directory of kubectl-shaped JSON files."""

    def __init__(self, directory: str | Path, *, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.directory = Path(directory)
        self.namespace = namespace
        self._pods: dict[tuple[str, str], dict[str, Any]] = {}
        self._nodes: dict[str, dict[str, Any]] = {}
        self._load()

    def _load(self) -> None:
        try:
            files = sorted(self.directory.glob("*.json"))
        except OSError as exc:  # pragma: no cover - glob reports nothing for a missing dir
            raise ProbeFailed(ErrorKind.MISSING, f"recorded:{self.directory}", str(exc)) from exc
        if not self.directory.is_dir():
            raise ProbeFailed(ErrorKind.MISSING, f"recorded:{self.directory}", "no such directory")
        for path in files:
            try:
                data = json.loads(path.read_text())
            except OSError as exc:
                raise ProbeFailed(ErrorKind.PERMISSION, f"recorded:{path}", str(exc)) from exc
            except ValueError as exc:
                raise ProbeFailed(ErrorKind.MALFORMED, f"recorded:{path}", str(exc)) from exc
            if isinstance(data, dict):
                self._add(data)

    def _add(self, data: dict[str, Any]) -> None:
        kind = str(data.get("kind") or "")
        if kind.endswith("List"):
            item_kind = kind[:-4] if kind != "List" else None
            for item in data.get("items") or ():
                if item_kind and "kind" not in item:
                    item = {"kind": item_kind, "apiVersion": data.get("apiVersion", "v1"), **item}
                self._add(item)
        elif kind == "Pod":
            meta = data.get("metadata") or {}
            key = (str(meta.get("namespace") or DEFAULT_NAMESPACE), str(meta.get("name")))
            self._pods[key] = data
        elif kind == "Node":
            self._nodes[str((data.get("metadata") or {}).get("name"))] = data

    def get_pod(self, namespace: str | None, name: str) -> dict[str, Any]:
        ns = namespace or self.namespace
        pod = self._pods.get((ns, name))
        if pod is None:
            path = f"/api/v1/namespaces/{ns}/pods/{name}"
            raise KubeNotFoundError(
                f'pods "{name}" not found in namespace "{ns}" (recording {self.directory})',
                status=404,
                kind=ErrorKind.MISSING,
                method="GET",
                path=path,
                reason="NotFound",
            )
        return pod

    def list_pods(
        self,
        namespace: str | None = None,
        *,
        node_name: str | None = None,
        label_selector: str | None = None,
        page_size: int = 500,
    ) -> Iterator[dict[str, Any]]:
        wanted: dict[str, str] = {}
        for term in (label_selector or "").split(","):
            if term:
                key, _, value = term.partition("=")
                wanted[key] = value
        for (ns, _name), pod in sorted(self._pods.items()):
            if namespace and ns != namespace:
                continue
            if node_name and (pod.get("spec") or {}).get("nodeName") != node_name:
                continue
            labels = (pod.get("metadata") or {}).get("labels") or {}
            if any(labels.get(k) != v for k, v in wanted.items()):
                continue
            yield pod

    def list_nodes(self, *, page_size: int = 500) -> Iterator[dict[str, Any]]:
        for _name, node in sorted(self._nodes.items()):
            yield node

    def get_node(self, name: str) -> dict[str, Any]:
        node = self._nodes.get(name)
        if node is None:
            raise KubeNotFoundError(
                f'nodes "{name}" not found (recording {self.directory})',
                status=404,
                kind=ErrorKind.MISSING,
                method="GET",
                path=f"/api/v1/nodes/{name}",
                reason="NotFound",
            )
        return node


def write_recording(
    directory: str | Path, pods: list[dict[str, Any]], nodes: list[dict[str, Any]]
) -> None:
    """Write ``pods.json`` and ``nodes.json`` (kubectl ``List`` shape) for later replay."""
    root = Path(directory)
    for name, items in (("pods.json", pods), ("nodes.json", nodes)):
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "List", "metadata": {}}
        body["items"] = items
        (root / name).write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
