"""The live Kubernetes API: raw JSON over the official client's configuration and REST layer.

Only the ``kubernetes`` package's configuration (kubeconfig, in-cluster, exec/token
refresh, TLS) and its REST client are used; answers are read as bytes and parsed with
``json.loads``. Turning a list into the client's typed objects costs about 0.6 s of CPU
per 1,000 pods against 0.07 s for ``json.loads`` (issue 5), and the converters in
``kube/convert.py`` want the kubectl-shaped dicts anyway.

Every request has a deadline for the whole call (``timeout``: connecting, the headers and
the whole body): a watchdog (one thread for all the calls of the process) shuts the
connection's socket when it passes, so a server that sends a byte a second cannot hold a
call open. Answers are read in chunks and may not be larger than ``max_response_bytes``
(default 128 MiB; a page of 500 pods is a few MB).
Failures raise one :class:`KubeAPIError` with a one-line message that says what to do:

    401            KubeAPIError  kind=permission   exit 4
    403            KubeAPIError  kind=permission   exit 4  (names verb, resource, namespace)
    404            KubeNotFoundError kind=missing  exit 2  (a NotFoundError)
    5xx            KubeAPIError  kind=unavailable  exit 4
    other 4xx      KubeAPIError  kind=malformed    exit 4
    unreachable    KubeAPIError  kind=unavailable  exit 4  (status None)
    no answer      KubeAPIError  kind=timeout      exit 4  (status None)
    too large      KubeAPIError  kind=malformed    exit 4  (status of the answer)
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from inspect8s.errors import (
    ErrorKind,
    ExitStatus,
    Inspect8sError,
    NotFoundError,
    ProbeFailed,
    kind_from_http_status,
)
from inspect8s.kube.config import ClusterConfig, load_cluster_config

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_PAGE_SIZE = 500
DEFAULT_MAX_RESPONSE_BYTES = 128 * 1024 * 1024
_READ_CHUNK = 1 << 16


class CallDeadline:
    """The deadline of one API call: when it passes, the socket of the connection the call
    uses is shut down, which ends a blocked connect, header read or body read at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self.ended = False
        self._conn: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> CallDeadline:
        _WATCH.deadline = self
        _watchdog().watch(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:  # the watchdog may hold this deadline a while: not the connection
            self.ended = True
            self._conn = None
        _WATCH.deadline = None

    def remaining(self) -> float:
        return max(0.001, self.at - time.monotonic())

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conn = conn
            if self.expired:
                self._cut()

    def _expire(self) -> None:
        with self._lock:
            if self.ended:
                return
            self.expired = True
            self._cut()

    def _cut(self) -> None:
        sock = getattr(self._conn, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Watchdog:
    """One thread for every call's deadline in the process (a thread per call cost more
    than a small call itself): it sleeps until the nearest deadline and expires those
    passed that have not ended."""

    def __init__(self) -> None:
        self._wake = threading.Condition(threading.Lock())
        self._due: list[tuple[float, int, CallDeadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: CallDeadline) -> None:
        with self._wake:
            heapq.heappush(self._due, (deadline.at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="inspect8s-deadlines", daemon=True
                )
                self._thread.start()
            elif self._due[0][2] is deadline:  # sooner than what the thread waits for
                self._wake.notify()

    def _run(self) -> None:
        while True:
            passed: list[CallDeadline] = []
            with self._wake:
                while self._due and self._due[0][2].ended:
                    heapq.heappop(self._due)
                if not self._due:
                    self._wake.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                passed.append(heapq.heappop(self._due)[2])
            for deadline in passed:
                deadline._expire()


_watchdogs: list[_Watchdog] = []


def _watchdog() -> _Watchdog:
    if not _watchdogs:
        with _watchdog_lock:
            if not _watchdogs:
                _watchdogs.append(_Watchdog())
    return _watchdogs[0]


def _forget_watchdog() -> None:
    """In a forked child: the parent's thread is not there (nor its lock's state)."""
    global _watchdog_lock
    _watchdog_lock = threading.Lock()
    _watchdogs.clear()


_watchdog_lock = threading.Lock()
os.register_at_fork(after_in_child=_forget_watchdog)


_WATCH = threading.local()


def _attach_current(conn: Any) -> None:
    deadline = getattr(_WATCH, "deadline", None)
    if deadline is not None:
        deadline.attach(conn)


@contextlib.contextmanager
def sigint_noted() -> Iterator[threading.Event]:
    """Within the block, Ctrl-C (SIGINT in the main thread) is only noted in the event
    yielded; the previous handler is put back at its end. Elsewhere than in the main
    thread, or where SIGINT is not handled by Python, nothing changes (the event stays
    clear)."""
    noted = threading.Event()
    previous: Any = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGINT)
        if callable(previous):
            signal.signal(signal.SIGINT, lambda _signum, _frame: noted.set())
    try:
        yield noted
    finally:
        if callable(previous):
            signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _sigint_after() -> Iterator[None]:
    """Ctrl-C during the block takes effect at its end, however the block ends (the
    handler put back is called: KeyboardInterrupt, with any error of the block as its
    context)."""
    noted: threading.Event | None = None
    try:
        with sigint_noted() as noted:
            yield
    finally:
        handler = signal.getsignal(signal.SIGINT)
        if noted is not None and noted.is_set() and callable(handler):
            handler(signal.SIGINT, None)


class _SigintAfterQueueCalls:
    """For urllib3 pools: Ctrl-C while the pool takes or puts back a connection, or closes,
    takes effect when that short, non-blocking call returns.

    The pool's queue of idle connections takes a plain lock. A KeyboardInterrupt raised
    just after the lock is taken, before the ``with`` around it is entered, leaves it taken
    for good (a known limit of ``with`` in CPython); the pool's finalizer then waits for it
    forever, at the next garbage collection or at exit: an interrupted run that never
    ends."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        with _sigint_after():
            return super()._get_conn(timeout)  # type: ignore[misc]

    def _put_conn(self, conn: Any) -> None:
        with _sigint_after():
            super()._put_conn(conn)  # type: ignore[misc]

    def close(self) -> None:
        with _sigint_after():
            super().close()  # type: ignore[misc]


_POOL_CLASSES: dict[str, Any] = {}


def _watched_pool_classes() -> dict[str, Any]:
    """urllib3 pool classes whose connections report to the current call's deadline."""
    if not _POOL_CLASSES:
        from urllib3.connection import HTTPConnection, HTTPSConnection
        from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

        class WatchedHTTPConnection(HTTPConnection):
            def connect(self) -> None:
                _attach_current(self)
                super().connect()
                _attach_current(self)  # now with its socket

            def request(self, *args: Any, **kwargs: Any) -> None:
                _attach_current(self)
                super().request(*args, **kwargs)

        class WatchedHTTPSConnection(HTTPSConnection):
            def connect(self) -> None:
                _attach_current(self)
                super().connect()
                _attach_current(self)

            def request(self, *args: Any, **kwargs: Any) -> None:
                _attach_current(self)
                super().request(*args, **kwargs)

        class WatchedHTTPPool(_SigintAfterQueueCalls, HTTPConnectionPool):
            ConnectionCls = WatchedHTTPConnection

        class WatchedHTTPSPool(_SigintAfterQueueCalls, HTTPSConnectionPool):
            ConnectionCls = WatchedHTTPSConnection

        _POOL_CLASSES.update(http=WatchedHTTPPool, https=WatchedHTTPSPool)
    return _POOL_CLASSES


class KubeAPIError(Inspect8sError):
    """A request to the API server failed; ``cli.py`` exits with ``exit_code`` (4).

    ``status`` is the HTTP status (None: no answer at all), ``kind`` the ErrorKind,
    ``source`` "api:GET /api/v1/pods" for recording it as a ProbeError.
    """

    exit_code = ExitStatus.TOOL_ERROR

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        kind: ErrorKind,
        method: str,
        path: str,
        reason: str | None = None,
        api_message: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message, param=param)
        self.api_message = api_message  # the Status body's "message"; None: no Status body
        self.status = status
        self.kind = kind
        self.method = method
        self.path = path
        self.reason = reason  # the Status body's "reason" ("Forbidden", "NotFound"); None: none

    @property
    def source(self) -> str:
        return f"api:{self.method} {self.path}"

    def probe_failed(self) -> ProbeFailed:
        """The same failure as a ProbeFailed, for code that records instead of stopping."""
        return ProbeFailed(self.kind, self.source, str(self))


class KubeNotFoundError(KubeAPIError, NotFoundError):
    """The named object does not exist (HTTP 404); exit 2 like every unknown name."""

    exit_code = ExitStatus.USAGE


# "pods "nope" is forbidden: User "u" cannot get resource "pods" in API group "" in the
# namespace "shop"" / "... cannot list resource "pods" in API group "" at the cluster scope"
# (the RBAC authorizer's reason, k8s.io/apiserver/pkg/endpoints/handlers/responsewriters).
_FORBIDDEN_RE = re.compile(
    r'User "(?P<user>[^"]*)" cannot (?P<verb>[\w-]+) resource "(?P<resource>[^"]+)"'
    r'(?: in API group "(?P<group>[^"]*)")?'
    r'(?: in the namespace "(?P<ns>[^"]+)"| at the cluster scope)?'
)


def forbidden_hint(message: str) -> str | None:
    """From a 403 Status message, the permission that is missing, in words.

    'User "u" cannot get resource "pods" ... in the namespace "shop"' ->
    'user "u" may not get pods in namespace "shop"'.
    """
    match = _FORBIDDEN_RE.search(message)
    if match is None:
        return None
    resource = match["resource"]
    if match["group"]:
        resource = f"{resource}.{match['group']}"
    scope = f'in namespace "{match["ns"]}"' if match["ns"] else "cluster-wide"
    return f'user "{match["user"]}" may not {match["verb"]} {resource} {scope}'


def _status_fields(body: bytes) -> tuple[str | None, str | None]:
    """(message, reason) of a Kubernetes Status body; (None, None) if it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(data, dict) or data.get("kind") != "Status":
        return None, None
    message = data.get("message")
    reason = data.get("reason")
    return (str(message) if message else None, str(reason) if reason else None)


def error_for_status(
    status: int,
    body: bytes,
    *,
    method: str,
    path: str,
    host: str,
    context: str | None,
    what: str | None = None,
) -> KubeAPIError:
    """The typed error, with its one-line message, for a failed answer."""
    message, reason = _status_fields(body)
    kind = kind_from_http_status(status)
    where = f"the API server at {host}" + (f" (context {context})" if context else "")
    short = f"{method} {path}"

    def make(text: str, cls: type[KubeAPIError] = KubeAPIError) -> KubeAPIError:
        return cls(
            text,
            status=status,
            kind=kind,
            method=method,
            path=path,
            reason=reason,
            api_message=message,
        )

    if status == 401:
        return make(
            f"{where} rejected the credentials (401 Unauthorized) for {short}: log in again "
            "or refresh the token of this kubeconfig user"
        )
    if status == 403:
        hint = forbidden_hint(message or "")
        detail = hint or (message or "forbidden")
        return make(
            f"{where} refused {short} (403 Forbidden): {detail}; ask a cluster admin for "
            "that RBAC permission (plugins/kubectl/rbac.yaml lists what inspect8s needs)"
        )
    if status == 404:
        text = message or f"{what or path} not found"
        return make(f"{text} (404 from {host})", KubeNotFoundError)
    if status >= 500:
        return make(
            f"{where} failed {short} ({status}{' ' + reason if reason else ''}): "
            f"{message or 'no details'}; the control plane may be unhealthy, try again later"
        )
    return make(
        f"{where} rejected {short} ({status}{' ' + reason if reason else ''}): "
        f"{message or 'no details'}"
    )


def _path(*parts: str) -> str:
    return "/" + "/".join(quote(p, safe="") for p in parts)


class KubeAPI:
    """Raw JSON access to one cluster (one kubeconfig context).

    Build it with :meth:`from_config`. Methods return the API's dicts untouched; turn them
    into models with ``inspect8s.kube.convert``.
    """

    def __init__(
        self,
        cluster: ClusterConfig,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        from kubernetes.client import ApiClient
        from urllib3 import poolmanager
        from urllib3.util.retry import Retry

        configuration = cluster.configuration
        # No retries: a request that timed out must not take 4x --timeout (urllib3 retries
        # 3 times by default), and each retry would log a warning on stderr.
        configuration.retries = Retry(total=0, read=False)
        self.cluster = cluster
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.namespace = cluster.namespace
        self._client = ApiClient(configuration)
        pool = self._client.rest_client.pool_manager
        # The plain and HTTP-proxy managers use urllib3's own pools: swap in the watched
        # ones. A SOCKS proxy has its own pools; there the socket timeouts still apply.
        if pool.pool_classes_by_scheme is poolmanager.pool_classes_by_scheme:
            pool.pool_classes_by_scheme = _watched_pool_classes()
            pool.clear()

    @classmethod
    def from_config(
        cls,
        kubeconfig: str | None = None,
        context: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> KubeAPI:
        """Load --kubeconfig/--context/$KUBECONFIG/in-cluster config (see kube/config.py)."""
        cluster = load_cluster_config(kubeconfig, context, environ=environ, exec_timeout=timeout)
        return cls(cluster, timeout=timeout)

    @property
    def host(self) -> str:
        return self.cluster.host

    @property
    def context(self) -> str | None:
        return self.cluster.context

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> KubeAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transport

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        what: str | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """Send one request and return the body of a 2xx answer; raise KubeAPIError else."""
        import urllib3

        url = self.host.rstrip("/") + path
        if query:
            url += "?" + urlencode({k: str(v) for k, v in query.items()})
        headers: dict[str, str] = {"Accept": "application/json", "User-Agent": _user_agent()}
        payload: bytes | None = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body).encode()
        # The configuration's auth settings call its refresh hook (exec plugins, in-cluster
        # token rotation) before giving the Authorization header.
        auth = self.cluster.configuration.auth_settings().get("BearerToken")
        if auth and auth.get("value"):
            headers[str(auth["key"])] = str(auth["value"])
        deadline = self.timeout if timeout is None else timeout
        with CallDeadline(deadline) as call:
            try:
                response = self._client.rest_client.pool_manager.request(
                    method,
                    url,
                    body=payload,
                    headers=headers,
                    timeout=urllib3.Timeout(connect=call.remaining(), read=call.remaining()),
                    preload_content=False,
                    retries=False,
                )
                try:
                    data = self._read_body(response, method, path)
                except BaseException:
                    response.close()  # the connection holds unread data: never reuse it
                    raise
                response.release_conn()
            except KubeAPIError:
                raise
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if call.expired:
                    raise self._deadline_error(method, path, deadline) from exc
                raise self._transport_error(exc, method, path, deadline) from exc
            if call.expired:
                raise self._deadline_error(method, path, deadline)
        if not 200 <= response.status <= 299:
            raise error_for_status(
                response.status,
                data,
                method=method,
                path=path,
                host=self.host,
                context=self.context,
                what=what,
            )
        return data

    def _read_body(self, response: Any, method: str, path: str) -> bytes:
        """The whole body, at most ``max_response_bytes`` of it (else KubeAPIError)."""
        limit = self.max_response_bytes
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise self._too_large(response.status, method, path, int(declared))
        data = bytearray()
        while True:
            chunk = response.read(_READ_CHUNK)
            if not chunk:
                return bytes(data)
            data += chunk
            if len(data) > limit:
                raise self._too_large(response.status, method, path, None)

    def _too_large(self, status: int, method: str, path: str, size: int | None) -> KubeAPIError:
        said = f" ({size} bytes)" if size is not None else ""
        return KubeAPIError(
            f"the API server at {self.host} answered {method} {path} with more than "
            f"{self.max_response_bytes >> 20} MiB{said}, the most inspect8s reads in one "
            "answer; nothing was kept",
            status=status,
            kind=ErrorKind.MALFORMED,
            method=method,
            path=path,
        )

    def _deadline_error(self, method: str, path: str, deadline: float) -> KubeAPIError:
        where = f"the API server at {self.host}" + (
            f" (context {self.context})" if self.context else ""
        )
        return KubeAPIError(
            f"{where} did not answer {method} {path} within {deadline:g}s; check that "
            "the address is right and reachable, or raise --timeout",
            status=None,
            kind=ErrorKind.TIMEOUT,
            method=method,
            path=path,
        )

    def request_json(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        what: str | None = None,
    ) -> dict[str, Any]:
        data = self.request(method, path, query=query, body=body, what=what)
        try:
            parsed = json.loads(data)
        except ValueError as exc:
            raise KubeAPIError(
                f"the API server at {self.host} answered {method} {path} with something "
                f"that is not JSON ({exc})",
                status=200,
                kind=ErrorKind.MALFORMED,
                method=method,
                path=path,
            ) from exc
        if not isinstance(parsed, dict):
            raise KubeAPIError(
                f"the API server at {self.host} answered {method} {path} with a JSON "
                f"{type(parsed).__name__}, not an object",
                status=200,
                kind=ErrorKind.MALFORMED,
                method=method,
                path=path,
            )
        return parsed

    def _transport_error(
        self, exc: BaseException, method: str, path: str, deadline: float
    ) -> KubeAPIError:
        import urllib3

        cause: BaseException = exc
        if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
            cause = exc.reason
        where = f"the API server at {self.host}" + (
            f" (context {self.context})" if self.context else ""
        )
        # NewConnectionError subclasses ConnectTimeoutError in urllib3: test it first.
        refused = isinstance(cause, urllib3.exceptions.NewConnectionError)
        if not refused and isinstance(cause, urllib3.exceptions.TimeoutError | TimeoutError):
            return KubeAPIError(
                f"{where} did not answer {method} {path} within {deadline:g}s; check that "
                "the address is right and reachable, or raise the timeout",
                param="timeout",
                status=None,
                kind=ErrorKind.TIMEOUT,
                method=method,
                path=path,
            )
        detail = str(cause)
        if refused and "refused" in detail.lower():
            detail = "connection refused"
        elif refused and "resolve" in detail.lower():
            detail = "its host name does not resolve"
        detail = detail.split("\n", 1)[0]
        return KubeAPIError(
            f"cannot reach {where}: {detail}; check the cluster address in the kubeconfig "
            "and that this machine can reach it",
            status=None,
            kind=ErrorKind.UNAVAILABLE,
            method=method,
            path=path,
        )

    # ------------------------------------------------------------------ reads

    def version(self) -> dict[str, Any]:
        """GET /version (gitVersion, major, minor)."""
        return self.request_json("GET", "/version")

    def get_pod(self, namespace: str | None, name: str) -> dict[str, Any]:
        """One pod; namespace None means the context's namespace. 404 -> KubeNotFoundError."""
        ns = namespace or self.namespace
        return self.request_json(
            "GET",
            _path("api", "v1", "namespaces", ns, "pods", name),
            what=f'pod "{name}" in namespace "{ns}"',
        )

    def list_pods(
        self,
        namespace: str | None = None,
        *,
        node_name: str | None = None,
        label_selector: str | None = None,
        name: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every pod, page by page (limit/continue); namespace None lists all namespaces.

        ``node_name`` asks the server for ``fieldSelector=spec.nodeName=<node>`` so a node's
        pods are the only ones sent; ``name`` for ``metadata.name=<name>`` (a pod's name in
        every namespace).
        """
        path = _path("api", "v1", "namespaces", namespace, "pods") if namespace else "/api/v1/pods"
        selectors: dict[str, str] = {}
        fields = [f"spec.nodeName={node_name}"] if node_name else []
        fields += [f"metadata.name={name}"] if name else []
        if fields:
            selectors["fieldSelector"] = ",".join(fields)
        if label_selector:
            selectors["labelSelector"] = label_selector
        yield from self._paginate(path, selectors, page_size)

    def list_nodes(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every node, page by page."""
        yield from self._paginate("/api/v1/nodes", {}, page_size)

    def get_node(self, name: str) -> dict[str, Any]:
        """One node. 404 -> KubeNotFoundError."""
        return self.request_json("GET", _path("api", "v1", "nodes", name), what=f'node "{name}"')

    def list_pages(
        self, path: str, query: Mapping[str, str] | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """The raw list answers of a paginated list, one per page (for recording)."""
        token: str | None = None
        while True:
            params: dict[str, str | int] = dict(query or {})
            if page_size > 0:
                params["limit"] = page_size
            if token:
                params["continue"] = token
            page = self.request_json("GET", path, query=params)
            yield page
            token = (page.get("metadata") or {}).get("continue") or None
            if not token:
                return

    def _paginate(
        self, path: str, query: Mapping[str, str], page_size: int
    ) -> Iterator[dict[str, Any]]:
        for page in self.list_pages(path, query, page_size):
            kind = page.get("kind", "")
            list_kind = kind[:-4] if kind.endswith("List") and kind != "List" else None
            for item in page.get("items") or ():
                if list_kind and "kind" not in item:
                    # A typed list (PodList) leaves kind/apiVersion off its items; put
                    # them back so each item is a whole object, as kubectl shows it.
                    item["kind"] = list_kind
                    item["apiVersion"] = page.get("apiVersion", "v1")
                yield item

    # ------------------------------------------------------------------ pod lifecycle (agent)

    def create_pod(self, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST a pod; returns the created object (with its generated name)."""
        return self.request_json(
            "POST", _path("api", "v1", "namespaces", namespace, "pods"), body=body
        )

    def delete_pod(
        self, namespace: str, name: str, *, grace_period_seconds: int = 0
    ) -> dict[str, Any] | None:
        """DELETE a pod at once; None when it was already gone (404)."""
        try:
            return self.request_json(
                "DELETE",
                _path("api", "v1", "namespaces", namespace, "pods", name),
                body={
                    "kind": "DeleteOptions",
                    "apiVersion": "v1",
                    "gracePeriodSeconds": grace_period_seconds,
                    "propagationPolicy": "Background",
                },
            )
        except KubeNotFoundError:
            return None

    def pod_log(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        limit_bytes: int | None = None,
    ) -> str:
        """The container's log (stdout and stderr, as the kubelet stored them)."""
        query: dict[str, str | int] = {}
        if container:
            query["container"] = container
        if limit_bytes:
            query["limitBytes"] = limit_bytes
        data = self.request(
            "GET",
            _path("api", "v1", "namespaces", namespace, "pods", name, "log"),
            query=query,
            what=f'log of pod "{name}" in namespace "{namespace}"',
        )
        return data.decode("utf-8", errors="replace")


def _user_agent() -> str:
    from inspect8s._version import __version__

    return f"inspect8s/{__version__}"
