"""API tokens: obtain, use on an API endpoint, revoke; throttled."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
URL = "/api/v1/auth/token/"


def obtain(client, username, password):
    return client.post(URL, {"username": username, "password": password}, format="json")


def test_token_obtain_use_and_revoke(user):
    client = APIClient()
    response = obtain(client, user.username, PASSWORD)
    assert response.status_code == 200
    key = response.json()["token"]
    assert Token.objects.get(user=user).key == key

    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    wallets = client.get("/api/v1/wallets/")
    assert wallets.status_code == 200
    assert wallets.json() == []

    assert client.delete(URL).status_code == 204
    assert not Token.objects.filter(user=user).exists()
    # The revoked token is refused as a token: 401 with its scheme.
    refused = client.get("/api/v1/wallets/")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == "Token"


def test_wrong_password_is_a_422_and_no_token(user):
    response = obtain(APIClient(), user.username, "nope")
    assert response.status_code == 422  # well formed; no such credentials
    assert response.json()["code"] == "invalid_credentials"
    assert "non_field_errors" in response.json()
    assert not Token.objects.exists()


def test_missing_field_is_named(user):
    response = APIClient().post(URL, {"username": user.username}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()


def test_token_obtain_shares_the_failed_login_limit(user, settings):
    client = APIClient()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert obtain(client, user.username, "nope").status_code == 422
    response = obtain(client, user.username, PASSWORD)
    assert response.status_code == 429
    assert response.json()["code"] == "login_throttled"
    assert not Token.objects.exists()


def test_token_obtain_is_rate_limited_by_scope(user, settings):
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "token_obtain": "2/min"}
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        client = APIClient()
        codes = [obtain(client, user.username, PASSWORD).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original


def test_revoke_requires_authentication():
    assert APIClient().delete(URL).status_code == 401
