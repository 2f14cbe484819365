"""Replay of recorded API answers: the same reads and errors as the live API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inspect8s.errors import ErrorKind, NotFoundError, ProbeFailed
from inspect8s.kube import KubeReader
from inspect8s.kube.convert import pod_from_json
from inspect8s.kube.recorded import RecordedKubeAPI, write_recording
from tests.kubeserver import FIXTURES_API, KubeServer, load_fixture


def test_reads_the_recorded_api_directory() -> None:
    api: KubeReader = RecordedKubeAPI(FIXTURES_API, namespace="shop")
    # pods-all, the three pages, the node-scoped list and the single pod overlap: 9 pods.
    pods = list(api.list_pods())
    assert len(pods) == 9
    assert api.get_pod(None, "web-guaranteed")["metadata"]["namespace"] == "shop"
    assert [p["metadata"]["name"] for p in api.list_pods("default")] == [
        "api-busybox",
        "static-busybox-vm",
    ]
    assert len(list(api.list_pods(node_name="vm"))) == 9
    assert list(api.list_pods(node_name="elsewhere")) == []
    assert [p["metadata"]["name"] for p in api.list_pods(label_selector="app=web")] == [
        "web-guaranteed"
    ]
    assert api.get_node("vm")["status"]["nodeInfo"]["containerRuntimeVersion"] == (
        "containerd://1.6.20"
    )
    # Items of a PodList get their kind back, as the live client does.
    assert all(p["kind"] == "Pod" for p in pods)


def test_missing_names_raise_like_the_live_api() -> None:
    api = RecordedKubeAPI(FIXTURES_API)
    with pytest.raises(NotFoundError) as info:
        api.get_pod("shop", "nope")
    assert info.value.exit_code == 2 and 'pods "nope" not found' in str(info.value)
    with pytest.raises(NotFoundError):
        api.get_node("nope")


def test_the_same_views_as_the_live_api(tmp_path: Path) -> None:
    from inspect8s.kube.live import KubeAPI

    with KubeServer() as server:
        live = KubeAPI.from_config(str(server.kubeconfig(tmp_path / "c")), environ={})
        raw_pods = list(live.list_pods(page_size=4))
        live_nodes = list(live.list_nodes())
    record = tmp_path / "bundle"
    record.mkdir()
    write_recording(record, raw_pods, live_nodes)
    replay = RecordedKubeAPI(record)
    assert [pod_from_json(p) for p in replay.list_pods()] == [pod_from_json(p) for p in raw_pods]
    assert len(raw_pods) == len(load_fixture("pods-all.json")["items"])
    assert json.loads((record / "nodes.json").read_text())["kind"] == "List"


def test_malformed_file_is_a_probe_failure(tmp_path: Path) -> None:
    (tmp_path / "pods.json").write_text("{not json")
    with pytest.raises(ProbeFailed) as info:
        RecordedKubeAPI(tmp_path)
    assert info.value.kind is ErrorKind.MALFORMED
    with pytest.raises(ProbeFailed) as missing:
        RecordedKubeAPI(tmp_path / "absent")
    assert missing.value.kind is ErrorKind.MISSING
