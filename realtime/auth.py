"""WebSocket authentication at connect time.

Two paths (docs/realtime.md, "Authentication"):
- `?ticket=`: a single-use ticket from `POST /api/v1/realtime/tickets/`.
  Native clients send no Origin, so none is required; a browser that sends
  one must send an allowed one (a page on another site that somehow got a
  ticket still cannot use it).
- otherwise the session cookie, and then an Origin header whose host is in
  ALLOWED_HOSTS is required: a missing or `null` Origin is refused, since a
  cookie is sent by the browser whatever page opened the socket (cross-site
  WebSocket hijacking).
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from realtime import selectors, services
from realtime.db import db

CLOSE_UNAUTHENTICATED = 4001
CLOSE_FORBIDDEN_ORIGIN = 4003


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


def origin_is_allowed(origin: str | None) -> bool:
    """True if `origin` is a real origin whose host Django's validate_host accepts."""
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    host, _port = split_domain_port(parts.netloc)
    return bool(host) and validate_host(host, settings.ALLOWED_HOSTS)


def _ticket_user(ticket: str) -> int | None:
    user_id = services.ticket_redeem(ticket=ticket)
    if user_id is None:
        return None
    user = selectors.stream_user(user_id=user_id)
    return user.pk if user is not None else None


async def authenticate(scope: dict[str, Any]) -> AuthResult:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    origin = _header(scope, b"origin")
    if "ticket" in query:
        if origin is not None and not origin_is_allowed(origin):
            return AuthResult(None, CLOSE_FORBIDDEN_ORIGIN, "origin not allowed")
        user_id = await db(_ticket_user)(query["ticket"][0])
        if user_id is None:
            return AuthResult(None, CLOSE_UNAUTHENTICATED, "ticket unknown, expired or used")
        return AuthResult(user_id, None, "ticket")
    if not origin_is_allowed(origin):
        return AuthResult(None, CLOSE_FORBIDDEN_ORIGIN, "origin missing or not allowed")
    user = scope.get("user")
    if user is None or not user.is_authenticated or not user.is_active:
        return AuthResult(None, CLOSE_UNAUTHENTICATED, "not logged in")
    return AuthResult(user.pk, None, "session")
