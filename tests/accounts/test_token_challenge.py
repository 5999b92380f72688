"""A token client that is refused learns it with 401 and `WWW-Authenticate: Token`
(RFC 9110: a 401 names the scheme to use); a browser session keeps CSRF."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
WALLETS = "/api/v1/wallets/"
TICKETS = "/api/v1/realtime/tickets/"


def assert_token_challenge(response, detail: str) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["detail"] == detail


def test_missing_token_is_401_with_the_scheme():
    assert_token_challenge(APIClient().get(WALLETS), "Authentication credentials were not provided.")


def test_bad_token_is_401_with_the_scheme(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert_token_challenge(client.get(WALLETS), "Invalid token.")


def test_malformed_token_header_is_401(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token two words")
    detail = "Invalid token header. Token string should not contain spaces."
    assert_token_challenge(client.get(WALLETS), detail)


def test_revoked_token_is_401_with_the_scheme(user):
    key = Token.objects.create(user=user).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(WALLETS).status_code == 200
    assert client.delete("/api/v1/auth/token/").status_code == 204
    assert_token_challenge(client.get(WALLETS), "Invalid token.")


def test_token_of_an_inactive_user_is_401(user):
    key = Token.objects.create(user=user).key
    user.is_active = False
    user.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert_token_challenge(client.get(WALLETS), "User inactive or deleted.")


def test_a_session_still_works_and_still_needs_csrf(user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get(WALLETS, HTTP_ACCEPT="application/json").status_code == 200
    refused = browser.post(TICKETS)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    browser.get("/")  # the page sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    accepted = browser.post(TICKETS, "{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201
