"""WebSocket routes: /ws/stream/ (docs/realtime.md).

SessionMiddlewareStack reads the session cookie into a lazy scope["session"];
the consumer itself checks the Origin, the ticket or the session's user
(realtime.auth), because Channels' own origin validator refuses before accept
and the client would not see the documented close code. Not
AuthMiddlewareStack: it loads the session's user for every connection, a
thread hop per accept even for ticket connections that carry no cookie."""

from channels.routing import URLRouter
from channels.sessions import SessionMiddlewareStack
from django.urls import path

from realtime.consumers import StreamConsumer

websocket_application = SessionMiddlewareStack(
    URLRouter([path("ws/stream/", StreamConsumer.as_asgi())]),
)
