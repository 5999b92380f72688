"""The web process's connections send their writes at the end of the event
loop's turn (realtime.daphne_server.TurnFlushedServer) instead of waiting,
registered with epoll, for the socket to be reported writable. Real sockets,
a real asyncio reactor in a child process (tests/integration/turn_flush_probe.py):
every byte arrives, in order, and `loseConnection` still closes after the
last one; a write the kernel cannot take falls back to writability."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PROBE = Path(__file__).with_name("turn_flush_probe.py")
ROOT = PROBE.parent.parent.parent


def _expected(chunks: int, size: int) -> bytes:
    return b"".join(bytes([i % 251]) * size for i in range(chunks))


def _run(chunks: int, size: int, *, receive_buffer: int | None = None, read_after: float = 0.0):
    probe = subprocess.Popen(
        [sys.executable, str(PROBE), str(chunks), str(size)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert probe.stdout is not None
        port = int(probe.stdout.readline().split()[1])
        client = socket.socket()
        if receive_buffer is not None:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        client.connect(("127.0.0.1", port))
        time.sleep(read_after)  # a slow reader: the kernel's buffers fill
        received = bytearray()
        while chunk := client.recv(1 << 16):
            received += chunk
        client.close()
        report = json.loads(probe.stdout.readline())
        assert probe.wait(timeout=10) == 0
        return bytes(received), report
    finally:
        if probe.poll() is None:
            probe.kill()


def test_small_writes_go_out_without_registering_for_writability_and_close_after_the_last_byte():
    received, report = _run(40, 300)
    assert received == _expected(40, 300)
    assert report == {"writable_registrations": 0, "ended": "ConnectionDone"}


def test_a_write_the_kernel_cannot_take_waits_for_writability_and_loses_nothing():
    received, report = _run(256, 64 * 1024, receive_buffer=4096, read_after=0.5)  # 16 MiB
    assert len(received) == 256 * 64 * 1024
    assert received == _expected(256, 64 * 1024)
    assert report["writable_registrations"] >= 1
    assert report["ended"] == "ConnectionDone"
