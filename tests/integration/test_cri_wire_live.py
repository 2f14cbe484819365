"""The CRI wire codec on a real containerd's answers.

The bytes containerd answers (asked over inspect8s's own HTTP/2 transport, with requests
the codec encoded) are decoded by the codec and by protobuf (the generated messages and
``MessageToDict``): both must give the same dicts, key order included.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from testbed import ContainerRequest, TestBed, api_pb2

from inspect8s.runtime._cri import wire
from inspect8s.runtime.cri import CRIClient, socket_path
from inspect8s.runtime.h2 import CallError, Channel

pytestmark = pytest.mark.integration

MiB = 1 << 20


def ask(channel: Channel, method: str, fields: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """Call METHOD; its answer decoded by the codec, and by protobuf."""
    raw = channel.unary(
        f"/runtime.v1.RuntimeService/{method}", wire.encode(f"{method}Request", fields), 10.0
    )
    ours = wire.decode(raw, f"{method}Response")
    theirs = MessageToDict(getattr(api_pb2, f"{method}Response").FromString(raw))
    assert ours == theirs, method
    return ours, theirs


def same_key_order(ours: Any, theirs: Any) -> None:
    """Message dicts (maps aside: labels, annotations, info) list their keys in one order."""
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for key, value in theirs.items():
            if key not in ("labels", "annotations", "info", "unified"):
                same_key_order(ours[key], value)
    elif isinstance(theirs, list):
        for mine, item in zip(ours, theirs, strict=True):
            same_key_order(mine, item)


def test_real_containerd_answers_decode_as_protobuf_decodes_them(testbed: TestBed) -> None:
    pod = testbed.run_pod(
        "wire-live",
        "wire",
        qos="burstable",
        host_network=False,
        containers=[
            ContainerRequest("app", memory_limit_bytes=64 * MiB, cpu_quota=20_000),
            ContainerRequest("sidecar"),
        ],
    )
    channel = Channel(socket_path(testbed.cri_endpoint), max_message=16 * MiB)
    try:
        answers = [
            ask(channel, "Version", {}),
            ask(channel, "Status", {"verbose": True}),
            ask(channel, "ListPodSandbox", {}),
            ask(channel, "PodSandboxStatus", {"podSandboxId": pod.sandbox_id, "verbose": True}),
            ask(channel, "ListContainers", {}),
        ]
        statuses = {
            name: ask(channel, "ContainerStatus", {"containerId": ident, "verbose": True})
            for name, ident in pod.container_ids.items()
        }
        try:
            answers.append(ask(channel, "RuntimeConfig", {}))
        except CallError as err:  # containerd 1.6 and 1.7 do not implement it
            assert err.code == "UNIMPLEMENTED"
        for ours, theirs in [*answers, *statuses.values()]:
            same_key_order(ours, theirs)

        status = answers[1][0]
        assert status["status"]["conditions"] and "config" in status["info"]
        assert answers[3][0]["status"]["id"] == pod.sandbox_id
        listed = {c["id"] for c in answers[4][0]["containers"]}
        assert set(pod.container_ids.values()) <= listed
        app = statuses["app"][0]
        assert app["status"]["state"] == "CONTAINER_RUNNING"
        assert app["status"]["createdAt"].isdigit()
        assert app["status"]["labels"]["io.kubernetes.container.name"] == "app"
        assert '"pid"' in app["info"]["info"]  # a JSON document, still a string here
    finally:
        channel.close()

    try:
        # the client gives the same answers, with the info documents parsed
        with CRIClient(testbed.cri_endpoint) as cri:
            app_id = pod.container_ids["app"]
            answer = cri.container_status(app_id)
            assert answer["status"]["id"] == app_id
            assert answer["info"]["info"]["pid"] == pod.container_pids["app"]
            assert {c["id"] for c in cri.list_containers()["containers"]} >= {app_id}
    finally:
        testbed.remove_pod(pod)
