"""The subscription API, the installable app's files, the settings switches,
the listener registry and the ops count: real PostgreSQL and Redis."""

import base64
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from push.models import PushPreference, PushSubscription
from push.vapid import application_server_key
from realtime.listeners import listener_register, listener_unregister
from realtime.publish import publish
from realtime.schemas import notification_data
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def p256dh() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return b64(key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


def body(endpoint: str = "https://push.example.net/send/abc", **keys: str) -> dict:
    return {"endpoint": endpoint, "keys": {"p256dh": p256dh(), "auth": b64(os.urandom(16)), **keys}}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_create_is_idempotent_on_endpoint_and_lists_only_own():
    user, other = UserFactory(), UserFactory()
    first = api(user).post("/api/v1/push/subscriptions/", body(), format="json")
    again = api(user).post("/api/v1/push/subscriptions/", body(), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert set(first.json()) == {"id", "endpoint", "user_agent", "created_at", "last_sent_at"}
    api(other).post("/api/v1/push/subscriptions/", body("https://push.example.net/send/other"), format="json")
    listed = api(user).get("/api/v1/push/subscriptions/").json()
    assert [row["endpoint"] for row in listed["results"]] == ["https://push.example.net/send/abc"]


def test_another_users_subscription_is_404_and_own_delete_is_204():
    user, other = UserFactory(), UserFactory()
    sub_id = api(user).post("/api/v1/push/subscriptions/", body(), format="json").json()["id"]
    assert api(other).get(f"/api/v1/push/subscriptions/{sub_id}/").status_code == 404
    assert api(other).delete(f"/api/v1/push/subscriptions/{sub_id}/").status_code == 404
    assert PushSubscription.objects.filter(pk=sub_id).exists()
    assert api(user).delete(f"/api/v1/push/subscriptions/{sub_id}/").status_code == 204
    assert not PushSubscription.objects.filter(pk=sub_id).exists()


def test_anonymous_is_refused():
    assert APIClient().get("/api/v1/push/subscriptions/").status_code in (401, 403)


@pytest.mark.parametrize(
    ("payload", "field", "status"),
    [
        # Malformed (the schema says so): 400.
        (body("https://pushhost/x"), "endpoint", 400),  # not a URL with a domain
        (body("https://push.example.net/" + "a" * 1100), "endpoint", 400),
        (body("https://evil.example:99999/x"), "endpoint", 400),  # no such port
        (body("https://evil.example:65536/x"), "endpoint", 400),
        (body("https://evil.example:0/x"), "endpoint", 400),
        (body("https://evil.example:00/x"), "endpoint", 400),
        (body(p256dh=b64(os.urandom(33))), "keys", 400),
        (body(auth=b64(os.urandom(8))), "keys", 400),
        (body(auth="not base64url!"), "keys", 400),
        ({"endpoint": "https://push.example.net/x"}, "keys", 400),
        # Well formed, and refused: not an endpoint the server sends to, not a P-256 key (422).
        (body("http://push.example.net/x"), "endpoint", 422),
        (body("https://10.0.0.5/x"), "endpoint", 422),
        (body("https://user:pw@push.example.net/x"), "endpoint", 422),
        (body(p256dh=b64(b"\x04" + b"\x01" * 64)), "keys", 422),  # not on the curve
    ],
)
def test_invalid_subscriptions_are_refused(payload, field, status):
    response = api(UserFactory()).post("/api/v1/push/subscriptions/", payload, format="json")
    assert response.status_code == status
    assert field in str(response.json())
    assert not PushSubscription.objects.exists()


def test_a_port_outside_the_range_is_a_400_naming_the_endpoint():
    response = api(UserFactory()).post(
        "/api/v1/push/subscriptions/", body("https://evil.example:99999/x"), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"endpoint": ["The endpoint's port must be 1 to 65535."]}


@pytest.mark.parametrize("port", [1, 443, 8443, 65535])
def test_a_port_in_the_range_is_accepted(port):
    response = api(UserFactory()).post(
        "/api/v1/push/subscriptions/", body(f"https://push.example.net:{port}/x"), format="json"
    )
    assert response.status_code == 201


def test_http_loopback_endpoint_only_where_allowed(settings):
    user = UserFactory()
    settings.PUSH_ALLOW_HTTP_LOOPBACK = False
    assert (
        api(user).post("/api/v1/push/subscriptions/", body("http://127.0.0.1:9/x"), format="json").status_code
        == 422
    )
    settings.PUSH_ALLOW_HTTP_LOOPBACK = True
    assert (
        api(user).post("/api/v1/push/subscriptions/", body("http://127.0.0.1:9/x"), format="json").status_code
        == 201
    )


def test_key_is_the_65_byte_application_server_key():
    data = api(UserFactory()).get("/api/v1/push/key/").json()
    assert data == {"public_key": application_server_key()}
    raw = base64.urlsafe_b64decode(data["public_key"] + "==")
    assert len(raw) == 65 and raw[0] == 4


def test_service_worker_is_served_for_scope_root_and_never_cached():
    response = Client().get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]
    text = response.content.decode()
    assert text.startswith("const CONFIG = {")
    assert "/offline/" in text and "tv-static-" in text


def test_manifest_names_the_installable_app():
    response = Client().get("/manifest.webmanifest")
    assert response["Content-Type"] == "application/manifest+json"
    data = response.json()
    assert data["start_url"] == "/" and data["display"] == "standalone"
    assert (
        data["name"] and data["short_name"] and data["theme_color"] == data["background_color"] == "#0f1419"
    )
    assert {icon["sizes"] for icon in data["icons"]} == {"192x192", "512x512"}


def test_offline_page_needs_no_login_and_says_offline():
    response = Client().get("/offline/")
    assert response.status_code == 200
    assert b"You are offline" in response.content
    assert "worker-src 'self'" in response["Content-Security-Policy"]
    assert "manifest-src 'self'" in response["Content-Security-Policy"]


def test_settings_page_saves_the_push_switches_beside_the_email_ones():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    page = client.get("/settings/notifications/").content.decode()
    assert page.index("Email when a plan matures") < page.index("Push when a trade settles")
    response = client.post(
        "/settings/notifications/",
        {"in_app": "on", "push_trade_settled": "on", "push_plan_matured": "on"},
    )
    assert response.status_code == 302
    preference = PushPreference.objects.get(user=user)
    assert (preference.trade_settled, preference.trade_failed) == (True, False)
    assert (preference.plan_matured, preference.withdrawal_decided) == (True, False)


@pytest.mark.django_db(transaction=True)
def test_listeners_run_after_commit_only():
    user = UserFactory()
    seen: list[list[int]] = []

    def listener(events):
        seen.append([event.seq for event in events])

    listener_register(listener)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            publish(user_id=user.pk, event="notification", data=notification_data(title="x", body=""))
            raise RuntimeError("roll back")
        assert seen == []
        with transaction.atomic():
            row = publish(user_id=user.pk, event="notification", data=notification_data(title="y", body=""))
            assert seen == []
        assert seen == [[row.seq]]
    finally:
        listener_unregister(listener)


def test_ops_health_reports_push_counts():
    staff = UserFactory(is_staff=True)
    client = Client()
    client.force_login(staff)
    report = client.get("/api/v1/ops/health/")
    if report.status_code == 404:
        pytest.fail("the ops health endpoint moved")
    push = report.json()["components"]["push"]
    assert {"sent", "failed", "retried", "subscriptions_removed", "subscriptions"} <= set(push)
