"""Branded error pages, JSON errors under /api/, and the request id that ties
a 500 to its log line."""

import logging
import re

import pytest
from django.test import Client

from ops.requestid import HEADER, RequestContextFilter, request_id_for

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.frontend.urls_failing")]


@pytest.fixture
def client():
    # Answer as a real server does instead of re-raising the view's error.
    return Client(raise_request_exception=False)


def test_debug_is_off_in_the_tests_as_in_dev_run(settings):
    assert settings.DEBUG is False


def test_404_page_is_branded_and_shows_the_request_id(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and 'class="brand"' in html and "frontend/css/base.css" in html
    assert response[HEADER] in html
    assert "Traceback" not in html and "urlpatterns" not in html.lower()


def test_404_under_api_is_json(client):
    response = client.get("/api/v1/no-such-resource/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "not_found",
        "detail": "There is nothing at this address.",
        "request_id": response[HEADER],
    }


def test_400_page_and_json(client):
    page = client.get("/suspicious/")
    assert page.status_code == 400 and "Bad request" in page.content.decode()
    api = client.get("/api/suspicious/")
    assert api.status_code == 400 and api.json()["code"] == "bad_request"


def test_403_page_for_a_non_staff_user(client, user):
    client.force_login(user)
    response = client.get("/ops/health/")
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


def test_500_page_shows_the_request_id_that_the_log_line_carries(client, caplog):
    caplog.handler.addFilter(RequestContextFilter())
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/boom/")
    assert response.status_code == 500
    request_id = response[HEADER]
    html = response.content.decode()
    assert "Something went wrong" in html and request_id in html and "boom for" not in html
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.request_id == request_id
    assert record.exc_info is not None and "boom for" in str(record.exc_info[1])


def test_500_under_api_is_json_with_the_request_id(client):
    response = client.get("/api/boom/", HTTP_X_REQUEST_ID="trace-0123456789abcdef")
    assert response.status_code == 500
    assert response.json() == {
        "code": "server_error",
        "detail": "The error has been logged. If you report it, quote the request id.",
        "request_id": "trace-0123456789abcdef",
    }
    assert response[HEADER] == "trace-0123456789abcdef"


@pytest.mark.parametrize(
    "incoming", ["short", "has space inside it", "<script>alert(1)</script>", "x" * 65, "a\nb-12345678", ""]
)
def test_an_incoming_request_id_outside_the_pattern_is_replaced(client, incoming):
    response = client.get("/api/v1/no-such-resource/", HTTP_X_REQUEST_ID=incoming)
    assert response[HEADER] != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", response[HEADER])


def test_an_incoming_request_id_in_the_pattern_is_kept(client):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="0f8e2a4c-1b2d-4e5f-8a9b-0c1d2e3f4a5b")
    assert response[HEADER] == "0f8e2a4c-1b2d-4e5f-8a9b-0c1d2e3f4a5b"


def test_request_ids_are_fresh_per_request():
    assert request_id_for(None) != request_id_for(None)


# --- CSRF failures and Django's own 405 (issue 11, L1) -------------------------


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True, raise_request_exception=False)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_csrf_failure_under_api_is_json(csrf_client, user, method):
    csrf_client.force_login(user)
    response = getattr(csrf_client, method)("/api/check-trade-status/")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "csrf_failed",
        "detail": "CSRF verification failed: CSRF cookie not set.",
        "request_id": response[HEADER],
    }


@pytest.mark.parametrize("url", ["/trade/new/", "/accounts/login/", "/accounts/signup/", "/accounts/logout/"])
def test_a_csrf_failure_of_a_page_form_is_the_sites_403_page(csrf_client, user, url):
    csrf_client.force_login(user)
    response = csrf_client.post(url, {"username": "x", "password": "y"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "The form has expired" in html and 'class="brand"' in html and response[HEADER] in html
    assert "CSRF verification failed" not in html  # Django's stock page says this


@pytest.mark.parametrize("method", ["options", "head", "trace"])
def test_a_405_of_a_django_view_under_api_is_json_with_allow(client, user, method):
    client.force_login(user)
    response = client.generic(method.upper(), "/api/check-trade-status/")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response["Content-Type"] == "application/json"
    if method != "head":
        assert response.json() == {
            "code": "method_not_allowed",
            "detail": f'Method "{method.upper()}" not allowed.',
            "request_id": response[HEADER],
        }


def test_a_405_of_a_page_stays_djangos(client):
    response = client.post("/healthz")
    assert (response.status_code, response["Allow"], response.content) == (405, "GET", b"")


# --- a multipart body without a boundary (issue 11, M6) -------------------------
# Under the real web process too: tests/integration/test_malformed_multipart.py.


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary="])
def test_a_multipart_body_without_boundary_is_a_400_in_the_sites_format(client, user, content_type):
    client.force_login(user)
    for url in ("/trade/new/", "/settings/notifications/"):
        page = client.generic("POST", url, b"x", content_type=content_type)
        assert page.status_code == 400, url
        assert "Bad request" in page.content.decode() and page[HEADER] in page.content.decode()
    api = client.generic("POST", "/api/v1/trades/quote/", b"x", content_type=content_type)
    assert api.status_code == 400
    assert api.json()["detail"].startswith("Multipart form parse error - Invalid boundary in multipart")
    assert api.has_header(HEADER)
