"""Small, typed readers for environment variables (twelve-factor config)."""

import os
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured


def env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_networks(name: str, default: str) -> list[str]:
    """A comma-separated list of IP addresses or networks (CIDR), each
    checked; returned as written (normalised), for ipaddress.ip_network."""
    import ipaddress

    networks = []
    for item in env_list(name, default):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an IP address or network") from exc
    return networks


def env_gc_thresholds(name: str, default: str) -> tuple[int, int, int] | None:
    """Three positive integers for gc.set_threshold ("50000,2,3"), or None
    for "python": CPython's own thresholds, left as they are."""
    raw = os.environ.get(name, default).strip()
    if raw == "python":
        return None
    try:
        values = tuple(int(item) for item in raw.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) < 1:
        raise ImproperlyConfigured(
            f"{name} must be three positive integers (e.g. 50000,2,3) or python, got {raw!r}"
        )
    return values[0], values[1], values[2]


def with_database(url: str, name: str) -> str:
    """`url` naming the database `name` instead. Everything else passes
    through as written (user, a percent-encoded password, a Unix-socket
    directory as host, port, query options such as sslmode), so a child
    process given this URL connects exactly as its parent does."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
