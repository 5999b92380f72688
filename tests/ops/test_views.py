"""/healthz (public, up/down only), /metrics (staff session or scrape token,
never a client address) and the staff health page."""

import re
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from market.prices import price_record
from tests.factories import InstrumentFactory
from wallets.models import BalanceDrift, DriftKind

pytestmark = pytest.mark.django_db

OUTSIDE = "203.0.113.7"


def test_healthz_is_public_and_says_only_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "up"}


def test_healthz_is_503_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "down"}


TOKEN = "s3cret-scrape-token"


def _status(client: Client, **headers: str) -> int:
    return client.get("/metrics", headers=headers).status_code


@pytest.mark.parametrize(
    "remote_addr, headers",
    [
        (OUTSIDE, {}),
        # What daphne --proxy-headers turns into REMOTE_ADDR: any client can send it.
        (OUTSIDE, {"X-Forwarded-For": "127.0.0.1"}),
        ("127.0.0.1", {}),
        ("::1", {}),
        ("10.0.0.5", {"X-Real-IP": "127.0.0.1"}),
    ],
)
def test_metrics_refuse_anonymous_whatever_the_address(settings, remote_addr, headers):
    settings.METRICS_TOKEN = TOKEN
    response = Client(REMOTE_ADDR=remote_addr).get("/metrics", headers=headers)
    assert response.status_code == 403
    assert response.content == b"forbidden\n"


def test_metrics_refused_to_a_logged_in_user_who_is_not_staff(user):
    client = Client(REMOTE_ADDR="127.0.0.1")
    client.force_login(user)
    assert _status(client) == 403


def test_metrics_for_staff_from_anywhere(staff_user):
    client = Client(REMOTE_ADDR=OUTSIDE)
    client.force_login(staff_user)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "# TYPE tradevision_http_request_duration_seconds histogram" in response.content.decode()


def test_metrics_for_the_scrape_token(settings):
    settings.METRICS_TOKEN = TOKEN
    response = Client(REMOTE_ADDR=OUTSIDE).get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "# TYPE tradevision_ledger_drift_records gauge" in response.content.decode()


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer ", "Bearer"],
)
def test_metrics_refuse_a_wrong_token(settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    assert _status(Client(REMOTE_ADDR=OUTSIDE), Authorization=authorization) == 403


def test_metrics_token_access_is_off_when_the_setting_is_empty(settings):
    settings.METRICS_TOKEN = ""
    client = Client(REMOTE_ADDR="127.0.0.1")
    assert _status(client, Authorization="Bearer ") == 403
    assert _status(client, Authorization="Bearer  ") == 403
    assert _status(client, Authorization=f"Bearer {TOKEN}") == 403


def _sample(body: str, pattern: str) -> float:
    match = re.search(rf"^{pattern} (\S+)$", body, re.MULTILINE)
    assert match, f"no sample {pattern}"
    return float(match.group(1))


@pytest.fixture
def scraper(settings) -> Client:
    settings.METRICS_TOKEN = TOKEN
    return Client(headers={"Authorization": f"Bearer {TOKEN}"})


def test_metrics_export_request_latency_and_platform_numbers(scraper):
    InstrumentFactory(symbol="BTC-USD")  # the seed may have been flushed by another suite
    before = scraper.get("/metrics").content.decode()
    count = 'tradevision_http_request_duration_seconds_count{method="GET",route="healthz",status="2xx"}'
    had = _sample(before, re.escape(count)) if count in before else 0.0
    scraper.get("/healthz")
    body = scraper.get("/metrics").content.decode()
    assert _sample(body, re.escape(count)) == had + 1
    for name in (
        "tradevision_events_published_total",
        "tradevision_events_delivered_total",
        "tradevision_websocket_connections",
        "tradevision_push_subscriptions",
    ):
        assert re.search(rf"^{name} ", body, re.MULTILINE), name
    assert 'tradevision_feed_price_stale{symbol="BTC-USD"} 1.0' in body
    assert 'tradevision_celery_queue_length{queue="celery"}' in body
    assert 'tradevision_push_messages_total{outcome="sent"}' in body


def _drift_samples(body: str) -> dict[tuple[str, str], float]:
    found = re.findall(
        r'^tradevision_ledger_drift_records\{kind="(\w+)",repaired="(\w+)"\} (\S+)$', body, re.MULTILINE
    )
    return {(kind, repaired): float(value) for kind, repaired, value in found}


def test_metrics_ledger_drift_is_zero_for_every_kind_until_a_drift_is_recorded(scraper):
    BalanceDrift.objects.all().delete()
    zero = {(kind, repaired): 0.0 for kind in DriftKind.values for repaired in ("false", "true")}
    assert _drift_samples(scraper.get("/metrics").content.decode()) == zero

    fields = {"currency": "USD", "expected": Decimal("10.00"), "found": Decimal("9.00")}
    BalanceDrift.objects.create(kind=DriftKind.CURRENCY_SUM, **fields)
    BalanceDrift.objects.create(kind=DriftKind.CURRENCY_SUM, **fields)
    BalanceDrift.objects.create(kind=DriftKind.CACHED_BALANCE, repaired=True, **fields)
    assert _drift_samples(scraper.get("/metrics").content.decode()) == {
        **zero,
        ("currency_sum", "false"): 2.0,
        ("cached_balance", "true"): 1.0,
    }


def test_metrics_feed_tick_age_is_the_latest_price_age(scraper, monkeypatch, settings):
    settings.PRICE_STALE_AFTER = 60
    InstrumentFactory(symbol="BTC-USD")
    InstrumentFactory(symbol="ETH-USD")
    InstrumentFactory(symbol="SOL-USD")  # never ticked: no age, stale
    now = timezone.now()
    price_record(
        prices={
            "BTC-USD": (Decimal("64000.5"), now - timedelta(seconds=42.5)),
            "ETH-USD": (Decimal("3100"), now - timedelta(seconds=61)),
        }
    )
    monkeypatch.setattr("ops.metrics.timezone", SimpleNamespace(now=lambda: now))
    body = scraper.get("/metrics").content.decode()
    assert _sample(body, re.escape('tradevision_feed_tick_age_seconds{symbol="BTC-USD"}')) == 42.5
    assert _sample(body, re.escape('tradevision_feed_tick_age_seconds{symbol="ETH-USD"}')) == 61.0
    assert 'tradevision_feed_tick_age_seconds{symbol="SOL-USD"}' not in body
    assert _sample(body, re.escape('tradevision_feed_price_stale{symbol="BTC-USD"}')) == 0.0
    assert _sample(body, re.escape('tradevision_feed_price_stale{symbol="ETH-USD"}')) == 1.0
    assert _sample(body, re.escape('tradevision_feed_price_stale{symbol="SOL-USD"}')) == 1.0


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


def test_healthz_answers_a_probe_under_any_host_and_over_plain_http(settings):
    """A balancer probes each process by address: neither a Host outside
    ALLOWED_HOSTS nor the HTTPS redirect may make a healthy process look down.
    Every other path still validates the host and redirects."""
    settings.ALLOWED_HOSTS = ["tradevision.example"]
    settings.SECURE_SSL_REDIRECT = True
    probe = Client(HTTP_HOST="10.0.3.7:8000")
    response = probe.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "up"})
    assert response["X-Request-ID"]
    assert probe.get("/metrics").status_code == 400  # DisallowedHost
    assert Client(HTTP_HOST="tradevision.example").get("/metrics").status_code == 301
