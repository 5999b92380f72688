"""GET /api/v1/ops/health/: staff only, every component present with a status."""

import pytest

pytestmark = pytest.mark.django_db

URL = "/api/v1/ops/health/"
COMPONENTS = {
    "database",
    "redis",
    "workers",
    "queues",
    "periodic_tasks",
    "tasks",
    "feed",
    "processes",
    "websockets",
    "outbox",
    "ledger",
    "push",
}


def test_anonymous_is_refused(api_client):
    assert api_client.get(URL).status_code in (401, 403)


def test_a_user_who_is_not_staff_gets_403(auth_client):
    assert auth_client.get(URL).status_code == 403


def test_staff_get_every_component_with_a_status(api_client, staff_user):
    api_client.force_authenticate(staff_user)
    response = api_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body["components"]) == COMPONENTS
    for name, component in body["components"].items():
        assert component["status"] in {"green", "amber", "red"}, name
    assert body["components"]["database"]["status"] == "green"
    assert body["components"]["redis"]["status"] == "green"
    assert body["status"] in {"green", "amber", "red"}
