"""Accounts: sign-up, the login brute-force limiter, and API tokens.

The limiter counts failed logins per (username, client address) in the
cache (Redis): after `LOGIN_FAILURE_LIMIT` failures within
`LOGIN_FAILURE_WINDOW` seconds, further attempts for that pair are refused
without checking the password until the window ends. Keying on the pair (not
the username alone) means an attacker cannot lock a victim out from
everywhere; keying on the username too means one address cannot try many
passwords for one account. The page login and the token endpoint share it.
"""

import hashlib
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from rest_framework.authtoken.models import Token

from config.errors import DomainError

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class LoginThrottled(DomainError):
    code = "login_throttled"
    http_status = 429


def _failures_key(*, username: str, client_ip: str) -> str:
    digest = hashlib.sha256(f"{username.casefold()}|{client_ip}".encode()).hexdigest()
    return f"login-failures:{digest}"


def login_throttle_check(*, username: str, client_ip: str) -> None:
    """Raise `LoginThrottled` if this (username, address) has used up its failures."""
    failures = cache.get(_failures_key(username=username, client_ip=client_ip), 0)
    if failures >= settings.LOGIN_FAILURE_LIMIT:
        minutes = max(1, round(settings.LOGIN_FAILURE_WINDOW / 60))
        raise LoginThrottled(
            "Too many failed login attempts. "
            f"Try again in about {minutes} minute{'s' if minutes > 1 else ''}."
        )


def login_failure_record(*, username: str, client_ip: str) -> int:
    """Count one failed login; the window starts at the first failure."""
    key = _failures_key(username=username, client_ip=client_ip)
    cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW)
        return 1


def login_failures_clear(*, username: str, client_ip: str) -> None:
    cache.delete(_failures_key(username=username, client_ip=client_ip))


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
