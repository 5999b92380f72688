"""OPTIONS and HEAD on every route of the URL conf, anonymous and logged in:
never a 5xx, always a request id (issue 11, H4: OPTIONS of the Swagger UI
page was a 500). Walked from the URL conf, so a new route is covered the
day it is added."""

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern

from ops.requestid import HEADER
from tests.factories import InstrumentFactory, UserFactory

pytestmark = pytest.mark.django_db

SAMPLES = {"int": "1", "id": "1", "symbol": "EDGE-USD", "path": "1", "slug": "x", "str": "x"}


def _regex_sample(regex: str) -> str:
    """A path a regex route matches: each named group its first alternative
    (`auth|wallets` -> `auth`), a digit for a digits group, else `x`."""

    def group(match: re.Match[str]) -> str:
        body = match.group(1)
        if body.startswith("[0-9]"):
            return "1"
        if re.fullmatch(r"[\w|]+", body):
            return body.split("|")[0]
        return "x"

    return re.sub(r"\(\?P<\w+>([^)]*)\)", group, regex.lstrip("^").rstrip("$"))


def _sample(pattern: Any) -> str:
    if isinstance(pattern, RegexPattern):
        return _regex_sample(str(pattern))
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES.get(m.group(1) or "str", "x"), str(pattern))


def _routes(entries: list[Any], prefix: str = "/") -> list[str]:
    found = []
    for entry in entries:
        route = prefix + _sample(entry.pattern)
        if isinstance(entry, URLResolver):
            found += _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            found.append(route)
    return found


ROUTES = sorted(set(_routes(get_resolver().url_patterns)))


def test_the_walk_covers_the_url_conf():
    assert len(ROUTES) > 100
    assert {"/api/v1/docs/", "/api/v1/redoc/", "/api/v1/schema/", "/api/check-trade-status/"} <= set(ROUTES)
    assert "/admin/auth/" in ROUTES and "/api/v1/wallets/accounts/1/" in ROUTES


@pytest.fixture
def clients() -> dict[str, Client]:
    InstrumentFactory(symbol="EDGE-USD")
    user, staff = UserFactory(), UserFactory(is_staff=True, is_superuser=True)
    logged_in, staff_client = Client(raise_request_exception=False), Client(raise_request_exception=False)
    logged_in.force_login(user)
    staff_client.force_login(staff)
    return {"anonymous": Client(raise_request_exception=False), "user": logged_in, "staff": staff_client}


@pytest.mark.parametrize("route", ROUTES)
def test_options_and_head_are_never_a_5xx(clients, route):
    for who, client in clients.items():
        for method in ("options", "head"):
            response = getattr(client, method)(route)
            assert response.status_code < 500, (route, who, method, response.status_code)
            assert response.has_header(HEADER), (route, who, method)
            if response.status_code == 405:
                assert response.has_header("Allow"), (route, who, method)
                if route.startswith("/api/"):
                    assert response["Content-Type"] == "application/json", (route, who, method)


@pytest.mark.parametrize("route", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_options_of_a_docs_page_is_200_with_allow_and_no_body(route):
    response = Client().options(route)
    assert response.status_code == 200
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert response.content == b""
