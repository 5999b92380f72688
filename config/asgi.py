"""ASGI entry point: HTTP goes to Django, WebSockets to the realtime router.

`django_asgi_app` is built before anything imports models, as Channels
requires."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from ops.wsmetrics import stream_metrics  # noqa: E402
from realtime.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Counts connections and delivered event frames (ops/wsmetrics.py).
        "websocket": stream_metrics(websocket_application),
    }
)
