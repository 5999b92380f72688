"""Every code the stream closes a WebSocket with (docs/realtime.md "Close codes").

4000 + the HTTP status of the same refusal. An application behind an ASGI
server may send only 1000 and 3000-4999 (autobahn's sendClose raises on
1008/1009: daphne turned that into a 1011 and a traceback), so the standard
1008 (policy) and 1009 (too big) are not available to the consumer.

No imports: the server launcher (realtime.server) reads it before Django is
set up.
"""

CLOSE_UNAUTHENTICATED = 4001  # 401: no session; ticket unknown, expired, used
CLOSE_FORBIDDEN_ORIGIN = 4003  # 403: Origin not allowed for the credential
CLOSE_SILENT = 4008  # 408: no client frame for 3 heartbeat intervals
CLOSE_TOO_BIG = 4013  # 413: a client frame above WS_MAX_FRAME_BYTES
CLOSE_RATE_LIMITED = 4029  # 429: more than WS_MAX_MESSAGES_PER_SECOND frames,
# or more than WS_MAX_CONNECTIONS_PER_USER open streams on one web process

# Sent by the server itself (realtime/daphne_server.py), not the consumer: the
# process is draining (SIGTERM: a deploy or a restart). The standard "Service
# Restart" code; the client reconnects at once (with jitter) and resumes with
# `?since=`: another process serves it.
CLOSE_SERVICE_RESTART = 1012
SERVICE_RESTART_REASON = "server restarting, reconnect"


def too_big_reason(limit: int) -> str:
    """The close reason of an oversize frame, the same whether the consumer or
    the server's frame parser (realtime.server) caught it."""
    return f"frame over {limit} bytes"


def too_many_connections_reason(limit: int) -> str:
    return f"more than {limit} connections for this user"
