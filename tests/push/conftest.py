"""Fixtures of the push suite: the local push service, a subscribed user."""

import pytest
from rest_framework.test import APIClient

from push import vapid
from tests.factories import UserFactory
from tests.push.pushservice import Device, PushService


@pytest.fixture
def push_service():
    service = PushService(server_key=vapid.application_server_key()).start()
    yield service
    service.stop()


def subscribe(service: PushService, user) -> tuple[Device, int]:
    """A device of `user`, subscribed through the API as a browser would."""
    device = service.device()
    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/v1/push/subscriptions/", service.subscription_json(device), format="json")
    assert response.status_code == 201, response.content
    return device, response.json()["id"]


@pytest.fixture
def user():
    return UserFactory()
