"""Ctrl-C while a runtime call hangs: exit 130 with one line, no traceback."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def hanging_socket(tmp_path: Path) -> Iterator[Path]:
    """A unix socket that accepts connections and never answers."""
    path = tmp_path / "hang.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_ctrl_c_during_hanging_runtime_call(hanging_socket: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspect8s",
            "node",
            "--cri-endpoint",
            str(hanging_socket),
            "--timeout",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.0)  # well inside the 30 s deadline: the CRI call is waiting
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "inspect8s: interrupted"


def test_hanging_runtime_is_a_timeout_probe_error_and_report_still_printed(
    hanging_socket: Path,
) -> None:
    start = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspect8s",
            "node",
            "--cri-endpoint",
            str(hanging_socket),
            "--timeout",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0
    assert "NODE " in proc.stdout and "CONTAINERS" in proc.stdout
    assert "could not check cri:Version: timeout" in proc.stdout
    assert elapsed < 15
