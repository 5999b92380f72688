"""The periodic tasks as the beat runs them (called in-process here; the
worker path is tests/integration/test_trade_worker.py): the sweeper, the
retention prune, settlement, and the beat schedule itself."""

from datetime import timedelta
from decimal import Decimal

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone

from config.celery_app import app
from realtime.models import Event
from tests.trading.trades_support import balance, fund, make_instrument, quote, tick
from trading.tasks import cleanup_failed_trades, process_completed_trades
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_open, trade_request

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def inst():
    return make_instrument("TSK-USD", fee_bps=10, price_scale=2)


def queued(user, inst, key):
    return trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D("10.00"), idempotency_key=key
    ).trade


def test_sweeper_fails_stuck_trades_and_reenqueues_lost_ones(
    user, inst, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.QUEUED_TIMEOUT = 600
    settings.TRADE_SWEEP_AFTER_SECONDS = 120
    fund(user, "100.00")
    now = timezone.now()
    stuck = queued(user, inst, "stuck")
    lost = queued(user, inst, "lost")
    fresh = queued(user, inst, "fresh")
    Trade.objects.filter(pk=stuck.pk).update(created_at=now - timedelta(seconds=601))
    Trade.objects.filter(pk=lost.pk).update(created_at=now - timedelta(seconds=300))
    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, args, task_id: sent.append((name, args, task_id)))
    with django_capture_on_commit_callbacks(execute=True):
        result = cleanup_failed_trades()
    assert result["failed"] == 1 and result["requeued"] == 1
    stuck.refresh_from_db()
    assert (stuck.status, stuck.failure_code) == (TradeStatus.FAILED, "queued_timeout")
    assert Event.objects.filter(user=user, event="trade.failed").count() == 1
    # The failed trade's hold (10.00 + 0.01 fee) went back; the two others still hold theirs.
    assert balance(user) == (D("100.00") - 2 * D("10.01"), 2 * D("10.01"))
    # Re-enqueued under its own task id: a duplicate delivery is a no-op.
    assert sent == [("trading.tasks.initiate_manual_trade", [lost.pk], lost.task_id)]
    assert Trade.objects.get(pk=fresh.pk).status == TradeStatus.QUEUED


def test_a_trade_waiting_for_its_retry_is_not_swept(
    user, inst, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.TRADE_SWEEP_AFTER_SECONDS = 120
    fund(user, "100.00")
    trade = queued(user, inst, "retrying")
    Trade.objects.filter(pk=trade.pk).update(
        created_at=timezone.now() - timedelta(seconds=300),
        next_attempt_at=timezone.now() + timedelta(seconds=60),
    )
    sent = []
    monkeypatch.setattr(app, "send_task", lambda *a, **k: sent.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        assert cleanup_failed_trades()["requeued"] == 0
    assert sent == []


def test_cleanup_prunes_old_refused_trades_and_old_events(user, inst, settings):
    settings.TRADE_RETENTION_DAYS = 90
    fund(user, "100.00")
    old = queued(user, inst, "old")
    Trade.objects.filter(pk=old.pk).update(
        status=TradeStatus.REJECTED,
        held=0,
        failure_code="market_closed",
        updated_at=timezone.now() - timedelta(days=91),
    )
    recent = queued(user, inst, "recent")
    Trade.objects.filter(pk=recent.pk).update(
        status=TradeStatus.REJECTED, held=0, failure_code="market_closed"
    )
    old_events = Event.objects.filter(user=user).count()  # the deposit's, and two per request
    Event.objects.filter(user=user).update(
        created_at=timezone.now() - settings.EVENT_RETENTION - timedelta(days=1)
    )
    result = cleanup_failed_trades()
    assert result["pruned_trades"] == 1 and result["pruned_events"] == old_events == 5
    assert list(Trade.objects.values_list("pk", flat=True)) == [recent.pk]


def test_process_completed_trades_task_settles_due_trades(user, inst):
    fund(user, "100.00")
    quote(inst, "100.00")
    trade = trade_open(trade_id=queued(user, inst, "due").pk)
    expires = timezone.now() - timedelta(minutes=1)
    Trade.objects.filter(pk=trade.pk).update(expires_at=expires)
    tick(inst, "110.00", expires)
    assert process_completed_trades() == {"settled": 1, "waiting": 0, "errors": 0}
    assert process_completed_trades() == {"settled": 0, "waiting": 0, "errors": 0}
    # 0.1 units x +10.00 = 1.00; fees 0.01 + 0.01.
    assert balance(user) == (D("100.98"), D("0.00"))


def test_beat_schedule_matches_the_design():
    schedule = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["trading.tasks.process_completed_trades"] == crontab(minute="*")
    assert schedule["trading.tasks.schedule_expiry_settlements"] == crontab(minute="*")
    assert schedule["trading.tasks.auto_initiate_daily_trades"] == crontab(minute=0)
    assert schedule["trading.tasks.check_investment_maturity"] == crontab(minute=0, hour=0)
    assert schedule["trading.tasks.cleanup_failed_trades"] == crontab(minute=0, hour=2)
    assert schedule["wallets.tasks.update_wallet_balances"] == crontab(minute=0, hour="6,18")
    assert schedule["trading.tasks.sweep_queued_trades"] == crontab(minute="*/5")
    app.loader.import_default_modules()
    for name in schedule:
        assert name in app.tasks, name
