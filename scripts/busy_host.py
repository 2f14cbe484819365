"""Run a command on a busy host: a containerd and a dockerd on the default sockets, with pods.

    python scripts/busy_host.py -- pytest tests

A user's node, a CI runner or a developer's machine often runs a containerd on
``/run/containerd/containerd.sock`` (with pods, possibly named like the tests' own:
``shop/web``, ``shop/api``) and a dockerd on ``/var/run/docker.sock``. The test suite must pass
there unchanged, pointing inspect8s only at what each test starts. This script makes such a
machine for the length of one command: it starts the test bed's containerd and dockerd on
the default socket paths, creates the pods through CRI, runs the command, and tears all of it
down (exit code: the command's).

When something already serves a default socket, the machine is busy as it is: the script
starts nothing and just runs the command. It needs root and the test bed's packages
(tests/testbed/README.md); without them it runs the command alone and says why.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

DEFAULT_CRI = "/run/containerd/containerd.sock"
DEFAULT_DOCKER = "/run/docker.sock"  # /var/run/docker.sock on Debian, where /var/run -> /run


def _served(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
    except OSError:
        return False
    finally:
        probe.close()
    return True


def _run(command: list[str]) -> int:
    return subprocess.call(command)


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print("usage: " + __doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    from testbed import ContainerRequest, TestBed, TestBedUnavailable, missing_requirements

    if any(_served(p) for p in (DEFAULT_CRI, DEFAULT_DOCKER)):
        print("busy host: the default runtime sockets are already served; using them as they are")
        return _run(argv)
    reasons = missing_requirements()
    if reasons:
        print(f"busy host: not started ({'; '.join(reasons)})", file=sys.stderr)
        return _run(argv)
    bed = TestBed(
        paths={
            "containerd_socket": DEFAULT_CRI,
            "docker_socket": "/var/run/docker.sock",
        }
    )
    try:
        bed.start()
    except TestBedUnavailable as exc:
        print(f"busy host: not started ({exc})", file=sys.stderr)
        return _run(argv)
    try:
        for name in ("web", "api"):
            bed.run_pod(name, "shop", containers=[ContainerRequest("main")])
        bed.run_pod("web", "default")
        bed.run_docker("busy-legacy")
        print(
            f"busy host: containerd PID {bed.containerd_pid} on {DEFAULT_CRI}, dockerd PID "
            f"{bed.dockerd_pid} on /var/run/docker.sock, pods shop/web shop/api default/web",
            flush=True,
        )
        return _run(argv)
    finally:
        bed.close()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
