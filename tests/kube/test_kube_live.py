"""The real kubernetes client over real HTTP against tests/kubeserver.py."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspect8s.errors import ErrorKind, NotFoundError, UsageError
from inspect8s.kube.config import KubeConfigError, load_cluster_config
from inspect8s.kube.convert import pod_from_json
from inspect8s.kube.live import KubeAPI, KubeAPIError, KubeNotFoundError
from tests.kubeserver import FIXTURES_API, KubeServer, load_fixture, write_kubeconfig


@pytest.fixture
def server() -> Iterator[KubeServer]:
    with KubeServer() as srv:
        yield srv


@pytest.fixture
def api(server: KubeServer, tmp_path: Path) -> Iterator[KubeAPI]:
    kubeconfig = server.kubeconfig(tmp_path / "config", namespace="shop")
    with KubeAPI.from_config(str(kubeconfig), environ={}) as client:
        yield client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ----------------------------------------------------------------- configuration


def test_namespace_defaults_to_the_context_namespace(server: KubeServer, tmp_path: Path) -> None:
    kubeconfig = server.kubeconfig(tmp_path / "config", namespace="shop")
    api = KubeAPI.from_config(str(kubeconfig), environ={})
    assert api.namespace == "shop"
    assert api.context == "test"
    pod = api.get_pod(None, "web-guaranteed")
    assert pod["metadata"]["uid"] == "3f157c67-c029-4d53-a24a-80a13f39d0ac"
    (request,) = server.requests
    assert request.path == "/api/v1/namespaces/shop/pods/web-guaranteed"
    assert request.headers["authorization"] == "Bearer t0ken"


def test_namespace_is_default_when_the_context_sets_none(
    server: KubeServer, tmp_path: Path
) -> None:
    kubeconfig = server.kubeconfig(tmp_path / "config", namespace=None)
    api = KubeAPI.from_config(str(kubeconfig), environ={})
    assert api.namespace == "default"
    assert api.get_pod(None, "api-busybox")["metadata"]["namespace"] == "default"
    assert server.requests[-1].path == "/api/v1/namespaces/default/pods/api-busybox"


def test_context_flag_picks_another_context(server: KubeServer, tmp_path: Path) -> None:
    kubeconfig = server.kubeconfig(
        tmp_path / "config", namespace="shop", extra_contexts={"other": "default"}
    )
    assert KubeAPI.from_config(str(kubeconfig), "other", environ={}).namespace == "default"
    with pytest.raises(UsageError, match="context 'missing' is not defined") as info:
        KubeAPI.from_config(str(kubeconfig), "missing", environ={})
    assert info.value.exit_code == 2
    assert "other, test" in str(info.value)


def test_kubeconfig_env_merges_two_files(server: KubeServer, tmp_path: Path) -> None:
    # File one holds the cluster, user and a context; file two holds another context and
    # the current-context. kubectl's merge: first definition of a name wins, and the
    # current-context of a later file applies when earlier ones set none.
    first = write_kubeconfig(
        tmp_path / "one", server.url, namespace="shop", context="one", current=False
    )
    second = tmp_path / "two"
    second.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: two\n"
        "contexts:\n- name: two\n  context: {cluster: local, user: tester, namespace: default}\n"
    )
    env = {"KUBECONFIG": f"{first}:{tmp_path / 'absent'}:{second}"}
    api = KubeAPI.from_config(environ=env)
    assert (api.context, api.namespace) == ("two", "default")
    assert api.get_pod(None, "api-busybox")["metadata"]["name"] == "api-busybox"
    assert server.requests[-1].headers["authorization"] == "Bearer t0ken"  # user from file one
    assert KubeAPI.from_config(context="one", environ=env).namespace == "shop"
    assert api.cluster.source == f"kubeconfig:{first}:{second}"


def test_kubeconfig_flag_beats_the_environment(server: KubeServer, tmp_path: Path) -> None:
    flag = server.kubeconfig(tmp_path / "flag", namespace="shop")
    env_file = write_kubeconfig(tmp_path / "env", "http://127.0.0.1:1", namespace="default")
    api = KubeAPI.from_config(str(flag), environ={"KUBECONFIG": str(env_file)})
    assert api.host == server.url and api.namespace == "shop"


def test_missing_kubeconfig_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_cluster_config(str(tmp_path / "nope"), environ={})


def test_no_configuration_at_all(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match="no Kubernetes configuration found") as info:
        load_cluster_config(environ={"HOME": str(tmp_path)})
    assert info.value.exit_code == 4


def test_home_kube_config_is_the_fallback(server: KubeServer, tmp_path: Path) -> None:
    (tmp_path / ".kube").mkdir()
    server.kubeconfig(tmp_path / ".kube" / "config", namespace="shop")
    cluster = load_cluster_config(environ={"HOME": str(tmp_path)})
    assert cluster.host == server.url and cluster.namespace == "shop"


def test_in_cluster_config(tmp_path: Path) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("sa-token")
    (sa / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (sa / "namespace").write_text("monitoring")
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    cluster = load_cluster_config(environ=env, service_account_dir=str(sa))
    assert cluster.host == "https://10.0.0.1:443"
    assert cluster.namespace == "monitoring"
    assert cluster.source == "in-cluster" and cluster.context is None
    assert cluster.configuration.auth_settings()["BearerToken"]["value"] == "bearer sa-token"
    assert cluster.configuration.ssl_ca_cert == str(sa / "ca.crt")


def test_in_cluster_without_token_is_a_tool_error(tmp_path: Path) -> None:
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    with pytest.raises(KubeConfigError, match="in-cluster configuration unusable"):
        load_cluster_config(environ=env, service_account_dir=str(tmp_path))


# ----------------------------------------------------------------- reads


def test_pagination_follows_the_three_recorded_pages(server: KubeServer, api: KubeAPI) -> None:
    pods = list(api.list_pods(page_size=4))
    expected = [p["metadata"]["name"] for p in load_fixture("pods-all.json")["items"]]
    assert [p["metadata"]["name"] for p in pods] == expected
    assert all(p["kind"] == "Pod" for p in pods)  # put back on PodList items
    tokens = [r.q("continue") for r in server.requests]
    assert tokens == [
        None,
        load_fixture("pods-page1.json")["metadata"]["continue"],
        load_fixture("pods-page2.json")["metadata"]["continue"],
    ]
    assert all(r.path == "/api/v1/pods" and r.q("limit") == "4" for r in server.requests)


def test_other_page_sizes_use_tokens_shaped_like_the_servers(
    server: KubeServer, api: KubeAPI
) -> None:
    names = [p["metadata"]["name"] for p in api.list_pods(page_size=2)]
    assert len(names) == 9 and len(set(names)) == 9
    assert len(server.requests) == 5
    # The server's own token for "after shop/batch-besteffort" equals the recorded one.
    assert (
        server.requests[2].q("continue") == load_fixture("pods-page1.json")["metadata"]["continue"]
    )


def test_node_scoped_namespaced_list_uses_a_field_selector(
    server: KubeServer, api: KubeAPI
) -> None:
    pods = list(api.list_pods("shop", node_name="vm"))
    recorded = load_fixture("pods-shop-on-node.json")["items"]
    assert [p["metadata"]["name"] for p in pods] == [p["metadata"]["name"] for p in recorded]
    (request,) = server.requests
    assert request.path == "/api/v1/namespaces/shop/pods"
    assert request.q("fieldSelector") == "spec.nodeName=vm"
    assert request.q("limit") == "500"
    assert list(api.list_pods(node_name="other-node")) == []


def test_pods_convert_to_views(api: KubeAPI) -> None:
    views = [pod_from_json(p) for p in api.list_pods(page_size=4)]
    assert {v.name: v.qos.value for v in views if v.qos}["web-guaranteed"] == "Guaranteed"


def test_nodes_and_version(server: KubeServer, api: KubeAPI) -> None:
    assert [n["metadata"]["name"] for n in api.list_nodes()] == ["vm"]
    assert api.get_node("vm")["status"]["nodeInfo"]["kubeletVersion"] == "v1.26.4"
    assert api.version()["gitVersion"] == "v1.26.4"
    with pytest.raises(KubeNotFoundError, match='nodes "nope" not found'):
        api.get_node("nope")


# ----------------------------------------------------------------- errors


def test_404_on_a_named_pod_is_not_found_exit_2(api: KubeAPI) -> None:
    with pytest.raises(NotFoundError) as info:
        api.get_pod("shop", "nope")
    err = info.value
    assert isinstance(err, KubeAPIError)
    assert err.exit_code == 2 and err.status == 404 and err.kind is ErrorKind.MISSING
    assert str(err).startswith('pods "nope" not found')
    assert "\n" not in str(err)


def test_401_says_to_log_in_again(server: KubeServer, api: KubeAPI) -> None:
    server.fail("/api/v1", 401)
    with pytest.raises(KubeAPIError) as info:
        api.get_pod("shop", "web-guaranteed")
    err = info.value
    assert (err.status, err.kind, err.exit_code) == (401, ErrorKind.PERMISSION, 4)
    assert "rejected the credentials (401 Unauthorized)" in str(err)
    assert "log in again" in str(err) and "context test" in str(err)
    assert err.source == "api:GET /api/v1/namespaces/shop/pods/web-guaranteed"


def test_403_on_a_cluster_wide_list_names_the_missing_permission(
    server: KubeServer, api: KubeAPI
) -> None:
    server.fail("/api/v1/pods", 403)  # recorded status-403.json
    with pytest.raises(KubeAPIError) as info:
        list(api.list_pods())
    err = info.value
    assert (err.status, err.kind, err.exit_code, err.reason) == (
        403,
        ErrorKind.PERMISSION,
        4,
        "Forbidden",
    )
    assert 'user "system:serviceaccount:shop:viewer" may not list pods cluster-wide' in str(err)
    assert "\n" not in str(err)


def test_403_on_get_names_verb_resource_and_namespace(server: KubeServer, api: KubeAPI) -> None:
    server.fail(
        "/api/v1/namespaces/shop/pods/nope",
        403,
        (FIXTURES_API / "status-403-get.json").read_bytes(),
    )
    with pytest.raises(KubeAPIError) as info:
        api.get_pod("shop", "nope")
    assert 'may not get pods in namespace "shop"' in str(info.value)
    assert info.value.probe_failed().kind is ErrorKind.PERMISSION


def test_500_is_unavailable(server: KubeServer, api: KubeAPI) -> None:
    server.fail("/api/v1/pods", 500)
    with pytest.raises(KubeAPIError) as info:
        list(api.list_pods())
    err = info.value
    assert (err.status, err.kind, err.exit_code) == (500, ErrorKind.UNAVAILABLE, 4)
    assert "(500 InternalError): Internal error occurred: etcdserver: request timed out" in str(err)
    assert "try again later" in str(err)


def test_unreachable_server_is_one_line(tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "config", f"http://127.0.0.1:{_free_port()}")
    api = KubeAPI.from_config(str(kubeconfig), environ={}, timeout=5)
    started = time.monotonic()
    with pytest.raises(KubeAPIError) as info:
        api.get_pod(None, "web")
    assert time.monotonic() - started < 5
    err = info.value
    assert (err.status, err.kind, err.exit_code) == (None, ErrorKind.UNAVAILABLE, 4)
    assert "cannot reach the API server at http://127.0.0.1:" in str(err)
    assert "connection refused" in str(err) and "\n" not in str(err)


def test_a_server_that_never_answers_times_out_within_the_deadline(
    server: KubeServer, tmp_path: Path
) -> None:
    server.hang("/api/v1/namespaces/shop/pods")
    kubeconfig = server.kubeconfig(tmp_path / "config")
    api = KubeAPI.from_config(str(kubeconfig), environ={}, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(KubeAPIError) as info:
        api.get_pod(None, "web-guaranteed")
    elapsed = time.monotonic() - started
    # the deadline is kept (never early) and the call ends (one attempt: no retry); the
    # upper bound only says it does not hang, whatever the machine's load
    assert 0.4 < elapsed < 10
    assert (info.value.status, info.value.kind) == (None, ErrorKind.TIMEOUT)
    assert "did not answer GET /api/v1/namespaces/shop/pods/web-guaranteed within 0.5s" in str(
        info.value
    )
    assert len(server.requests) == 1


def test_importing_the_kube_modules_does_not_import_kubernetes() -> None:
    import subprocess
    import sys

    code = (
        "import sys, inspect8s.kube, inspect8s.kube.live, inspect8s.kube.agent, "
        "inspect8s.kube.convert, inspect8s.kube.config; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'urllib3')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_one_watchdog_expires_each_deadline_at_its_time_and_never_an_ended_one() -> None:
    """CallDeadline: every call's deadline is kept by one thread of the process; a nearer
    deadline that comes later wakes it; a call that ended is never cut."""
    import os
    import threading

    from inspect8s.kube import live

    far = live.CallDeadline(3600)
    with far:
        near = live.CallDeadline(0.05)  # nearer than what the watchdog waits for now
        with near:
            stop = time.monotonic() + 30
            while not near.expired and time.monotonic() < stop:
                time.sleep(0.01)
    assert near.expired and not far.expired and far.ended and near.ended
    done = live.CallDeadline(0.01)
    done.ended = True  # as its __exit__ leaves it
    live._watchdog().watch(done)
    after = live.CallDeadline(0.02)
    with after:
        stop = time.monotonic() + 30
        while not after.expired and time.monotonic() < stop:
            time.sleep(0.01)
    assert after.expired and not done.expired
    names = [t.name for t in threading.enumerate() if t.name == "inspect8s-deadlines"]
    assert names == ["inspect8s-deadlines"]
    # A forked child starts its own watchdog: the parent's thread is not there.
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        child = live.CallDeadline(0.01)
        with child:
            stop = time.monotonic() + 30
            while not child.expired and time.monotonic() < stop:
                time.sleep(0.01)
        os._exit(0 if child.expired else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
