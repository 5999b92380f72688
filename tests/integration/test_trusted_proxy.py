"""X-Forwarded-* is believed only from TRUSTED_PROXY (the load balancer).

Two real web processes started as compose starts them, with daphne's
`--proxy-headers`: one whose TRUSTED_PROXY is this machine (the test is its
balancer), one whose TRUSTED_PROXY is another address. The same request,
carrying `X-Forwarded-For` and `X-Forwarded-Host`, is believed by the first
(daphne's access log shows the forwarded client; Django reads the forwarded
host, which is not an allowed one: 400) and stripped by the second (the TCP
peer in the log; the real Host: 200)."""

import http.client
from pathlib import Path

import pytest

from realtime import daphne_server
from tests.children import child_env, free_port, listening, python, spawn, stop, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CLIENT = "203.0.113.9"


def _web(tmp_path: Path, trusted: str) -> tuple[int, Path, object]:
    port = free_port()
    log = tmp_path / f"web-{port}.log"
    process = spawn(
        python(
            *("-m", "realtime.server", "-b", "127.0.0.1", "-p", str(port), "--proxy-headers"),
            "config.asgi:application",
        ),
        name=f"web:{port}",
        log=log,
        env=child_env(TRUSTED_PROXY=trusted),
    )
    wait_for(lambda: listening(port), timeout=60, what=f"web on {port}")
    return port, log, process


def _get(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        "GET",
        "/api/v1/",
        headers={
            "Host": "127.0.0.1",
            "X-Forwarded-For": CLIENT,
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Proto": "https",
        },
    )
    status = conn.getresponse().status
    conn.close()
    return status


def test_forwarded_headers_are_believed_from_the_balancer_only(tmp_path):
    trusting_port, trusting_log, trusting = _web(tmp_path, "127.0.0.1")
    wary_port, wary_log, wary = _web(tmp_path, "10.9.9.9,192.0.2.0/24")
    try:
        assert _get(trusting_port) == 400  # the forwarded host was read, and it is not allowed
        assert _get(wary_port) != 400  # stripped: the request's own Host
        wait_for(lambda: '"GET /api/v1/"' in wary_log.read_text(), timeout=10, what="the access log line")
        wait_for(lambda: '"GET /api/v1/"' in trusting_log.read_text(), timeout=10, what="the access log line")
    finally:
        stop(trusting)
        stop(wary)
    trusting_line = next(line for line in trusting_log.read_text().splitlines() if '"GET /api/v1/"' in line)
    wary_line = next(line for line in wary_log.read_text().splitlines() if '"GET /api/v1/"' in line)
    assert trusting_line.startswith(f"{CLIENT}:")
    assert wary_line.startswith("127.0.0.1:")


def test_peer_check_and_the_headers_it_strips(settings):
    settings.TRUSTED_PROXY = ["10.0.0.0/8", "2001:db8::/32"]
    daphne_server.trusted_networks.cache_clear()
    try:
        assert daphne_server.peer_is_trusted("10.1.2.3")
        assert daphne_server.peer_is_trusted("::ffff:10.1.2.3")  # IPv4-mapped
        assert daphne_server.peer_is_trusted("2001:db8::1")
        assert not daphne_server.peer_is_trusted("127.0.0.1")
        assert not daphne_server.peer_is_trusted(None)  # a Unix socket peer
        assert not daphne_server.peer_is_trusted("not-an-address")
        settings.TRUSTED_PROXY = []
        daphne_server.trusted_networks.cache_clear()
        assert not daphne_server.peer_is_trusted("10.1.2.3")
    finally:
        daphne_server.trusted_networks.cache_clear()
    stripped = [
        b"X-Forwarded-For",
        b"x-forwarded-proto",
        b"X-Forwarded-Host",
        b"Forwarded",
        b"Daphne-Root-Path",
    ]
    assert all(daphne_server.is_proxy_header(name) for name in stripped)
    assert not any(daphne_server.is_proxy_header(name) for name in (b"Host", b"Origin", b"X-Request-ID"))
