"""Health components read from the real database, Redis and price cache."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from market.prices import price_record
from ops.selectors import (
    feed_check,
    health_report,
    ledger_check,
    liveness,
    outbox_check,
    queues_check,
    worst,
)
from realtime.models import Event
from realtime.publish import publish
from realtime.schemas import notification_data
from tests.factories import InstrumentFactory
from wallets.models import BalanceDrift, DriftKind

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _crypto():
    """Always-open instruments (the seeded ones may have been flushed by a
    transactional test of another suite)."""
    InstrumentFactory(symbol="BTC-USD")
    InstrumentFactory(symbol="ETH-USD")


def _instrument(report, symbol):
    return next(row for row in report["instruments"] if row["symbol"] == symbol)


def test_worst_status_wins():
    assert worst(["green", "amber", "green"]) == "amber"
    assert worst(["amber", "red"]) == "red"
    assert worst([]) == "green"


def test_fresh_price_on_an_open_market_is_green_with_its_age():
    now = timezone.now()
    price_record(prices={"BTC-USD": (Decimal("65000.12"), now - timedelta(seconds=2))})
    row = _instrument(feed_check(), "BTC-USD")
    assert row["status"] == "green"
    assert row["price"] == "65000.12"
    assert row["market_open"] is True
    assert row["stale"] is False
    assert 2 <= row["age_seconds"] < 30


def test_stale_price_on_an_always_open_market_is_red():
    price_record(prices={"BTC-USD": (Decimal("65000.00"), timezone.now() - timedelta(minutes=5))})
    report = feed_check()
    assert _instrument(report, "BTC-USD")["status"] == "red"
    assert report["status"] == "red"


def test_missing_price_is_stale():
    row = _instrument(feed_check(), "ETH-USD")
    assert (row["price"], row["age_seconds"], row["stale"]) == (None, None, True)


def test_unrepaired_drift_in_the_last_day_is_red_repaired_is_amber():
    assert ledger_check()["status"] == "green"
    BalanceDrift.objects.create(
        kind=DriftKind.CURRENCY_SUM, currency="USD", expected=Decimal(0), found=Decimal("0.01"), repaired=True
    )
    assert ledger_check()["status"] == "amber"
    BalanceDrift.objects.create(
        kind=DriftKind.CURRENCY_SUM, currency="USD", expected=Decimal(0), found=Decimal("0.01")
    )
    found = ledger_check()
    assert (found["status"], found["unrepaired_24h"], found["repaired_24h"]) == ("red", 1, 1)


def test_outbox_counts_every_published_event(user, other_user):
    with transaction.atomic():
        publish(user_id=user.pk, event="notification", data=notification_data(title="a", body="b"))
        publish(user_id=user.pk, event="notification", data=notification_data(title="c", body="d"))
        publish(user_id=other_user.pk, event="notification", data=notification_data(title="e", body="f"))
    found = outbox_check()
    assert found["events_published"] == 3
    assert found["newest_event_age_seconds"] is not None and found["newest_event_age_seconds"] >= 0


def test_queue_depth_counts_waiting_messages(settings):
    from ops.store import redis_client

    client = redis_client()
    queue = "celery"
    before = next(q["depth"] for q in queues_check()["queues"] if q["name"] == queue)
    # Messages of another run may sit in the shared broker db: compare, do not assume zero.
    if settings.CELERY_BROKER_URL != settings.REDIS_URL:
        pytest.fail("this test expects the broker on REDIS_URL")
    client.lpush(queue, "m1", "m2")
    try:
        after = next(q["depth"] for q in queues_check()["queues"] if q["name"] == queue)
    finally:
        client.lrem(queue, 0, "m1")
        client.lrem(queue, 0, "m2")
    assert after - before == 2


def test_no_worker_is_red_and_a_dead_redis_is_red_without_waiting_for_a_ping(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    report = health_report()
    assert report["components"]["redis"]["status"] == "red"
    assert report["components"]["workers"] == {
        "status": "red",
        "error": "broker unreachable",
        "online": [],
        "count": 0,
    }
    assert report["components"]["database"]["status"] == "green"
    assert report["status"] == "red"
    assert liveness() is False


def test_liveness_is_true_when_database_and_redis_answer():
    assert liveness() is True


def _outbox_with_lag(user, *, lag_seconds: float, connections: int) -> dict:
    """One event written now, the newest frame sent `lag_seconds` before it,
    and `connections` clients open (what the ASGI wrapper writes to Redis)."""
    from ops.processes import process_write
    from ops.store import ops_key, redis_client

    with transaction.atomic():
        publish(user_id=user.pk, event="notification", data=notification_data(title="a", body="b"))
    newest = Event.objects.order_by("-id").values_list("created_at", flat=True).first()
    client = redis_client()
    client.set(ops_key("ws", "last_event_time"), (newest - timedelta(seconds=lag_seconds)).isoformat())
    if connections:
        process_write("web", "test-web:1", connections=connections)
    return outbox_check()


@pytest.mark.parametrize(
    ("lag_seconds", "status"),
    [(0, "green"), (60, "green"), (60.5, "amber"), (300, "amber"), (300.5, "red"), (3600, "red")],
)
def test_outbox_lag_thresholds_while_clients_are_connected(user, settings, lag_seconds, status):
    settings.OPS_OUTBOX_LAG_WARN_SECONDS = 60
    settings.OPS_OUTBOX_LAG_RED_SECONDS = 300
    found = _outbox_with_lag(user, lag_seconds=lag_seconds, connections=3)
    assert found["lag_seconds"] == lag_seconds
    assert found["open_connections"] == 3
    assert found["status"] == status


def test_outbox_lag_is_not_judged_with_no_client_connected(user, settings):
    settings.OPS_OUTBOX_LAG_RED_SECONDS = 300
    found = _outbox_with_lag(user, lag_seconds=3600, connections=0)
    assert (found["lag_seconds"], found["open_connections"], found["status"]) == (3600, 0, "green")


def test_outbox_is_green_when_nothing_was_ever_delivered(user):
    with transaction.atomic():
        publish(user_id=user.pk, event="notification", data=notification_data(title="a", body="b"))
    found = outbox_check()
    assert (found["lag_seconds"], found["last_delivered_event_at"], found["status"]) == (None, None, "green")


def test_outbox_amber_and_red_reach_the_report(user, settings):
    settings.OPS_OUTBOX_LAG_WARN_SECONDS = 10
    settings.OPS_OUTBOX_LAG_RED_SECONDS = 20
    _outbox_with_lag(user, lag_seconds=25, connections=1)
    assert health_report()["components"]["outbox"]["status"] == "red"
