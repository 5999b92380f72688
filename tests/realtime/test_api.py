from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from realtime import services
from realtime.models import Event
from realtime.publish import publish
from realtime.schemas import notification_data


def _publish(user, count):
    with transaction.atomic():
        for n in range(count):
            publish(user_id=user.pk, event="notification", data=notification_data(title=f"t{n + 1}", body=""))


def test_ticket_with_token_auth(user):
    client = APIClient()
    token = Token.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.post("/api/v1/realtime/tickets/")
    assert response.status_code == 201
    body = response.json()
    assert body["expires_in"] == 30
    assert body["url"] == f"/ws/stream/?ticket={body['ticket']}"
    assert async_to_sync(services.ticket_redeem)(ticket=body["ticket"]) == user.pk


def test_ticket_with_session_needs_csrf(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/api/v1/realtime/tickets/").status_code == 403


def test_ticket_requires_login(api_client):
    assert api_client.post("/api/v1/realtime/tickets/").status_code in (401, 403)


def test_events_since_returns_only_the_owners_events_in_order(user, other_user, auth_client):
    _publish(user, 5)
    _publish(other_user, 3)
    response = auth_client.get("/api/v1/events/?since=2&limit=2")
    assert response.status_code == 200
    body = response.json()
    assert [e["seq"] for e in body["events"]] == [3, 4]
    assert [e["data"]["title"] for e in body["events"]] == ["t3", "t4"]
    assert (body["last_seq"], body["next_since"], body["has_more"]) == (5, 4, True)
    last = auth_client.get("/api/v1/events/?since=4").json()
    assert ([e["seq"] for e in last["events"]], last["has_more"]) == ([5], False)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "since"),
        ("since=-1", "since"),
        ("since=x", "since"),
        ("since=0&limit=0", "limit"),
        ("since=0&limit=501", "limit"),
        ("since=+1", "since"),
        ("since=1.0", "since"),
        ("since=%201", "since"),
    ],
)
def test_bad_query_is_a_400_naming_the_field(auth_client, query, field):
    response = auth_client.get(f"/api/v1/events/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_since_ahead_is_422_and_pruned_is_410(user, auth_client):
    _publish(user, 3)
    ahead = auth_client.get("/api/v1/events/?since=4")
    assert (ahead.status_code, ahead.json()["code"]) == (422, "since_ahead")
    Event.objects.filter(user=user, seq=1).update(created_at=timezone.now() - timedelta(days=30))
    services.event_prune(older_than=timezone.now() - timedelta(days=7))
    gone = auth_client.get("/api/v1/events/?since=0")
    assert (gone.status_code, gone.json()["code"], gone.json()["last_seq"]) == (410, "resync_required", 3)
    assert [e["seq"] for e in auth_client.get("/api/v1/events/?since=1").json()["events"]] == [2, 3]


def test_events_require_login(api_client):
    assert api_client.get("/api/v1/events/?since=0").status_code in (401, 403)


def test_asyncapi_document_is_served(api_client):
    response = api_client.get("/api/v1/realtime/asyncapi.yaml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml"
    assert b"asyncapi: 3.0.0" in b"".join(response.streaming_content)
