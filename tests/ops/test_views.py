"""/healthz (public, up/down only), /metrics (staff or allowed addresses) and
the staff health page."""

import re

import pytest
from django.test import Client

from tests.factories import InstrumentFactory

pytestmark = pytest.mark.django_db

OUTSIDE = "203.0.113.7"


def test_healthz_is_public_and_says_only_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "up"}


def test_healthz_is_503_when_redis_is_unreachable(client, settings, monkeypatch):
    monkeypatch.setattr("ops.store._client", None)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "down"}
    monkeypatch.setattr("ops.store._client", None)


def test_metrics_refused_to_an_anonymous_outside_address():
    assert Client(REMOTE_ADDR=OUTSIDE).get("/metrics").status_code == 403


def test_metrics_refused_to_a_logged_in_user_who_is_not_staff(user):
    client = Client(REMOTE_ADDR=OUTSIDE)
    client.force_login(user)
    assert client.get("/metrics").status_code == 403


def test_metrics_for_staff_from_anywhere(staff_user):
    client = Client(REMOTE_ADDR=OUTSIDE)
    client.force_login(staff_user)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


def test_metrics_for_an_allowed_network(settings):
    settings.METRICS_ALLOWED_IPS = ["203.0.113.0/24"]
    assert Client(REMOTE_ADDR=OUTSIDE).get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="198.51.100.1").get("/metrics").status_code == 403


def _sample(body: str, pattern: str) -> float:
    match = re.search(rf"^{pattern} (\S+)$", body, re.MULTILINE)
    assert match, f"no sample {pattern}"
    return float(match.group(1))


def test_metrics_export_request_latency_and_platform_numbers():
    InstrumentFactory(symbol="BTC-USD")  # the seed may have been flushed by another suite
    loopback = Client(REMOTE_ADDR="127.0.0.1")
    before = loopback.get("/metrics").content.decode()
    count = 'tradevision_http_request_duration_seconds_count{method="GET",route="healthz",status="2xx"}'
    had = _sample(before, re.escape(count)) if count in before else 0.0
    loopback.get("/healthz")
    body = loopback.get("/metrics").content.decode()
    assert _sample(body, re.escape(count)) == had + 1
    for name in (
        "tradevision_events_published_total",
        "tradevision_events_delivered_total",
        "tradevision_websocket_connections",
    ):
        assert re.search(rf"^{name} ", body, re.MULTILINE), name
    assert 'tradevision_feed_price_stale{symbol="BTC-USD"} 1.0' in body
    assert 'tradevision_celery_queue_length{queue="celery"}' in body


def test_health_page_for_staff_loads_its_module_and_no_inline_script(staff_user):
    client = Client()
    client.force_login(staff_user)
    response = client.get("/ops/health/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'src="/static/ops/js/health.js"' in html
    assert 'data-endpoint="/api/v1/ops/health/"' in html
    assert "<script>" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_health_page_is_403_for_a_user_who_is_not_staff(user):
    client = Client()
    client.force_login(user)
    assert client.get("/ops/health/").status_code == 403


def test_health_page_sends_anonymous_to_login(client):
    response = client.get("/ops/health/")
    assert response.status_code == 302
    assert "/login" in response["Location"]
