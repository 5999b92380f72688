"""WebSocket routes: /ws/stream/ (docs/realtime.md).

`SessionAtConnect` puts the session the cookie names into scope["session"]
(loaded only when read); the consumer itself checks the Origin, the ticket
or the session's user (realtime.auth), because Channels' own origin
validator refuses before accept and the client would not see the documented
close code. Not AuthMiddlewareStack: it loads the session's user for every
connection, a thread hop per accept even for ticket connections that carry
no cookie. Not SessionMiddlewareStack: it wraps every message the consumer
sends, to save a session the consumer changed; the stream never changes the
session, and the wrapper ran for every event and tick frame."""

from functools import partial
from importlib import import_module
from typing import Any

from channels.routing import URLRouter
from channels.sessions import CookieMiddleware
from django.conf import settings
from django.urls import path
from django.utils.functional import SimpleLazyObject

from realtime.consumers import StreamConsumer


class SessionAtConnect:
    """scope["session"]: the session named by the cookie (CookieMiddleware
    parsed the cookies), a store made when first used (a ticket connection
    never uses it) that reads the database only when read.
    Read-only: nothing saves it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        key = scope["cookies"].get(settings.SESSION_COOKIE_NAME)
        return await self.inner({**scope, "session": SimpleLazyObject(partial(_store, key))}, receive, send)


def _store(key: str | None) -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore(key)


websocket_application = CookieMiddleware(
    SessionAtConnect(URLRouter([path("ws/stream/", StreamConsumer.as_asgi())])),
)
