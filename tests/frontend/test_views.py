"""Page views: login required, render for their owner."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_dashboard_renders_for_logged_in_user(client, user):
    client.force_login(user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Dashboard</h1>" in body
    assert 'src="/static/frontend/js/app.js"' in body
    assert f'data-user-id="{user.pk}"' in body


def test_staff_links_only_for_staff(client, user, staff_user):
    client.force_login(user)
    assert 'href="/admin/"' not in client.get(reverse("dashboard")).content.decode()
    client.force_login(staff_user)
    body = client.get(reverse("dashboard")).content.decode()
    assert 'href="/admin/"' in body
    assert 'href="/api/v1/"' in body
