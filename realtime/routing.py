"""WebSocket routes. Filled in by the realtime app (docs/realtime.md)."""

from channels.routing import URLRouter

websocket_application = URLRouter([])
