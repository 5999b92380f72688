"""Accounts: sign-up, the login brute-force limiter, and API tokens.

The limiter counts failed logins in the cache (Redis) under three keys, each
with its own limit within `LOGIN_FAILURE_WINDOW` seconds (the window starts
at a key's first failure):

- per (username, client address), `LOGIN_FAILURE_LIMIT`: one address
  guessing one account's password;
- per username over every address, `LOGIN_FAILURE_LIMIT_PER_USER` (higher):
  a guess at one account spread over many addresses;
- per address over every username, `LOGIN_FAILURE_LIMIT_PER_ADDRESS`:
  password spraying, one common password tried on many accounts.

Once any count reaches its limit, further attempts that it covers are refused
without checking the password until the window ends, with one message that
says nothing about whether the username exists (unknown usernames are counted
the same way). A success clears only the pair count: clearing the wider
counts would let an attacker reset them by logging in to an account of their
own. The page login and the token endpoint share the limiter. The client
address is `client_ip`'s (REMOTE_ADDR unless `TRUSTED_PROXY_COUNT` is set).
"""

import hashlib
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from rest_framework.authtoken.models import Token

from core.errors import DomainError

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class LoginThrottled(DomainError):
    code = "login_throttled"
    http_status = 429


def client_ip(request: Any) -> str:
    """The client address. With `TRUSTED_PROXY_COUNT` = 0 (the default) it is
    REMOTE_ADDR and X-Forwarded-For is ignored, since any client can send one.
    With N trusted proxies, each appending the address it saw, the client is
    the N-th address from the right of X-Forwarded-For (DRF's `NUM_PROXIES`
    rule, so the throttles and the limiter agree)."""
    if request is None:
        return ""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = int(settings.TRUSTED_PROXY_COUNT)
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    if proxies <= 0 or not forwarded:
        return remote
    addresses = [a.strip() for a in forwarded.split(",")]
    return addresses[-min(proxies, len(addresses))] or remote


def _failure_keys(*, username: str, client_ip: str) -> list[tuple[str, int]]:
    """(cache key, limit) of each count a login attempt falls under."""

    def key(scope: str, value: str) -> str:
        return f"login-failures:{scope}:{hashlib.sha256(value.encode()).hexdigest()}"

    name = username.casefold()
    return [
        (key("pair", f"{name}|{client_ip}"), settings.LOGIN_FAILURE_LIMIT),
        (key("user", name), settings.LOGIN_FAILURE_LIMIT_PER_USER),
        (key("addr", client_ip), settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS),
    ]


def login_throttle_check(*, username: str, client_ip: str) -> None:
    """Raise `LoginThrottled` if any failure count this attempt falls under is used up."""
    keys = _failure_keys(username=username, client_ip=client_ip)
    counts = cache.get_many([key for key, _ in keys])
    if any(counts.get(key, 0) >= limit for key, limit in keys):
        minutes = max(1, round(settings.LOGIN_FAILURE_WINDOW / 60))
        raise LoginThrottled(
            "Too many failed login attempts. "
            f"Try again in about {minutes} minute{'s' if minutes > 1 else ''}."
        )


def _count(key: str) -> int:
    cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW)
        return 1


def login_failure_record(*, username: str, client_ip: str) -> int:
    """Count one failed login under every key; return the pair's count."""
    counts = [_count(key) for key, _ in _failure_keys(username=username, client_ip=client_ip)]
    return counts[0]


def login_failures_clear(*, username: str, client_ip: str) -> None:
    """After a success: forget the pair's failures only (see the module docstring)."""
    cache.delete(_failure_keys(username=username, client_ip=client_ip)[0][0])


def user_signup(*, username: str, email: str, password: str) -> "User":
    """Create a user. The password has passed Django's validators (the form).

    Wallet accounts are not created here: the ledger creates a user's
    accounts on their first money movement (docs/ledger.md)."""
    with transaction.atomic():
        return get_user_model().objects.create_user(username=username, email=email, password=password)


def token_obtain(*, user: AbstractBaseUser) -> Token:
    """The user's API token (one per user; created on first request)."""
    token, _ = Token.objects.get_or_create(user=user)
    return token


def token_revoke(*, user: AbstractBaseUser) -> bool:
    """Delete the user's API token; True if there was one."""
    deleted, _ = Token.objects.filter(user_id=user.pk).delete()
    return deleted > 0
