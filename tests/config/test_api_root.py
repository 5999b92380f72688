"""`/api/v1/`: the API root links to every resource and to the docs, which are
served from the installed sidecar package, never from another host."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db
ROOT = "/api/v1/"


def test_root_lists_every_parameterless_api_route_and_the_docs(auth_client):
    response = auth_client.get(ROOT, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    body = response.json()
    resources = body["resources"]
    for name, path in {
        "wallet-list": "/api/v1/wallets/",
        "wallet-deposit": "/api/v1/wallets/deposits/",
        "wallet-entry-list": "/api/v1/wallets/entries/",
        "trade-api-list": "/api/v1/trades/",
        "plan-api-list": "/api/v1/plans/",
        "instrument-list": "/api/v1/instruments/",
        "event-list": "/api/v1/events/",
        "auth-token": "/api/v1/auth/token/",
        "ops-health": "/api/v1/ops/health/",
    }.items():
        assert resources[name] == "http://testserver" + path
    assert not any("<" in url or "(?P" in url for url in resources.values())
    assert body["documentation"] == {
        "schema": "http://testserver/api/v1/schema/",
        "swagger_ui": "http://testserver/api/v1/docs/",
        "redoc": "http://testserver/api/v1/redoc/",
        "asyncapi": "http://testserver/api/v1/realtime/asyncapi.yaml",
    }


def test_every_link_of_the_root_resolves_to_something_other_than_404(auth_client):
    body = auth_client.get(ROOT, HTTP_ACCEPT="application/json").json()
    for url in [*body["resources"].values(), *body["documentation"].values()]:
        response = auth_client.get(url.removeprefix("http://testserver"))
        assert response.status_code != 404, url


def test_root_is_browsable(auth_client):
    response = auth_client.get(ROOT, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Api Root" in response.content and b"/api/v1/docs/" in response.content


def test_root_needs_authentication_like_the_api(api_client):
    response = api_client.get(ROOT)
    assert response.status_code == 401


def test_nav_api_link_of_a_staff_user_is_the_root(staff_user):
    from django.test import Client

    browser = Client()
    browser.force_login(staff_user)
    page = browser.get(reverse("dashboard")).content.decode()
    assert 'href="/api/v1/"' in page
    assert browser.get("/api/v1/").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_load_assets_only_from_this_site(client, path):
    html = client.get(path).content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    local = ("/static/drf_spectacular_sidecar/", "/api/v1/")
    assert all(asset.startswith(local) for asset in assets), assets
    assert "http://" not in html and "https://" not in html


def test_redoc_page_has_its_own_policy(client):
    response = client.get("/api/v1/redoc/")
    assert "img-src 'self' data:" in response["Content-Security-Policy"]


def test_docs_pages_and_root_are_not_operations_of_the_schema(client):
    paths = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert not {"/api/v1/", "/api/v1/docs/", "/api/v1/redoc/", "/api/v1/schema/"} & set(paths)
