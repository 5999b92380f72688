"""The HTTP session pushes go out through: the worker POSTs to a URL a user
gave, so it must never reach an address that is not on the public internet.

`endpoint_check` refuses IP literals and local names when a subscription is
saved; a public name can still resolve to a private address (a DNS record of
the attacker's, or one that changes later), and a push service could answer
with a redirect. So at send time the host is resolved and every address must
be global (`ipaddress.is_global`), and redirects are never followed (a 3xx
is a refusal). What is left is DNS rebinding between this check and
requests' own lookup, a window of milliseconds (docs/push.md)."""

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class EndpointRefused(requests.RequestException):
    """The endpoint's host is, or resolves to, an address that is not public."""


def host_check(url: str) -> None:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # out of range: saved before the API refused it
        port = 0
    if port == 0:
        raise EndpointRefused(f"{url!r} has no valid port")
    host = (parts.hostname or "").rstrip(".").lower()
    if settings.PUSH_ALLOW_HTTP_LOOPBACK and host in LOOPBACK_HOSTS:
        return  # the tests' local push service; DEBUG
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise requests.ConnectionError(f"cannot resolve {host!r}: {exc}") from exc
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if not address.is_global:
            raise EndpointRefused(f"{host!r} resolves to {address}, which is not a public address")


class PushSession(requests.Session):
    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        host_check(url if isinstance(url, str) else url.decode())
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)
