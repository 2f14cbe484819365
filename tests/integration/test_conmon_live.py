"""The conmon monitor path for real: podman (Debian's) starts conmon, conmon starts runc,
runc starts the container as conmon's child, exactly as CRI-O does (CRI-O itself is not
packaged here; tests/node/test_real_crio.py replays a real CRI-O's answers).

inspect8s runs inside the scene's mount namespace (``nsenter --mount``), where podman's
paths are, and ``node``, ``pid <conmon>`` and ``pid <container>`` must name the monitor,
the OCI runtime it runs and the container, from the process table, conmon's command line,
runc's state and the cgroup files alone (no runtime answers: podman has no daemon).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testbed.namespace import MountNamespace
from testbed.podman import Podman, PodmanContainer, missing_requirements

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scene() -> Iterator[tuple[MountNamespace, PodmanContainer]]:
    import os

    reasons = missing_requirements()
    if reasons:
        message = "podman with conmon unavailable: " + "; ".join(reasons)
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: integration tests must run)", pytrace=False)
        pytest.skip(message)
    with MountNamespace() as ns, Podman(ns) as podman:
        yield ns, podman.run("i8s-monitored")


def _inspect8s(ns: MountNamespace, *args: str) -> Any:
    proc = subprocess.run(
        [*ns.exec_prefix, sys.executable, "-m", "inspect8s", *args, "-o", "json"],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_node_lists_conmon_as_the_containers_monitor(
    scene: tuple[MountNamespace, PodmanContainer],
) -> None:
    ns, box = scene
    doc = _inspect8s(ns, "node")
    (shim,) = [s for s in doc["shims"] if s["pid"] == box.conmon_pid]
    assert (shim["kind"], shim["id"]) == ("conmon", box.id)
    assert shim["container_ids"] == [box.id] and box.pid in shim["child_pids"]
    (row,) = [c for c in doc["containers"] if c["id"] == box.id]
    assert (row["runtime"], row["name"], row["init_pid"]) == ("podman", box.name, box.pid)
    assert row["shim_pid"] == box.conmon_pid and row["name_source"] == "host:conmon -n"


def test_pid_of_conmon_is_the_monitor_of_the_container(
    scene: tuple[MountNamespace, PodmanContainer],
) -> None:
    ns, box = scene
    doc = _inspect8s(ns, "pid", str(box.conmon_pid))
    assert doc["role"] == "monitor" and doc["container"] == box.id
    assert doc["description"] == f"the monitor (conmon) of container {box.name} {box.id[:13]}"
    # conmon's own cgroup, as a v1 controller names it
    assert doc["cgroup_line"] in ("memory", "pids", "cpu", "unified")
    (trace,) = doc["chain"]["containers"]
    links = {x["name"]: x for x in trace["links"]}
    shim = links["shim"]["values"]
    assert (shim["pid"], shim["binary"], shim["started_for"]) == (box.conmon_pid, "conmon", box.id)
    # conmon's -r, read past podman's --exit-command-arg values that look like options
    assert shim["runtime"] is not None and shim["runtime"].endswith("/runc")
    assert shim["bundle"] is not None and box.id in shim["bundle"]
    oci = links["oci-runtime"]["values"]
    assert oci["binary"] == shim["runtime"]
    assert oci["state_file"] == f"/run/runc/{box.id}/state.json"
    assert oci["state_init_pid"] == box.pid and oci["version"]
    assert links["processes"]["values"]["init_pid"] == box.pid
    assert box.id in links["cgroup"]["values"]["path"]
    # podman has no daemon: the runtime link says so instead of naming another daemon
    runtime = {x["name"]: x for x in doc["chain"]["node_links"]}["runtime"]
    assert runtime["missing"] is not None and "conmon" in runtime["missing"]


def test_pid_of_the_container_names_it_and_its_monitor(
    scene: tuple[MountNamespace, PodmanContainer],
) -> None:
    ns, box = scene
    doc = _inspect8s(ns, "pid", str(box.pid))
    assert doc["role"] == "container" and doc["container"] == box.id
    assert doc["description"] == f"in container {box.name} {box.id[:13]} (podman)"
    assert box.id in doc["cgroup"]
    (trace,) = doc["chain"]["containers"]
    shim = {x["name"]: x for x in trace["links"]}["shim"]["values"]
    assert shim["pid"] == box.conmon_pid and shim["parent_of_container"] is True
