"""Sign-up, login and logout pages; the brute-force limiter."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_pages_render_with_csrf_tokens():
    client = Client()
    for name in ("login", "signup"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert b"csrfmiddlewaretoken" in response.content


def test_signup_creates_user_logs_in_and_redirects():
    client = Client()
    response = client.post(
        reverse("signup"),
        {
            "username": "alice",
            "email": "alice@example.com",
            "password1": "a-Long-pass-42",
            "password2": "a-Long-pass-42",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    user = get_user_model().objects.get(username="alice")
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", b"too short"), ("password123", b"too common"), ("83920174650", b"entirely numeric")],
)
def test_signup_applies_password_validators(password, message):
    response = Client().post(
        reverse("signup"),
        {"username": "bob", "email": "bob@example.com", "password1": password, "password2": password},
    )
    assert response.status_code == 200
    assert message in response.content
    assert not get_user_model().objects.filter(username="bob").exists()


def test_signup_refuses_post_without_csrf_token():
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("signup"),
        {
            "username": "eve",
            "email": "e@example.com",
            "password1": "a-Long-pass-42",
            "password2": "a-Long-pass-42",
        },
    )
    assert response.status_code == 403
    assert not get_user_model().objects.filter(username="eve").exists()


def test_login_and_logout(user):
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get(reverse("logout")).status_code == 405  # a link cannot log you out
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_login_is_throttled_after_the_failure_limit(user, settings):
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        response = client.post(reverse("login"), {"username": user.username, "password": "wrong"})
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content
    # Now even the right password is refused until the window ends.
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session
    # Another address is not locked out for this user.
    other = Client(REMOTE_ADDR="10.0.0.9")
    response = other.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_successful_login_resets_the_failure_count(user, settings):
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    assert client.post(reverse("login"), {"username": user.username, "password": PASSWORD}).status_code == 302
    client.post(reverse("logout"))
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    assert client.post(reverse("login"), {"username": user.username, "password": PASSWORD}).status_code == 302
