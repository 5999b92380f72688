"""Every way in, and every refusal, with the documented close codes."""

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.db.backends.utils import CursorWrapper

from realtime.auth import CLOSE_FORBIDDEN_ORIGIN, CLOSE_UNAUTHENTICATED, origin_is_allowed
from realtime.close_codes import CLOSE_RATE_LIMITED
from realtime.publish import publish
from realtime.schemas import NOTIFICATION, notification_data
from tests.factories import UserFactory
from tests.realtime.conftest import (
    ORIGIN,
    closed_with,
    communicator,
    open_with_ticket,
    session_cookie_for,
    ticket_for,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_ticket_connects_and_says_hello(user, settings):
    comm, hello = await open_with_ticket(user)
    assert hello["user"] == user.pk
    assert hello["last_seq"] == 0
    assert hello["heartbeat"] == settings.WS_HEARTBEAT_SECONDS
    assert "server_time" in hello
    await comm.disconnect()


async def test_ticket_works_once(user):
    ticket = await ticket_for(user)
    first = communicator(f"/ws/stream/?ticket={ticket}")
    assert (await first.connect())[0]
    assert (await first.receive_json_from(timeout=5))["type"] == "hello"
    second = communicator(f"/ws/stream/?ticket={ticket}")
    await second.connect()
    assert await closed_with(second) == CLOSE_UNAUTHENTICATED
    await first.disconnect()
    await second.disconnect()


@pytest.mark.parametrize("ticket", ["", "nope", "x" * 300])
async def test_unknown_ticket_is_refused(user, ticket):
    comm = communicator(f"/ws/stream/?ticket={ticket}")
    await comm.connect()
    assert await closed_with(comm) == CLOSE_UNAUTHENTICATED
    await comm.disconnect()


async def test_expired_ticket_is_refused(user, settings):
    settings.WS_TICKET_TTL_SECONDS = 1
    ticket = await ticket_for(user)
    await asyncio.sleep(1.5)
    comm = communicator(f"/ws/stream/?ticket={ticket}")
    await comm.connect()
    assert await closed_with(comm) == CLOSE_UNAUTHENTICATED
    await comm.disconnect()


async def test_ticket_of_a_deactivated_user_is_refused(user):
    ticket = await ticket_for(user)
    user.is_active = False
    await database_sync_to_async(user.save)()
    comm = communicator(f"/ws/stream/?ticket={ticket}")
    await comm.connect()
    assert await closed_with(comm) == CLOSE_UNAUTHENTICATED
    await comm.disconnect()


class _Statements:
    """SQL statements run by any thread (the consumer's reads run on a pool
    thread, out of reach of a per-connection CaptureQueriesContext)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sql: list[str] = []
        real = CursorWrapper._execute

        def counted(cursor: CursorWrapper, sql: str, *args: Any) -> Any:
            self.sql.append(sql)
            return real(cursor, sql, *args)

        monkeypatch.setattr(CursorWrapper, "_execute", counted)


async def test_a_ticket_connection_costs_one_statement_and_no_session(user, monkeypatch):
    """A reconnect storm is tickets: the ticket is redeemed in Redis, and one
    statement reads "still active" and `last_seq` together (docs/scaling.md)."""
    ticket = await ticket_for(user)
    statements = _Statements(monkeypatch)
    comm = communicator(f"/ws/stream/?ticket={ticket}")
    await comm.connect()
    assert (await comm.receive_json_from(timeout=5))["type"] == "hello"
    assert len(statements.sql) == 1, statements.sql
    assert "django_session" not in statements.sql[0]
    await comm.disconnect()


async def test_streams_that_start_together_share_their_reads(monkeypatch):
    """A reconnect storm: 40 streams (two of them the same user's, one of a
    user deactivated since the ticket) start at once. Each hello names its
    own user and last seq, the deactivated one is refused, and the reads go
    in batches, not one statement per stream (realtime.coalesce)."""
    users = await database_sync_to_async(lambda: UserFactory.create_batch(39))()
    quiet = users[1]
    await database_sync_to_async(_publish_notifications)(users[0], 3)
    gone = users[2]
    tickets = [await ticket_for(u) for u in [*users, users[0]]]
    gone.is_active = False
    await database_sync_to_async(gone.save)()
    statements = _Statements(monkeypatch)
    comms = [communicator(f"/ws/stream/?ticket={t}") for t in tickets]
    await asyncio.gather(*(c.connect() for c in comms))
    first = await asyncio.gather(*(c.receive_output(timeout=5) for c in comms))
    hellos = {
        index: json.loads(message["text"])
        for index, message in enumerate(first)
        if message["type"] == "websocket.send"
    }
    refused = [index for index, message in enumerate(first) if message["type"] == "websocket.close"]
    assert refused == [2]
    assert first[2]["code"] == CLOSE_UNAUTHENTICATED
    expected_users = [u.pk for u in [*users, users[0]]]
    assert {i: (h["type"], h["user"]) for i, h in hellos.items()} == {
        i: ("hello", expected_users[i]) for i in range(40) if i != 2
    }
    assert hellos[0]["last_seq"] == hellos[39]["last_seq"] == 3
    assert hellos[users.index(quiet)]["last_seq"] == 0
    assert 1 <= len(statements.sql) <= 10, statements.sql  # 40 one-by-one before
    await asyncio.gather(*(c.disconnect() for c in comms))


def _publish_notifications(user: Any, count: int) -> None:
    with transaction.atomic():
        for n in range(count):
            publish(user_id=user.pk, event=NOTIFICATION, data=notification_data(title=str(n), body=""))


async def test_a_session_connection_reads_the_session_then_one_statement(user, monkeypatch):
    cookie = await session_cookie_for(user)
    statements = _Statements(monkeypatch)
    comm = communicator(headers=[(b"cookie", f"sessionid={cookie}".encode()), (b"origin", ORIGIN)])
    await comm.connect()
    assert (await comm.receive_json_from(timeout=5))["type"] == "hello"
    tables = [next(t for t in ("django_session", "auth_user") if t in sql) for sql in statements.sql]
    assert tables == ["django_session", "auth_user", "auth_user"], statements.sql
    await comm.disconnect()


async def test_ticket_from_a_foreign_origin_is_refused(user):
    ticket = await ticket_for(user)
    comm = communicator(f"/ws/stream/?ticket={ticket}", headers=[(b"origin", b"https://evil.example")])
    await comm.connect()
    assert await closed_with(comm) == CLOSE_FORBIDDEN_ORIGIN
    await comm.disconnect()


async def test_ticket_with_an_allowed_origin_connects(user):
    ticket = await ticket_for(user)
    comm = communicator(f"/ws/stream/?ticket={ticket}", headers=[(b"origin", ORIGIN)])
    await comm.connect()
    assert (await comm.receive_json_from(timeout=5))["user"] == user.pk
    await comm.disconnect()


async def test_session_cookie_with_allowed_origin_connects(user):
    cookie = await session_cookie_for(user)
    comm = communicator(headers=[(b"cookie", f"sessionid={cookie}".encode()), (b"origin", ORIGIN)])
    await comm.connect()
    hello = await comm.receive_json_from(timeout=5)
    assert (hello["type"], hello["user"]) == ("hello", user.pk)
    await comm.disconnect()


@pytest.mark.parametrize(
    "origin",
    [
        b"https://evil.example",
        b"null",
        b"http://testserver.evil.example",
        b"file://",
        b"testserver",
        b"http://testserver:9999",  # same host, another port: another origin
        None,
    ],
)
async def test_session_cookie_with_foreign_missing_or_null_origin_is_refused(user, origin):
    cookie = await session_cookie_for(user)
    headers = [(b"cookie", f"sessionid={cookie}".encode())]
    if origin is not None:
        headers.append((b"origin", origin))
    comm = communicator(headers=headers)
    await comm.connect()
    assert await closed_with(comm) == CLOSE_FORBIDDEN_ORIGIN
    await comm.disconnect()


@pytest.mark.parametrize("cookie", [None, b"sessionid=forged"])
async def test_no_session_is_refused(db, cookie):
    headers = [(b"origin", ORIGIN)]
    if cookie:
        headers.append((b"cookie", cookie))
    comm = communicator(headers=headers)
    await comm.connect()
    assert await closed_with(comm) == CLOSE_UNAUTHENTICATED
    await comm.disconnect()


async def test_refused_connection_ignores_what_it_is_sent(user):
    comm = communicator("/ws/stream/?ticket=bad")
    await comm.connect()
    assert await closed_with(comm) == CLOSE_UNAUTHENTICATED
    await comm.send_json_to({"type": "resume", "since": 0})
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


@pytest.mark.parametrize(
    ("origin", "host", "secure", "allowed"),
    [
        ("http://testserver", "testserver", False, True),
        ("http://testserver:80", "testserver", False, True),
        ("https://testserver", "testserver:443", True, True),
        ("https://testserver", "testserver", False, True),  # TLS ended by a proxy: ws behind https
        ("http://testserver", "testserver", True, False),  # a wss socket from an http page
        ("http://testserver:8000", "testserver:8001", False, False),
        ("http://localhost:8000", "testserver:8000", False, False),  # another allowed host
        ("http://testserver", None, False, False),
        ("https://app.example", "testserver", True, True),  # listed in CSRF_TRUSTED_ORIGINS
        ("https://app.example:444", "testserver", True, False),
    ],
)
def test_origin_is_the_pages_own(settings, origin, host, secure, allowed):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example"]
    assert origin_is_allowed(origin, host=host, secure=secure) is allowed


async def test_a_user_with_the_limit_of_open_streams_is_refused_the_next_until_one_closes(user, settings):
    settings.WS_MAX_CONNECTIONS_PER_USER = 2
    first, _ = await open_with_ticket(user)
    second, _ = await open_with_ticket(user)
    third = communicator(f"/ws/stream/?ticket={await ticket_for(user)}")
    await third.connect()
    closed = await third.receive_output(timeout=5)
    assert (closed["code"], closed["reason"]) == (CLOSE_RATE_LIMITED, "more than 2 connections for this user")
    await third.disconnect()

    await first.disconnect()
    again, hello = await open_with_ticket(user)
    assert hello["user"] == user.pk
    for comm in (second, again):
        await comm.disconnect()


async def test_the_stream_limit_is_per_user(user, other_user, settings):
    settings.WS_MAX_CONNECTIONS_PER_USER = 1
    mine, _ = await open_with_ticket(user)
    theirs, hello = await open_with_ticket(other_user)
    assert hello["user"] == other_user.pk
    for comm in (mine, theirs):
        await comm.disconnect()
