"""WebSocket authentication at connect time.

Two paths (docs/realtime.md, "Authentication"):
- `?ticket=`: a single-use ticket from `POST /api/v1/realtime/tickets/`.
  Native clients send no Origin, so none is required; a browser that sends
  one must send an allowed one (a page on another site that somehow got a
  ticket still cannot use it).
  The ticket is redeemed in Redis on the event loop; that its user is still
  active is checked by the consumer's first query (selectors.stream_starts).
- otherwise the session cookie, and then the page's own origin is required:
  an Origin whose host and port are the handshake's Host (a host in
  ALLOWED_HOSTS), https when the socket is wss, or an origin listed in
  CSRF_TRUSTED_ORIGINS. A missing, `null` or foreign Origin is refused, since
  a cookie is sent by the browser whatever page opened the socket (cross-site
  WebSocket hijacking); another port of the same host is another origin.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.auth import get_user
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from realtime import services
from realtime.close_codes import CLOSE_FORBIDDEN_ORIGIN, CLOSE_UNAUTHENTICATED


@dataclass(frozen=True)
class AuthResult:
    user_id: int | None
    close_code: int | None
    reason: str


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


_DEFAULT_PORT = {"http": "80", "https": "443"}


def origin_is_allowed(origin: str | None, *, host: str | None, secure: bool) -> bool:
    """True if `origin` is the origin of the page the handshake came from."""
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in _DEFAULT_PORT or not parts.netloc:
        return False
    if origin.rstrip("/").lower() in {o.rstrip("/").lower() for o in settings.CSRF_TRUSTED_ORIGINS}:
        return True
    origin_host, origin_port = split_domain_port(parts.netloc)
    if not origin_host or not validate_host(origin_host, settings.ALLOWED_HOSTS):
        return False
    if (secure and parts.scheme != "https") or not host:
        return False
    host_name, host_port = split_domain_port(host)
    # A port left out is the default of the page's scheme (behind a TLS
    # proxy the socket may arrive as ws while the page was https).
    default = _DEFAULT_PORT[parts.scheme]
    return origin_host == host_name and (origin_port or default) == (host_port or default)


async def authenticate(scope: dict[str, Any]) -> AuthResult:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    origin = _header(scope, b"origin")
    host, secure = _header(scope, b"host"), scope.get("scheme") == "wss"
    if "ticket" in query:
        if origin is not None and not origin_is_allowed(origin, host=host, secure=secure):
            return AuthResult(None, CLOSE_FORBIDDEN_ORIGIN, "origin not allowed")
        user_id = await services.ticket_redeem(ticket=query["ticket"][0])
        if user_id is None:
            return AuthResult(None, CLOSE_UNAUTHENTICATED, "ticket unknown, expired or used")
        return AuthResult(user_id, None, "ticket")
    if not origin_is_allowed(origin, host=host, secure=secure):
        return AuthResult(None, CLOSE_FORBIDDEN_ORIGIN, "origin missing or not allowed")
    # Only now, and only for a cookie: a ticket connection never loads a session.
    user = await get_user(scope)
    if not user.is_authenticated or not user.is_active:
        return AuthResult(None, CLOSE_UNAUTHENTICATED, "not logged in")
    return AuthResult(user.pk, None, "session")
