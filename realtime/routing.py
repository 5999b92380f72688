"""WebSocket routes: /ws/stream/ (docs/realtime.md).

AuthMiddlewareStack resolves the session cookie into scope["user"]; the
consumer itself checks the Origin and the ticket (realtime.auth), because
Channels' own origin validator refuses before accept and the client would
not see the documented close code."""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from django.urls import path

from realtime.consumers import StreamConsumer

websocket_application = AuthMiddlewareStack(
    URLRouter([path("ws/stream/", StreamConsumer.as_asgi())]),
)
