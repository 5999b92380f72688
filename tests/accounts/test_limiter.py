"""The failed-login limiter's wider caps (per username over every address,
per address over every username) and the client address it keys on, on the
login page and on the token endpoint. Counts live in the real Redis cache."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.services import client_ip
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/auth/token/"
THROTTLED = b"Too many failed login attempts"


def login(username, password, *, addr="10.0.0.1", forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return Client(REMOTE_ADDR=addr).post(
        reverse("login"), {"username": username, "password": password}, **extra
    )


def obtain(username, password, *, addr="10.0.0.1", forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return APIClient(REMOTE_ADDR=addr).post(
        TOKEN_URL, {"username": username, "password": password}, format="json", **extra
    )


def fail_from_many_addresses(username, failures, *, per_address):
    """`failures` wrong passwords for `username`, `per_address` (below the pair
    limit) from each of a run of addresses."""
    for n in range(failures):
        response = login(username, "wrong", addr=f"10.1.{n // per_address}.1")
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content


def test_per_user_cap_holds_across_many_addresses(user, settings):
    assert settings.LOGIN_FAILURE_LIMIT_PER_USER == 20 > settings.LOGIN_FAILURE_LIMIT == 5
    fail_from_many_addresses(user.username, 20, per_address=settings.LOGIN_FAILURE_LIMIT - 1)
    # A fresh address, the right password: refused until the window ends.
    response = login(user.username, PASSWORD, addr="10.2.0.1")
    assert response.status_code == 429
    assert THROTTLED in response.content
    response = obtain(user.username, PASSWORD, addr="10.2.0.2")
    assert (response.status_code, response.json()["code"]) == (429, "login_throttled")
    assert not Token.objects.exists()
    # Other accounts are unaffected, even from an address that took part.
    other = UserFactory()
    assert login(other.username, PASSWORD, addr="10.1.0.1").status_code == 302


def test_successful_login_below_the_caps_still_works(user, settings):
    fail_from_many_addresses(user.username, 19, per_address=settings.LOGIN_FAILURE_LIMIT - 1)
    client = Client(REMOTE_ADDR="10.2.0.1")
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    assert obtain(user.username, PASSWORD, addr="10.2.0.2").status_code == 200


def test_per_address_cap_holds_across_many_usernames(user, settings):
    assert settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS == 50
    # Password spraying: one guess each at 50 usernames, some that do not exist.
    for n in range(50):
        username = f"user-{n}" if n % 2 else UserFactory().username
        assert login(username, "Spring2026!", addr="10.9.9.9").status_code == 200
    known = login(user.username, PASSWORD, addr="10.9.9.9")
    unknown = login("nobody-here", PASSWORD, addr="10.9.9.9")
    # The same answer whether or not the user exists.
    assert (known.status_code, unknown.status_code) == (429, 429)
    assert THROTTLED in known.content and THROTTLED in unknown.content
    response = obtain(user.username, PASSWORD, addr="10.9.9.9")
    assert (response.status_code, response.json()["code"]) == (429, "login_throttled")
    # Another address logs the same user in.
    assert login(user.username, PASSWORD, addr="10.9.9.10").status_code == 302


def test_rotating_x_forwarded_for_does_not_bypass_the_login_page_limit(user, settings):
    assert settings.TRUSTED_PROXY_COUNT == 0
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        response = login(user.username, "wrong", forwarded=f"203.0.113.{n}")
        assert response.status_code == 200
    response = login(user.username, PASSWORD, forwarded="203.0.113.99")
    assert response.status_code == 429
    assert THROTTLED in response.content


def test_rotating_x_forwarded_for_does_not_bypass_the_token_endpoint_limit(user, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        assert obtain(user.username, "wrong", forwarded=f"203.0.113.{n}").status_code == 422
    response = obtain(user.username, PASSWORD, forwarded="203.0.113.99")
    assert (response.status_code, response.json()["code"]) == (429, "login_throttled")
    assert not Token.objects.exists()


def test_rotating_x_forwarded_for_does_not_bypass_the_token_throttle(user, settings):
    from rest_framework.throttling import SimpleRateThrottle

    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "token_obtain": "2/min"}
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        codes = [obtain(user.username, PASSWORD, forwarded=f"203.0.113.{n}").status_code for n in range(3)]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert codes == [200, 200, 429]


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.7", "10.0.0.1"),
        (0, None, "10.0.0.1"),
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the client wrote the first one
        (2, "198.51.100.1, 203.0.113.7, 192.0.2.5", "203.0.113.7"),
        (3, "203.0.113.7", "203.0.113.7"),  # fewer hops than proxies: the leftmost
        (1, None, "10.0.0.1"),
    ],
)
def test_client_ip_trusts_x_forwarded_for_only_through_configured_proxies(
    settings, proxies, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", **extra)
    assert client_ip(request) == expected
