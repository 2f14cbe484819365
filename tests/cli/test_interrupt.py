"""A runtime call that hangs: a timeout probe error in the report; Ctrl-C while it waits
exits 130 with one line, no traceback (a real process: the signal needs one)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.clirun import cli


@dataclass
class HangingSocket:
    path: Path
    connected: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def hanging_socket(tmp_path: Path) -> Iterator[HangingSocket]:
    """A unix socket that accepts connections and never answers; ``connected`` is set at
    the first connection (a client is then waiting for an answer)."""
    path = tmp_path / "hang.sock"
    hanging = HangingSocket(path)
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
            hanging.connected.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield hanging
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_ctrl_c_during_hanging_runtime_call(hanging_socket: HangingSocket) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspect8s",
            "node",
            "--cri-endpoint",
            str(hanging_socket.path),
            "--timeout",
            "120",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The CRI call connected and waits for an answer that never comes (deadline 120 s).
    assert hanging_socket.connected.wait(timeout=100), proc.communicate(timeout=20)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "inspect8s: interrupted"


def test_hanging_runtime_is_a_timeout_probe_error_and_report_still_printed(
    hanging_socket: HangingSocket,
) -> None:
    proc = cli("node", "--cri-endpoint", str(hanging_socket.path), "--timeout", "0.2")
    assert proc.returncode == 0, proc.stderr
    assert hanging_socket.connected.is_set()
    assert "NODE " in proc.stdout and "CONTAINERS" in proc.stdout
    # The socket never answers: only the deadline can end the call.
    assert "could not check cri:Version: timeout" in proc.stdout
