"""Runtime endpoints as users, daemons and the kubelet write them (runtime/endpoint.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspect8s.errors import ExitStatus, UsageError
from inspect8s.runtime.endpoint import parse_endpoint, require_unix, strip_unix
from tests.clirun import cli

TREE = Path("tests/fixtures/nodes/cgroupv2-systemd-containerd")


@pytest.mark.parametrize(
    ("text", "scheme", "path"),
    [
        ("unix:///run/containerd/containerd.sock", "unix", "/run/containerd/containerd.sock"),
        ("unix:/run/crio/crio.sock", "unix", "/run/crio/crio.sock"),
        ("/var/run/docker.sock", "unix", "/var/run/docker.sock"),
        ("tcp://127.0.0.1:2375", "tcp", None),
        ("127.0.0.1:2375", "tcp", None),
        ("[::1]:2375", "tcp", None),
        ("https://example.com", "tcp", None),
        ("fd://", "fd", None),
        ("npipe:////./pipe/docker_engine", "npipe", None),
        ("unix://relative.sock", "unknown", None),
        ("", "unknown", None),
    ],
)
def test_each_spelling(text: str, scheme: str, path: str | None) -> None:
    parsed = parse_endpoint(text)
    assert (parsed.scheme, parsed.path) == (scheme, path)
    assert strip_unix(text) == (path or text)


@given(st.text())
def test_parsing_never_raises(text: str) -> None:
    parsed = parse_endpoint(text)
    assert parsed.path is None or parsed.path.startswith("/")


def test_a_tcp_endpoint_is_a_usage_error_naming_what() -> None:
    with pytest.raises(UsageError) as raised:
        require_unix("tcp://127.0.0.1:9", "CRI endpoint", "cri_endpoints")
    assert raised.value.param == "cri_endpoints"
    assert "TCP endpoint" in str(raised.value) and "unix" in str(raised.value)


@pytest.mark.parametrize("endpoint", ["tcp://127.0.0.1:9", "127.0.0.1:9", "fd://"])
def test_cli_refuses_non_unix_endpoints_in_one_line(endpoint: str) -> None:
    for command in (["node"], ["audit"], ["pid", "1"]):
        result = cli(*command, "--root", str(TREE), "--cri-endpoint", endpoint)
        assert result.returncode == ExitStatus.USAGE, (command, result.stderr)
        assert result.stderr.count("\n") == 1 and "(--cri-endpoint)" in result.stderr


def test_a_given_endpoint_that_does_not_exist_is_a_probe_error(tmp_path: Path) -> None:
    missing = "/run/nothing-here/containerd.sock"
    result = cli("node", "--root", str(TREE), "--cri-endpoint", f"unix://{missing}", "-o", "json")
    assert result.returncode == 0, result.stderr
    errors = result.json()["errors"]
    assert {
        "kind": "missing",
        "source": f"host:{missing}",
        "detail": "given as a CRI endpoint, but nothing is there",
    } in errors
    result = cli("node", "--root", str(TREE), "--docker-host", missing, "-o", "json")
    assert any(
        e["detail"] == "given as a Docker host, but nothing is there"
        for e in result.json()["errors"]
    )
