"""Docker Engine API through the ``docker`` SDK's low-level client, returning raw dicts.

The SDK (and requests under it) is imported when a client is made, never at module import.
Every call carries the client's timeout; failures become ``ProbeFailed`` with source
``docker:<call>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from inspect8s.errors import ErrorKind, ProbeFailed, kind_from_http_status

T = TypeVar("T")


class DockerEngine:
    """A read-only Docker Engine API client for one socket."""

    def __init__(self, socket_path: str, *, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self._client: Any = None

    def _api(self) -> Any:
        if self._client is None:
            import docker

            base = self.socket_path
            if not base.startswith(("unix://", "tcp://", "http://", "https://")):
                base = "unix://" + base
            try:
                self._client = docker.APIClient(base_url=base, timeout=self.timeout, version="1.41")
            except docker.errors.DockerException as exc:
                raise ProbeFailed(ErrorKind.UNAVAILABLE, "docker:connect", str(exc)) from None
        return self._client

    def _call(self, name: str, fn: Callable[[Any], T]) -> T:
        import docker
        import requests

        source = f"docker:{name}"
        try:
            return fn(self._api())
        except requests.exceptions.Timeout:
            raise ProbeFailed(
                ErrorKind.TIMEOUT, source, f"no answer within {self.timeout:g}s"
            ) from None
        except docker.errors.APIError as exc:
            status = exc.status_code or 500
            detail = exc.explanation or str(exc)
            raise ProbeFailed(kind_from_http_status(status), source, detail) from None
        except (requests.exceptions.ConnectionError, docker.errors.DockerException) as exc:
            if _permission_denied(exc):
                raise ProbeFailed(ErrorKind.PERMISSION, source, self._permission()) from None
            raise ProbeFailed(ErrorKind.UNAVAILABLE, source, _one_line(exc)) from None
        except PermissionError:
            raise ProbeFailed(ErrorKind.PERMISSION, source, self._permission()) from None
        except OSError as exc:
            raise ProbeFailed(ErrorKind.UNAVAILABLE, source, _one_line(exc)) from None

    def _permission(self) -> str:
        from inspect8s.runtime.cri import permission_detail

        return permission_detail(self.socket_path.removeprefix("unix://"))

    def version(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("/version", lambda c: c.version())
        return result

    def containers(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call(
            "/containers/json", lambda c: c.containers(all=True)
        )
        return result

    def inspect(self, container_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            f"/containers/{container_id[:12]}/json", lambda c: c.inspect_container(container_id)
        )
        return result

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> DockerEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _permission_denied(exc: BaseException) -> bool:
    """Whether a connection error comes from EACCES on the socket (requests and urllib3
    wrap the PermissionError several times; the text is all that is sure to remain)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, PermissionError):
            return True
        for arg in current.args:
            if isinstance(arg, PermissionError) or (
                isinstance(arg, BaseException) and _permission_denied(arg)
            ):
                return True
        current = current.__cause__ or current.__context__
    return "permission denied" in str(exc).lower()


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]
