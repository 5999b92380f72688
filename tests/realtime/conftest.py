"""Helpers for the consumer tests: a WebsocketCommunicator against the real
routing (cookies, the session, the consumer) and the real channels-redis layer."""

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from realtime import registry, services
from realtime.publish import publish
from realtime.routing import websocket_application
from realtime.schemas import notification_data

ORIGIN = b"http://testserver"


async def ticket_for(user: Any) -> str:
    return await sync_to_async(services.ticket_create)(user_id=user.pk)


async def session_cookie_for(user: Any) -> str:
    def login() -> str:
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    return await database_sync_to_async(login)()


def communicator(
    path: str = "/ws/stream/", headers: list[tuple[bytes, bytes]] | None = None
) -> WebsocketCommunicator:
    """A handshake to `testserver`, as a browser or client sends it (Host is always there)."""
    headers = list(headers or [])
    if not any(name == b"host" for name, _ in headers):
        headers.append((b"host", b"testserver"))
    return WebsocketCommunicator(websocket_application, path, headers=headers)


async def open_with_ticket(user: Any, *, query: str = "") -> tuple[WebsocketCommunicator, dict[str, Any]]:
    """A connected communicator past its `hello` frame."""
    ticket = await ticket_for(user)
    comm = communicator(f"/ws/stream/?ticket={ticket}{query}")
    connected, _ = await comm.connect()
    assert connected
    hello = await comm.receive_json_from(timeout=5)
    assert hello["type"] == "hello", hello
    return comm, hello


async def closed_with(comm: WebsocketCommunicator) -> int:
    """The close code the server sent next (skipping nothing else)."""
    message = await comm.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    return int(message["code"])


def publish_notes(user_id: int, titles: list[str]) -> list[int]:
    with transaction.atomic():
        return [
            publish(user_id=user_id, event="notification", data=notification_data(title=t, body="b")).seq
            for t in titles
        ]


apublish_notes: Callable[..., Any] = database_sync_to_async(publish_notes)


@pytest.fixture
def symbols(monkeypatch):
    monkeypatch.setattr(registry, "_symbol_lookup", None)
    registry.register_symbol_lookup(lambda s: s in {"BTC-USD", "ETH-USD", "GOOG"})
