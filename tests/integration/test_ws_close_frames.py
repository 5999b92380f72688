"""Every close the stream does, seen by a raw WebSocket client on the wire.

The web process is the real one (`python -m realtime.server`, with the
Procfile's `--websocket-max-message-size`); the client is the `websockets`
package, which reports the close frame it received (`rcvd`: None when the
server dropped the TCP connection without one, which is what a client saw
for an oversize frame before). Each test asserts the exact code and reason,
and the server log must hold no traceback."""

import asyncio
import json
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from realtime import services
from realtime.close_codes import (
    CLOSE_FORBIDDEN_ORIGIN,
    CLOSE_RATE_LIMITED,
    CLOSE_SILENT,
    CLOSE_TOO_BIG,
    CLOSE_UNAUTHENTICATED,
)
from tests.children import child_env, free_port, listening, python, spawn, stop, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MAX_FRAME = 65536
MAX_RATE = 5
HEARTBEAT = 1
MAX_CONNECTIONS = 3


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """One server for the module: its limits are set small through the environment."""
    port = free_port()
    log = tmp_path_factory.mktemp("ws-close") / "web.log"
    process = spawn(
        python(
            *("-m", "realtime.server", "-b", "127.0.0.1", "-p", str(port)),
            *("--websocket_timeout", "-1", "--websocket-max-message-size", str(MAX_FRAME)),
            "config.asgi:application",
        ),
        name=f"web:{port}",
        log=log,
        env=child_env(
            WS_MAX_MESSAGES_PER_SECOND=str(MAX_RATE),
            WS_HEARTBEAT_SECONDS=str(HEARTBEAT),
            WS_MAX_CONNECTIONS_PER_USER=str(MAX_CONNECTIONS),
        ),
    )
    wait_for(lambda: listening(port), timeout=60, what=f"realtime.server on port {port}")
    try:
        yield port, log
    finally:
        stop(process, timeout=15)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]


def origin(port: int) -> str:
    return f"http://127.0.0.1:{port}"


async def ticket(user) -> str:
    return await sync_to_async(services.ticket_create)(user_id=user.pk)


def open_socket(port: int, query: str = "", *, origin_header: str | None = None):
    return connect(
        f"ws://127.0.0.1:{port}/ws/stream/{query}",
        origin=origin_header,  # type: ignore[arg-type]
        compression=None,  # the byte count on the wire is the byte count checked
        max_size=None,
        open_timeout=20,
    )


async def close_frame(ws: ClientConnection, timeout: float = 10) -> tuple[int, str, list[dict]]:
    """Read until the server closes: (code, reason) of its close frame and the frames before it."""
    frames = []
    try:
        async with asyncio.timeout(timeout):
            while True:
                frames.append(json.loads(await ws.recv()))
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, f"no close frame from the server: {closed}"
        return closed.rcvd.code, closed.rcvd.reason, frames
    raise AssertionError("unreachable")


def assert_no_traceback(log: Path) -> None:
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]


async def test_no_credentials_is_4001(web, db):
    port, log = web
    async with open_socket(port, origin_header=origin(port)) as ws:
        code, reason, frames = await close_frame(ws)
    assert (code, reason, frames) == (CLOSE_UNAUTHENTICATED, "not logged in", [])
    assert_no_traceback(log)


async def test_bad_ticket_is_4001(web, db):
    port, _ = web
    async with open_socket(port, "?ticket=not-a-ticket") as ws:
        code, reason, _ = await close_frame(ws)
    assert (code, reason) == (CLOSE_UNAUTHENTICATED, "ticket unknown, expired or used")


async def test_used_ticket_is_4001(web, user):
    port, _ = web
    one = await ticket(user)
    async with open_socket(port, f"?ticket={one}") as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
    async with open_socket(port, f"?ticket={one}") as ws:
        code, reason, _ = await close_frame(ws)
    assert (code, reason) == (CLOSE_UNAUTHENTICATED, "ticket unknown, expired or used")


async def test_foreign_origin_with_a_ticket_is_4003(web, user):
    port, _ = web
    async with open_socket(port, f"?ticket={await ticket(user)}", origin_header="https://evil.example") as ws:
        code, reason, _ = await close_frame(ws)
    assert (code, reason) == (CLOSE_FORBIDDEN_ORIGIN, "origin not allowed")


async def test_cookie_path_without_origin_is_4003(web, db):
    port, _ = web
    async with open_socket(port) as ws:
        code, reason, _ = await close_frame(ws)
    assert (code, reason) == (CLOSE_FORBIDDEN_ORIGIN, "origin missing or not allowed")


async def test_flood_gets_rate_limited_then_4029(web, user):
    port, log = web
    async with open_socket(port, f"?ticket={await ticket(user)}") as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        for _ in range(MAX_RATE + 1):
            await ws.send('{"type":"ping"}')
        code, reason, frames = await close_frame(ws)
    assert [f["type"] for f in frames] == ["pong"] * MAX_RATE + ["error"]
    assert frames[-1]["code"] == "rate_limited"
    assert (code, reason) == (CLOSE_RATE_LIMITED, f"more than {MAX_RATE} messages per second")
    assert_no_traceback(log)


async def test_one_stream_over_the_users_limit_is_4029(web, user):
    port, log = web
    held = [open_socket(port, f"?ticket={await ticket(user)}") for _ in range(MAX_CONNECTIONS)]
    sockets = [await connecting for connecting in held]
    try:
        for ws in sockets:
            assert json.loads(await ws.recv())["type"] == "hello"
        async with open_socket(port, f"?ticket={await ticket(user)}") as ws:
            code, reason, frames = await close_frame(ws)
        assert (code, reason, frames) == (
            CLOSE_RATE_LIMITED,
            f"more than {MAX_CONNECTIONS} connections for this user",
            [],
        )
    finally:
        for ws in sockets:
            await ws.close()
    assert_no_traceback(log)


@pytest.mark.parametrize("size", [MAX_FRAME + 1, 4 * 1024 * 1024], ids=["one-byte-over", "4MiB"])
async def test_oversize_frame_is_4013(web, user, size):
    port, log = web
    async with open_socket(port, f"?ticket={await ticket(user)}") as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        pad = size - len('{"type":"ping","pad":""}')
        await ws.send('{"type":"ping","pad":"' + "x" * pad + '"}')
        code, reason, frames = await close_frame(ws)
    assert frames == []
    assert (code, reason) == (CLOSE_TOO_BIG, f"frame over {MAX_FRAME} bytes")
    assert_no_traceback(log)


async def test_a_frame_at_the_limit_is_answered(web, user):
    port, _ = web
    async with open_socket(port, f"?ticket={await ticket(user)}") as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        await ws.send('{"type":"ping","pad":"' + "x" * (MAX_FRAME - 24) + '"}')
        assert json.loads(await ws.recv())["type"] == "pong"


async def test_silent_client_is_4008(web, user):
    port, log = web
    async with open_socket(port, f"?ticket={await ticket(user)}") as ws:
        code, reason, frames = await close_frame(ws, timeout=15)
    assert frames[0]["type"] == "hello"
    assert {f["type"] for f in frames[1:]} == {"heartbeat"}
    assert (code, reason) == (CLOSE_SILENT, f"no frame for {3 * HEARTBEAT} s")
    assert_no_traceback(log)
