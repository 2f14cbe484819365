"""Real gRPC CRI servers on unix sockets, for runtimes that cannot run here.

* :class:`ReplayCRI` answers with recorded answers (a bundle's ``runtime/cri.json`` entry of
  one socket): what a real CRI-O said, said again over a real socket, so that ``inspect8s``
  asks it live and ``record`` records it.
* :class:`CriDockerdCRI` answers as cri-dockerd 0.3 does, from a live Docker Engine: its
  shapes are cri-dockerd's (``core/docker_service.go`` ``Version``: runtime name
  ``docker`` with the Engine's version, API ``v1``, version ``0.1.0``; ``core/sandbox_list.go``
  and ``container_list.go``: the Docker containers labelled
  ``io.kubernetes.docker.type=podsandbox``/``container``, names
  ``k8s_<container>_<pod>_<namespace>_<uid>_<attempt>``; ``core/sandbox_status.go``: no
  verbose info; ``core/container_status.go`` + ``helpers.go``: verbose info
  ``{"sandboxID", "pid"}``; ``RuntimeConfig`` not implemented).

Run in-process (:meth:`serve`) or as a process of its own (``python -m testbed.criserver
replay|cri-dockerd ...``), which a test starts under the name of the runtime it stands for
(``argv[0]`` ``.../cri-dockerd``) so that node discovery sees that daemon and its socket.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import threading
from collections.abc import Callable, Mapping
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import json_format

from . import api_pb2

CALLS = {
    "Version": ("VersionRequest", "VersionResponse"),
    "Status": ("StatusRequest", "StatusResponse"),
    "RuntimeConfig": ("RuntimeConfigRequest", "RuntimeConfigResponse"),
    "ListPodSandbox": ("ListPodSandboxRequest", "ListPodSandboxResponse"),
    "ListContainers": ("ListContainersRequest", "ListContainersResponse"),
    "PodSandboxStatus": ("PodSandboxStatusRequest", "PodSandboxStatusResponse"),
    "ContainerStatus": ("ContainerStatusRequest", "ContainerStatusResponse"),
}
_CODES = {"unavailable": grpc.StatusCode.UNIMPLEMENTED, "missing": grpc.StatusCode.NOT_FOUND,
          "permission": grpc.StatusCode.PERMISSION_DENIED,
          "timeout": grpc.StatusCode.DEADLINE_EXCEEDED}  # fmt: skip


class Refused(Exception):
    def __init__(self, code: grpc.StatusCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def message(call: str, answer: Mapping[str, Any]) -> Any:
    """A response message from an answer in the client's form (``info`` values as JSON)."""
    data = dict(answer)
    if isinstance(data.get("info"), Mapping):
        data["info"] = {
            k: v if isinstance(v, str) else json.dumps(v) for k, v in data["info"].items()
        }
    response = getattr(api_pb2, CALLS[call][1])()
    json_format.ParseDict(data, response, ignore_unknown_fields=True)
    return response


class CRIAnswering:
    """What a CRI server answers: ``answer(call, request) -> dict``; raise Refused."""

    def answer(self, call: str, request: Any) -> Mapping[str, Any]:
        raise NotImplementedError

    def serve(self, path: str) -> grpc.Server:
        """A gRPC server on unix socket ``path`` (started; call ``stop``)."""

        def handler(call: str) -> Callable[[Any, grpc.ServicerContext], Any]:
            def run(request: Any, context: grpc.ServicerContext) -> Any:
                try:
                    return message(call, self.answer(call, request))
                except Refused as exc:
                    context.abort(exc.code, exc.detail)

            return run

        methods = {}
        for call, (req, _) in CALLS.items():
            methods[f"/runtime.v1.RuntimeService/{call}"] = grpc.unary_unary_rpc_method_handler(
                handler(call),
                request_deserializer=getattr(api_pb2, req).FromString,
                response_serializer=lambda m: m.SerializeToString(),
            )

        class Generic(grpc.GenericRpcHandler):
            def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
                return methods.get(details.method)

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        server.add_generic_rpc_handlers((Generic(),))
        server.add_insecure_port(f"unix:{path}")  # bound at PATH itself, as a Go daemon binds
        server.start()
        return server


class ReplayCRI(CRIAnswering):
    """Recorded answers, by call (and by sandbox or container ID for the statuses)."""

    def __init__(self, calls: Mapping[str, Any]) -> None:
        self.calls = calls

    def answer(self, call: str, request: Any) -> Mapping[str, Any]:
        entry = self.calls.get(call)
        if call in ("PodSandboxStatus", "ContainerStatus"):
            ident = request.pod_sandbox_id if call == "PodSandboxStatus" else request.container_id
            entry = (entry or {}).get(ident)
        if entry is None:
            raise Refused(grpc.StatusCode.UNIMPLEMENTED, f"{call} was not recorded")
        if "error" in entry:
            err = entry["error"]
            raise Refused(_CODES.get(err["kind"], grpc.StatusCode.UNAVAILABLE), err["detail"])
        answer: Mapping[str, Any] = entry["answer"]
        return answer


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.unix_path)


def _engine(path: str, url: str) -> Any:
    conn = _UnixHTTP(path)
    try:
        conn.request("GET", url)
        response = conn.getresponse()
        body = response.read()
        if response.status == 404:
            raise Refused(grpc.StatusCode.NOT_FOUND, f"No such container: {url}")
        return json.loads(body)
    finally:
        conn.close()


_INTERNAL = ("io.kubernetes.docker.type", "io.kubernetes.container.logpath",
             "io.kubernetes.sandbox.id")  # fmt: skip


class CriDockerdCRI(CRIAnswering):
    """cri-dockerd 0.3's answers, from the Docker Engine at ``docker_socket`` (module
    docstring). Only what a read-only client asks is answered."""

    def __init__(self, docker_socket: str, sandbox_image: str = "registry.k8s.io/pause:3.9"):
        self.docker = docker_socket
        self.sandbox_image = sandbox_image

    def _containers(self, kind: str) -> list[dict[str, Any]]:
        every = _engine(self.docker, "/containers/json?all=1")
        return [
            c for c in every if (c.get("Labels") or {}).get("io.kubernetes.docker.type") == kind
        ]

    @staticmethod
    def _labels(labels: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        plain = {
            k: v
            for k, v in labels.items()
            if k not in _INTERNAL and not k.startswith("annotation.")
        }
        notes = {
            k.removeprefix("annotation."): v
            for k, v in labels.items()
            if k.startswith("annotation.")
        }
        return plain, notes

    @staticmethod
    def _name(names: list[str]) -> list[str]:
        # k8s_<container>_<pod>_<namespace>_<uid>_<attempt>
        return (names[0].lstrip("/") if names else "").split("_")

    def _sandbox(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        parts = self._name(raw.get("Names") or [])
        labels, annotations = self._labels(raw.get("Labels") or {})
        return {
            "id": raw["Id"],
            "metadata": {
                "name": parts[2],
                "namespace": parts[3],
                "uid": parts[4],
                "attempt": int(parts[5]),
            },
            "state": "SANDBOX_READY" if raw.get("State") == "running" else "SANDBOX_NOTREADY",
            "createdAt": str(int(raw.get("Created", 0)) * 1_000_000_000),
            "labels": labels,
            "annotations": annotations,
        }

    def _container(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        parts = self._name(raw.get("Names") or [])
        labels, annotations = self._labels(raw.get("Labels") or {})
        return {
            "id": raw["Id"],
            "podSandboxId": (raw.get("Labels") or {}).get("io.kubernetes.sandbox.id", ""),
            "metadata": {"name": parts[1], "attempt": int(parts[5])},
            "image": {"image": raw.get("Image", "")},
            "imageRef": f"docker://{raw.get('ImageID', '')}",
            "state": "CONTAINER_RUNNING" if raw.get("State") == "running" else "CONTAINER_EXITED",
            "createdAt": str(int(raw.get("Created", 0)) * 1_000_000_000),
            "labels": labels,
            "annotations": annotations,
        }

    @staticmethod
    def _as_listed(raw: Mapping[str, Any]) -> dict[str, Any]:
        """An inspect answer (``/containers/<id>/json``) in the list's shape."""
        return {
            "Id": raw["Id"],
            "Names": [raw["Name"]],
            "Labels": raw["Config"]["Labels"],
            "Image": raw["Config"]["Image"],
            "ImageID": raw["Image"],
            "State": "running" if raw["State"]["Running"] else "exited",
            "Created": 0,
        }

    def answer(self, call: str, request: Any) -> Mapping[str, Any]:
        if call == "Version":
            engine = _engine(self.docker, "/version")
            return {"version": "0.1.0", "runtimeName": "docker",
                    "runtimeVersion": engine["Version"], "runtimeApiVersion": "v1"}  # fmt: skip
        if call == "Status":
            ready = [{"type": "RuntimeReady", "status": True},
                     {"type": "NetworkReady", "status": True}]  # fmt: skip
            answer: dict[str, Any] = {"status": {"conditions": ready}}
            if request.verbose:
                answer["info"] = {"config": {"sandboxImage": self.sandbox_image}}
            return answer
        if call == "ListPodSandbox":
            return {"items": [self._sandbox(c) for c in self._containers("podsandbox")]}
        if call == "ListContainers":
            return {"containers": [self._container(c) for c in self._containers("container")]}
        if call == "PodSandboxStatus":
            raw = _engine(self.docker, f"/containers/{request.pod_sandbox_id}/json")
            status = self._sandbox(self._as_listed(raw))
            mode = raw["HostConfig"].get("NetworkMode", "")
            network = "NODE" if mode == "host" else "POD"
            status["network"] = {"ip": ""}
            status["linux"] = {"namespaces": {"options": {"network": network}}}
            return {"status": status}  # cri-dockerd fills no verbose info for a sandbox
        if call == "ContainerStatus":
            raw = _engine(self.docker, f"/containers/{request.container_id}/json")
            listed = self._container(self._as_listed(raw))
            answer = {"status": {k: v for k, v in listed.items() if k != "podSandboxId"}}
            if request.verbose:
                sandbox = raw["Config"]["Labels"].get("io.kubernetes.sandbox.id", "")
                answer["info"] = {"info": {"sandboxID": sandbox, "pid": raw["State"]["Pid"]}}
            return answer
        raise Refused(grpc.StatusCode.UNIMPLEMENTED, f"unknown method {call}")


def main() -> int:
    parser = argparse.ArgumentParser(description="a CRI server for the tests")
    parser.add_argument("mode", choices=("replay", "cri-dockerd"))
    parser.add_argument("--container-runtime-endpoint", required=True)
    parser.add_argument("--docker-endpoint", default="unix:///var/run/docker.sock")
    parser.add_argument("--answers", help="replay: a JSON file of one socket's answers")
    args = parser.parse_args()
    path = args.container_runtime_endpoint.removeprefix("unix://")
    answering: CRIAnswering
    if args.mode == "replay":
        with open(args.answers) as handle:
            answering = ReplayCRI(json.load(handle))
    else:
        answering = CriDockerdCRI(args.docker_endpoint.removeprefix("unix://"))
    server = answering.serve(path)
    print("serving", flush=True)
    stop = threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.stop(0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
