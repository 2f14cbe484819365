"""A small Kubernetes API server on 127.0.0.1 for tests and benchmarks.

It serves kubectl-shaped JSON recorded from a real 1.26 API server
(tests/fixtures/api/, see its SOURCE.md), over real HTTP, so the real ``kubernetes``
client is exercised end to end:

- ``GET /api/v1/pods?limit=4`` and its ``continue`` tokens answer with the recorded
  pods-page1..3.json verbatim; other page sizes are cut from the same pods with tokens made
  the way the API server makes them (base64url of {"v","rv","start": "<ns>/<name>\\0"}).
- ``fieldSelector=spec.nodeName=X``, ``labelSelector=a=b``, namespaced lists, single pods,
  nodes, ``/version``.
- Errors: ``fail(prefix, status)`` answers matching requests with the recorded 401/403/404
  Status bodies (500 in the same shape); ``hang(prefix)`` accepts and never answers.
- Pods created with POST behave like an agent pod following an :class:`AgentScript`
  (phases per GET, log text, exit code); GET .../log and DELETE work. With ``kubelet``
  set, a created pod is run for real instead: ``kubelet(pod)`` gets the Pod object (in a
  thread), runs it and returns its log and exit code; the pod is Running until then.
- ``GET /api/v1/nodes/<node>/proxy/configz`` answers ``configz[node]`` (status, body) as
  the API server relays the kubelet's answer; a node without one: 503 as when the kubelet
  cannot be reached.
- Every request is recorded in ``requests`` (method, path, query, body) for assertions;
  ``on_request`` is called with each one before it is answered. ``settle()`` returns once
  every connection made so far has been served to its end and closed (a client that has
  exited leaves nothing in flight: what it asked for has been done).
- Discovery (``/api``, ``/apis``, ``/apis/<group>/<version>``) and lists of any kind come
  from ``apis`` (tests/kubeapis.py: a 1.26 server's kinds; objects and Helm release secrets
  a test adds). Without RuntimeClasses, node.k8s.io is not served.

Run ``python -m tests.kubeserver --pods 5000`` to serve synthetic pods (for benchmarks);
it prints the URL on stdout and serves until killed.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from tests.kubeapis import ApiObjects

FIXTURES_API = Path(__file__).parent / "fixtures" / "api"
RESOURCE_VERSION = 476  # the recording's resourceVersion


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES_API / name).read_text())


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    time: float = 0.0  # time.monotonic() when it arrived

    def q(self, key: str) -> str | None:
        values = self.query.get(key)
        return values[0] if values else None


@dataclass
class AgentScript:
    """How a created pod behaves: the phase shown on each GET, its logs, its exit code.

    The last phase repeats once reached. ``phases=("Pending",)`` never finishes.
    """

    phases: tuple[str, ...] = ("Pending", "Running", "Succeeded")
    logs: str = '{"node": {"hostname": "vm"}}\n'
    exit_code: int = 0
    waiting_reason: str | None = None  # e.g. "ErrImagePull" while Pending
    on_get: Callable[[int], None] | None = None  # called with the GET count (hooks)


@dataclass
class _Failure:
    prefix: str
    status: int
    body: bytes
    method: str | None


def continue_token(start_key: str, rv: int = RESOURCE_VERSION) -> str:
    """A continue token shaped like the API server's (apiserver storage/etcd3 encodeContinue)."""
    raw = json.dumps(
        {"v": "meta.k8s.io/v1", "rv": rv, "start": start_key + "\x00"}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_token(token: str) -> str:
    padded = token + "=" * (-len(token) % 4)
    data = json.loads(base64.urlsafe_b64decode(padded))
    return str(data["start"])


def status_body(
    status: int, message: str, reason: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details:
        body["details"] = details
    body["code"] = status
    return body


def recorded_error(status: int) -> bytes:
    """The recorded Status body for 401/403/404; 500 in the API server's InternalError shape."""
    if status == 401:
        return (FIXTURES_API / "status-401.json").read_bytes()
    if status == 403:
        return (FIXTURES_API / "status-403.json").read_bytes()
    if status == 404:
        return (FIXTURES_API / "status-404.json").read_bytes()
    if status == 500:
        return json.dumps(
            status_body(
                500,
                "Internal error occurred: etcdserver: request timed out",
                "InternalError",
                {"causes": [{"message": "etcdserver: request timed out"}]},
            )
        ).encode()
    return json.dumps(status_body(status, f"status {status}", "Unknown")).encode()


def _key(pod: dict[str, Any]) -> str:
    meta = pod["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def _label_match(term: str, labels: dict[str, str]) -> bool:
    """One term of a label selector: k=v, k==v, k!=v, k (exists) or !k."""
    if "!=" in term:
        k, _, v = term.partition("!=")
        return labels.get(k.strip()) != v.strip()
    if "=" in term:
        k, _, v = term.replace("==", "=").partition("=")
        return labels.get(k.strip()) == v.strip()
    if term.startswith("!"):
        return term[1:].strip() not in labels
    return term.strip() in labels


def synthetic_pods(count: int, *, node_names: Iterable[str] = ("vm",)) -> list[dict[str, Any]]:
    """``count`` pods built from the recorded pods' shapes, with unique names, UIDs and IDs."""
    shapes = load_fixture("pods-all.json")["items"]
    nodes = list(node_names)
    pods: list[dict[str, Any]] = []
    for i in range(count):
        pod = copy.deepcopy(shapes[i % len(shapes)])
        meta = pod["metadata"]
        meta["name"] = f"{meta['name']}-{i:05d}"
        meta["namespace"] = f"ns-{i % 20:02d}"
        digest = hashlib.sha256(f"pod-{i}".encode()).hexdigest()
        meta["uid"] = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
        pod["spec"]["nodeName"] = nodes[i % len(nodes)]
        for n, status in enumerate(pod["status"].get("containerStatuses") or ()):
            cid = hashlib.sha256(f"container-{i}-{n}".encode()).hexdigest()
            status["containerID"] = f"containerd://{cid}"
        pods.append(pod)
    pods.sort(key=_key)
    return pods


class KubeServer:
    """The server; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        pods: list[dict[str, Any]] | None = None,
        *,
        nodes: list[dict[str, Any]] | None = None,
        recorded_pages: bool = True,
        runtime_classes: list[dict[str, Any]] | None = None,
        apis: ApiObjects | None = None,
        version: dict[str, Any] | None = None,
    ) -> None:
        all_pods = load_fixture("pods-all.json")["items"] if pods is None else pods
        self.pods: list[dict[str, Any]] = sorted(all_pods, key=_key)
        self.nodes: list[dict[str, Any]] = (
            load_fixture("nodes.json")["items"] if nodes is None else nodes
        )
        self.recorded_pages = recorded_pages and pods is None
        self.requests: list[Request] = []
        self.agent = AgentScript()
        # Per node (the created pod's spec.nodeName); nodes not listed follow ``agent``.
        self.agent_by_node: dict[str, AgentScript] = {}
        # node.k8s.io/v1 RuntimeClasses; None: the API group is not served (404).
        self.runtime_classes = runtime_classes
        self.apis = apis if apis is not None else ApiObjects()
        if runtime_classes is None:
            self.apis = self.apis.without("node.k8s.io/v1")
        self.version = version  # /version answer; None: the recorded one (v1.26.4)
        # Node name -> (HTTP status, body) of the kubelet /configz proxied by the API server.
        self.configz: dict[str, tuple[int, bytes]] = {}
        self.created: dict[tuple[str, str], dict[str, Any]] = {}
        # Runs created pods for real: Pod object -> (log, exit code); None: AgentScripts.
        self.kubelet: Callable[[dict[str, Any]], tuple[str, int]] | None = None
        self._runs: dict[tuple[str, str], AgentScript] = {}
        self._created_count = 0
        self.deleted: list[tuple[str, str]] = []
        self.forbid_create_in: set[str] = set()
        # Called with each request as it arrives, before it is answered (tests use it to
        # hold an answer back or to interrupt the client at a chosen moment).
        self.on_request: Callable[[Request], None] | None = None
        self._failures: list[_Failure] = []
        self._hangs: list[str] = []
        self._agent_gets: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._page_cache: dict[tuple[str, ...], bytes] = {}
        self._httpd: _CountingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- control

    @property
    def url(self) -> str:
        assert self._httpd is not None
        port = self._httpd.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> KubeServer:
        server = self

        class Handler(_Handler):
            kube = server

        self._httpd = _CountingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        # stop() waits for the serving loop to see the request, at most one poll interval:
        # a short one keeps each test's teardown short.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.005}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every connection made to the server so far has been served and
        closed: requests held by ``on_request`` or still queued have then been answered.

        A connection of its own goes last: the kernel hands connections to ``accept`` in
        the order they were made, so once it was accepted every earlier one was too."""
        httpd = self._httpd
        assert httpd is not None
        with socket.create_connection(httpd.server_address[:2], timeout=timeout) as probe:
            mine = probe.getsockname()[:2]
        if not httpd.wait_idle_after(mine, timeout):
            raise AssertionError(f"the server still serves requests after {timeout:g}s")

    def __enter__(self) -> KubeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail(
        self, prefix: str, status: int, body: bytes | None = None, *, method: str | None = None
    ) -> None:
        """Answer requests whose path starts with ``prefix`` with ``status``."""
        self._failures.append(_Failure(prefix, status, body or recorded_error(status), method))

    def hang(self, prefix: str) -> None:
        """Accept requests under ``prefix`` and never answer (until the server stops)."""
        self._hangs.append(prefix)

    def requests_for(self, method: str, prefix: str = "") -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def kubeconfig(
        self,
        path: Path,
        *,
        namespace: str | None = "shop",
        context: str = "test",
        token: str = "t0ken",
        extra_contexts: dict[str, str | None] | None = None,
        current: bool = True,
    ) -> Path:
        return write_kubeconfig(
            path,
            self.url,
            namespace=namespace,
            context=context,
            token=token,
            extra_contexts=extra_contexts,
            current=current,
        )

    # ----------------------------------------------------------------- answers

    def _list_pods(self, namespace: str | None, query: dict[str, list[str]]) -> bytes:
        limit = int(query.get("limit", ["0"])[0] or 0)
        token = query.get("continue", [None])[0]
        field_sel = query.get("fieldSelector", [None])[0]
        label_sel = query.get("labelSelector", [None])[0]
        if (
            self.recorded_pages
            and namespace is None
            and limit == 4
            and not field_sel
            and not label_sel
        ):
            pages = {None: "pods-page1.json"}
            for name in ("pods-page1.json", "pods-page2.json"):
                next_token = load_fixture(name)["metadata"]["continue"]
                pages[next_token] = f"pods-page{int(name[9]) + 1}.json"
            if token not in pages:
                return b""
            return (FIXTURES_API / pages[token]).read_bytes()
        cache_key = (str(namespace), str(limit), str(token), str(field_sel), str(label_sel))
        cached = self._page_cache.get(cache_key)
        if cached is not None:
            return cached
        items = self.pods
        if namespace:
            items = [p for p in items if p["metadata"].get("namespace") == namespace]
        for term in field_sel.split(",") if field_sel else ():
            key, _, value = term.partition("=")
            if key == "spec.nodeName":
                items = [p for p in items if p["spec"].get("nodeName") == value]
            elif key == "metadata.name":
                items = [p for p in items if p["metadata"].get("name") == value]
            else:
                raise ValueError(f"unsupported field selector {field_sel}")
        if label_sel:
            for term in label_sel.split(","):
                items = [p for p in items if _label_match(term, p["metadata"].get("labels") or {})]
        if token:
            start = _decode_token(token)
            items = [p for p in items if _key(p) >= start]
        metadata: dict[str, Any] = {"resourceVersion": str(RESOURCE_VERSION)}
        if limit and len(items) > limit:
            metadata["continue"] = continue_token(_key(items[limit - 1]))
            metadata["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        # A PodList's items carry no kind/apiVersion (as the real server sends them).
        body = {
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": metadata,
            "items": [
                {k: v for k, v in p.items() if k not in ("kind", "apiVersion")} for p in items
            ],
        }
        data = json.dumps(body).encode()
        if len(self.pods) > 100:
            self._page_cache[cache_key] = data
        return data

    def _find_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        for pod in self.pods:
            if pod["metadata"]["name"] == name and pod["metadata"].get("namespace") == namespace:
                return pod
        return None

    def _create_pod(self, namespace: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if namespace in self.forbid_create_in or "*" in self.forbid_create_in:
            message = (
                'pods is forbidden: User "system:serviceaccount:shop:viewer" cannot create '
                f'resource "pods" in API group "" in the namespace "{namespace}"'
            )
            return 403, status_body(403, message, "Forbidden", {"kind": "pods"})
        pod = copy.deepcopy(body)
        meta = pod.setdefault("metadata", {})
        with self._lock:
            # A counter, not len(created): deleted pods must not free their names.
            number = self._created_count
            self._created_count += 1
            if not meta.get("name"):
                meta["name"] = f"{meta.get('generateName', 'pod-')}{number:05x}"
            meta["namespace"] = namespace
            meta["uid"] = f"00000000-0000-4000-8000-{number:012d}"
            pod["status"] = {"phase": "Pending", "qosClass": "Burstable"}
            self.created[(namespace, meta["name"])] = pod
        if self.kubelet is not None:
            self._start(namespace, copy.deepcopy(pod))
        return 201, pod

    def _start(self, namespace: str, pod: dict[str, Any]) -> None:
        key = (namespace, pod["metadata"]["name"])
        kubelet = self.kubelet
        assert kubelet is not None
        self._runs[key] = AgentScript(phases=("Running",), logs="")

        def run() -> None:
            try:
                logs, code = kubelet(pod)
            except Exception as exc:  # the pod fails; the test sees why in its log
                logs, code = f"kubelet: {type(exc).__name__}: {exc}\n", 128
            phase = "Succeeded" if code == 0 else "Failed"
            self._runs[key] = AgentScript(phases=(phase,), logs=logs, exit_code=code)

        threading.Thread(target=run, daemon=True, name=f"kubelet-{key[1]}").start()

    def _script_for(self, pod: dict[str, Any]) -> AgentScript:
        meta = pod.get("metadata") or {}
        run = self._runs.get((meta.get("namespace"), meta.get("name")))
        if run is not None:
            return run
        node = (pod.get("spec") or {}).get("nodeName")
        return self.agent_by_node.get(str(node), self.agent)

    def _agent_view(self, namespace: str, name: str) -> dict[str, Any] | None:
        pod = self.created.get((namespace, name))
        if pod is None:
            return None
        with self._lock:
            count = self._agent_gets.get((namespace, name), 0) + 1
            self._agent_gets[(namespace, name)] = count
        script = self._script_for(pod)
        if script.on_get is not None:
            script.on_get(count)
        phase = script.phases[min(count - 1, len(script.phases) - 1)]
        view = copy.deepcopy(pod)
        container = view["spec"]["containers"][0]["name"]
        state: dict[str, Any]
        if phase == "Pending":
            state = {"waiting": {"reason": script.waiting_reason or "ContainerCreating"}}
        elif phase == "Running":
            state = {"running": {"startedAt": "2026-11-22T03:40:00Z"}}
        else:
            state = {
                "terminated": {
                    "exitCode": script.exit_code,
                    "reason": "Completed" if script.exit_code == 0 else "Error",
                }
            }
        view["status"] = {
            "phase": phase,
            "qosClass": "Burstable",
            "containerStatuses": [
                {
                    "name": container,
                    "state": state,
                    "ready": phase == "Running",
                    "restartCount": 0,
                    "image": view["spec"]["containers"][0]["image"],
                    "imageID": "",
                    **({"containerID": "containerd://" + "a" * 64} if phase != "Pending" else {}),
                }
            ],
        }
        return view


class _CountingHTTPServer(ThreadingHTTPServer):
    """Counts the connections it holds, from their accept to the end of their thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._changed = threading.Condition()
        self._open = 0
        self._peers: set[tuple[str, int]] = set()  # every client address accepted
        super().__init__(*args, **kwargs)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        # Called for each accepted connection; shutdown_request follows exactly once.
        with self._changed:
            self._open += 1
            self._peers.add(tuple(client_address[:2]))
        return True

    def shutdown_request(self, request: Any) -> None:
        try:
            super().shutdown_request(request)
        finally:
            with self._changed:
                self._open -= 1
                self._changed.notify_all()

    def wait_idle_after(self, peer: tuple[str, int], timeout: float) -> bool:
        """Whether, within ``timeout``, the connection from ``peer`` was accepted and no
        connection is open any more."""
        with self._changed:
            return self._changed.wait_for(
                lambda: peer in self._peers and self._open == 0, timeout=timeout
            )


class _Handler(BaseHTTPRequestHandler):
    kube: KubeServer
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without TCP_NODELAY each answer on a kept-alive
    # connection waits for the client's delayed ACK (about 40 ms), as no real server does
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode())

    def _handle(self, method: str) -> None:
        kube = self.kube
        parts = urlsplit(self.path)
        path = parts.path
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        request = Request(
            method,
            path,
            query,
            body,
            {k.lower(): v for k, v in self.headers.items()},
            time.monotonic(),
        )
        with kube._lock:
            kube.requests.append(request)
        if kube.on_request is not None:
            kube.on_request(request)
        for prefix in kube._hangs:
            if path.startswith(prefix):
                kube._stop.wait(60)
                return
        for failure in kube._failures:
            if path.startswith(failure.prefix) and failure.method in (None, method):
                self._send(failure.status, failure.body)
                return
        try:
            self._route(method, path, query, body)
        except ValueError as exc:
            self._json(400, status_body(400, str(exc), "BadRequest"))

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
        kube = self.kube
        seg = [unquote(s) for s in path.strip("/").split("/")]
        if path == "/version":
            if kube.version is not None:
                self._json(200, kube.version)
            else:
                self._send(200, (FIXTURES_API / "version.json").read_bytes())
            return
        if seg == ["apis", "node.k8s.io", "v1", "runtimeclasses"] and method == "GET":
            if kube.runtime_classes is None:
                self._json(
                    404,
                    status_body(
                        404, "the server could not find the requested resource", "NotFound"
                    ),
                )
            else:
                items = [
                    {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", **rc}
                    for rc in kube.runtime_classes
                ]
                self._json(
                    200,
                    {
                        "kind": "RuntimeClassList",
                        "apiVersion": "node.k8s.io/v1",
                        "metadata": {"resourceVersion": "476"},
                        "items": items,
                    },
                )
            return
        answer = kube.apis.route(path, query) if method == "GET" else None
        if answer is not None:
            self._json(*answer)
            return
        if seg[:2] != ["api", "v1"]:
            self._json(
                404,
                status_body(404, "the server could not find the requested resource", "NotFound"),
            )
            return
        rest = seg[2:]
        if method == "GET" and rest == ["pods"]:
            self._send(200, kube._list_pods(None, query))
            return
        if method == "GET" and rest == ["nodes"]:
            self._json(
                200,
                {
                    "kind": "NodeList",
                    "apiVersion": "v1",
                    "metadata": {"resourceVersion": "476"},
                    "items": kube.nodes,
                },
            )
            return
        if (
            method == "GET"
            and len(rest) == 4
            and rest[0] == "nodes"
            and rest[2:]
            == [
                "proxy",
                "configz",
            ]
        ):
            answer = kube.configz.get(rest[1])
            if answer is None:
                message = "error trying to reach service: dial tcp 192.0.2.1:10250: connect: "
                self._json(
                    503, status_body(503, message + "connection refused", "ServiceUnavailable")
                )
            else:
                self._send(answer[0], answer[1])
            return
        if method == "GET" and len(rest) == 2 and rest[0] == "nodes":
            node = next((n for n in kube.nodes if n["metadata"]["name"] == rest[1]), None)
            if node is None:
                self._json(
                    404,
                    status_body(
                        404,
                        f'nodes "{rest[1]}" not found',
                        "NotFound",
                        {"name": rest[1], "kind": "nodes"},
                    ),
                )
            else:
                self._json(200, node)
            return
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] == "pods":
            ns = rest[1]
            if len(rest) == 3 and method == "GET":
                self._send(200, kube._list_pods(ns, query))
                return
            if len(rest) == 3 and method == "POST":
                status, data = kube._create_pod(ns, body or {})
                self._json(status, data)
                return
            name = rest[3] if len(rest) > 3 else ""
            not_found = status_body(
                404, f'pods "{name}" not found', "NotFound", {"name": name, "kind": "pods"}
            )
            if len(rest) == 4 and method == "GET":
                view = kube._agent_view(ns, name)
                pod = view if view is not None else kube._find_pod(ns, name)
                if pod is None:
                    self._json(404, not_found)
                else:
                    self._json(200, {"kind": "Pod", "apiVersion": "v1", **pod})
                return
            if len(rest) == 5 and rest[4] == "log" and method == "GET":
                if (ns, name) in kube.created:
                    script = kube._script_for(kube.created[(ns, name)])
                    self._send(200, script.logs.encode(), "text/plain")
                elif kube._find_pod(ns, name) is not None:
                    self._send(200, b"", "text/plain")
                else:
                    self._json(404, not_found)
                return
            if len(rest) == 4 and method == "DELETE":
                with kube._lock:
                    pod = kube.created.pop((ns, name), None)
                    kube.deleted.append((ns, name))
                if pod is None:
                    self._json(404, not_found)
                else:
                    pod["metadata"]["deletionTimestamp"] = "2026-11-22T03:41:00Z"
                    self._json(200, pod)
                return
        self._json(
            404, status_body(404, "the server could not find the requested resource", "NotFound")
        )

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


def write_kubeconfig(
    path: Path,
    server_url: str,
    *,
    namespace: str | None = "shop",
    context: str = "test",
    token: str = "t0ken",
    extra_contexts: dict[str, str | None] | None = None,
    current: bool = True,
    cluster: str = "local",
    user: str = "tester",
) -> Path:
    """A kubeconfig pointing at ``server_url``; ``extra_contexts`` maps name -> namespace."""
    contexts = {context: namespace, **(extra_contexts or {})}
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server_url}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {
                "name": name,
                "context": {"cluster": cluster, "user": user, **({"namespace": ns} if ns else {})},
            }
            for name, ns in contexts.items()
        ],
    }
    if current:
        config["current-context"] = context
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=0, help="serve N synthetic pods")
    args = parser.parse_args()
    server = KubeServer(synthetic_pods(args.pods) if args.pods else None).start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    _main()
