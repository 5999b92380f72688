"""A constructed book of trades whose portfolio is known to the cent.

Instrument PF-USD, fee 10 bps, price scale 2. The user deposits 10,000.00:

- A, yesterday: buy 1,000.00 at 100.00 (qty 10, opening fee 1.00), closed at
  110.00 yesterday: P&L +100.00, closing fee 1.00, net +98.00;
- B, today: sell 500.00 at 100.00 (qty 5, fee 0.50), closed at 104.00:
  P&L -20.00, closing fee 0.50, net -21.00;
- C, today: buy 2,000.00 at 100.00 (qty 20, fee 2.00), open; marked at
  101.50: P&L +30.00, net of its opening fee +28.00.

Balances: available 10,000 - 1,001 + 1,099 - 500.50 + 479.50 - 2,002 =
8,075.00; reserved 2,000.00 (C's stake). Equity 8,075 + 2,000 + 30 =
10,105.00 = deposits 10,000 + realised 77.00 + unrealised 28.00.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

from django.urls import get_resolver
from django.utils import timezone

from tests.trading.trades_support import fund, make_instrument, quote
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_close, trade_open, trade_request

D = Decimal
MARK = "101.50"
EXPECTED = {
    "currency": "USD",
    "equity": "10105.00",
    "available": "8075.00",
    "reserved": "2000.00",
    "unrealised_pnl": "28.00",
    "realised_pnl_today": "-21.00",
    "realised_pnl_all_time": "77.00",
    "fees_paid_today": "3.00",
    "fees_paid_all_time": "5.00",
    "open_trades": 1,
    "marks_stale": False,
}


def open_trade(user, inst, *, side: str, stake: str) -> Trade:
    trade = trade_request(
        user=user, instrument=inst.symbol, side=side, stake=D(stake), idempotency_key=str(uuid.uuid4())
    ).trade
    trade = trade_open(trade_id=trade.pk)
    assert trade.status == TradeStatus.OPEN
    return trade


def close_at(user, inst, trade: Trade, price: str) -> Trade:
    quote(inst, price)
    trade = trade_close(user=user, trade_id=trade.pk)
    assert trade.status == TradeStatus.SETTLED
    return trade


_REAL_NOW = timezone.now
_frozen: list[datetime] = []


def _now() -> datetime:
    return _frozen[-1] if _frozen else _REAL_NOW()


@contextmanager
def at(instant: datetime) -> Iterator[None]:
    """Run as if it were `instant` (services, the ledger and auto_now read
    `timezone.now`). The stand-in falls back to the real clock once the block
    ends: a module imported inside it (`from django.utils.timezone import
    now`, e.g. the URLconf's views loaded by a `reverse`) keeps the stand-in,
    which must not stay frozen for the rest of the run."""
    get_resolver().url_patterns  # noqa: B018  (import the views before the clock stops)
    _frozen.append(instant)
    try:
        with mock.patch("django.utils.timezone.now", _now):
            yield
    finally:
        _frozen.pop()


def build_book(user, *, symbol: str = "PF-USD") -> dict[str, Trade]:
    inst = make_instrument(symbol, fee_bps=10, price_scale=2, max_stake=D("5000.00"))
    fund(user, "10000.00")
    yesterday = timezone.now() - timedelta(days=1)
    with at(yesterday):
        quote(inst, "100.00")
        a = open_trade(user, inst, side="buy", stake="1000.00")
    with at(yesterday + timedelta(minutes=5)):
        a = close_at(user, inst, a, "110.00")
    quote(inst, "100.00")
    b = open_trade(user, inst, side="sell", stake="500.00")
    c = open_trade(user, inst, side="buy", stake="2000.00")
    b = close_at(user, inst, b, "104.00")
    quote(inst, MARK)
    assert (a.net_pnl, b.net_pnl) == (D("98.00"), D("-21.00"))
    return {"a": a, "b": b, "c": c, "instrument": inst}
