"""One INFO line per trade lifecycle step, each carrying the trade and user
ids in `extra=` (the JSON formatter writes them as fields), and the batch
settlement's cheap form: one INFO line naming every trade of the batch, the
per-trade lines at DEBUG only."""

import json
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from config.logging import JsonFormatter
from tests.trading.trades_support import fund, make_instrument, quote, tick
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_attempt_failed, trade_cancel, trade_close, trade_open, trade_request
from trading.trades.settlement import trades_settle_due

pytestmark = pytest.mark.django_db

D = Decimal
LOGGER = "trading.trades.services"


@pytest.fixture
def inst(db):
    return make_instrument("LOG-USD", fee_bps=10, price_scale=2, max_stake=D("5000.00"))


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.INFO, logger="trading")
    return caplog


def _request(user, inst, key: str, stake: str = "1000.00") -> Trade:
    return trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D(stake), idempotency_key=key
    ).trade


def _lines(caplog, trade_id: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and getattr(r, "trade_id", None) == trade_id]


def test_queued_opened_and_settled_by_the_owner(user, inst, logs):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = _request(user, inst, "a")
    trade_open(trade_id=trade.pk)
    quote(inst, "110.00")
    trade_close(user=user, trade_id=trade.pk)

    queued, opened, settled = _lines(logs, trade.pk)
    for record in (queued, opened, settled):
        assert record.levelno == logging.INFO
        assert record.user_id == user.pk
    assert queued.getMessage() == f"trade {trade.pk} queued: buy LOG-USD 1000.00 USD"
    assert queued.status == "queued"
    assert opened.getMessage() == f"trade {trade.pk} opened at 100.00 on attempt 1"
    assert opened.status == "open"
    # qty 10: (110 - 100) x 10 = 100.00
    assert settled.getMessage() == f"trade {trade.pk} settled: user at 110.00, pnl 100.00"
    assert (settled.status, settled.close_reason, settled.pnl) == ("settled", "user", "100.00")


def test_rejected_with_its_code(user, inst, logs, settings):
    settings.MAX_OPEN_TRADES = 0
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = _request(user, inst, "r")
    trade_open(trade_id=trade.pk)
    rejected = _lines(logs, trade.pk)[-1]
    assert rejected.getMessage() == (
        f"trade {trade.pk} rejected: max_open_trades (At most 0 open trades at a time.)"
    )
    assert (rejected.status, rejected.code, rejected.user_id) == ("rejected", "max_open_trades", user.pk)


def test_retrying_with_attempt_and_next_try_then_failed_with_reason(user, inst, logs, settings):
    settings.TRADE_MAX_RETRIES = 1
    fund(user, "5000.00")
    trade = _request(user, inst, "f")
    before = timezone.now()
    assert trade_attempt_failed(trade_id=trade.pk, code="database_error", reason="server closed").retry
    retrying = _lines(logs, trade.pk)[-1]
    next_at = Trade.objects.get(pk=trade.pk).next_attempt_at
    assert next_at is not None and next_at > before
    assert retrying.getMessage() == (
        f"trade {trade.pk} retrying: attempt 1 failed (database_error: server closed), "
        f"next try at {next_at.isoformat()}"
    )
    assert (retrying.status, retrying.attempt, retrying.retry_at) == ("retrying", 1, next_at.isoformat())

    assert not trade_attempt_failed(trade_id=trade.pk, code="database_error", reason="server closed").retry
    failed = _lines(logs, trade.pk)[-1]
    assert failed.getMessage() == f"trade {trade.pk} failed: Gave up after 2 attempts: server closed"
    assert (failed.status, failed.code, failed.user_id) == ("failed", "database_error", user.pk)


def test_cancelled(user, inst, logs):
    fund(user, "5000.00")
    trade = _request(user, inst, "c")
    trade_cancel(user=user, trade_id=trade.pk)
    cancelled = _lines(logs, trade.pk)[-1]
    assert cancelled.getMessage() == f"trade {trade.pk} cancelled by its owner"
    assert (cancelled.status, cancelled.user_id) == ("cancelled", user.pk)


def _expired_trades(user, inst, count: int) -> list[int]:
    fund(user, "5000.00")
    quote(inst, "100.00")
    ids = []
    for n in range(count):
        trade = _request(user, inst, f"b{n}", stake="100.00")
        trade_open(trade_id=trade.pk)
        ids.append(trade.pk)
    expires = timezone.now() - timedelta(minutes=1)
    Trade.objects.filter(pk__in=ids).update(expires_at=expires)
    tick(inst, "105.00", expires)
    return ids


def test_batch_settlement_logs_one_info_line_naming_every_trade(user, inst, logs):
    ids = _expired_trades(user, inst, 3)
    logs.clear()
    assert trades_settle_due().settled == 3
    batch = [r for r in logs.records if r.name == LOGGER]
    assert len(batch) == 1
    (line,) = batch
    assert line.levelno == logging.INFO
    assert line.getMessage() == f"settled 3 trades in one batch: {' '.join(map(str, ids))}"
    assert line.trade_ids == ids
    # And it is a JSON field of the production format.
    assert json.loads(JsonFormatter().format(line))["trade_ids"] == ids


def test_batch_settlement_per_trade_lines_at_debug(user, inst, caplog):
    caplog.set_level(logging.DEBUG, logger="trading")
    ids = _expired_trades(user, inst, 2)
    caplog.clear()
    assert trades_settle_due().settled == 2
    per_trade = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.DEBUG]
    assert [r.trade_id for r in per_trade] == ids
    for record in per_trade:
        assert record.user_id == user.pk
        # qty 1 at 100.00, expiry at 105.00
        assert record.getMessage() == f"trade {record.trade_id} settled: expiry at 105.00, pnl 5.00"
        assert (record.close_reason, record.pnl) == ("expiry", "5.00")
    assert Trade.objects.filter(pk__in=ids, status=TradeStatus.SETTLED).count() == 2
