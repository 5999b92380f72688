"""Trade and plan event data: the fast `trade_data` equals the API serializer,
and every trade.* / plan.* event builds its schema and round-trips through JSON."""

import json
from decimal import Decimal

import pytest

from realtime.schemas import event_data_validate
from tests.trading.trades_support import fund, make_instrument, quote
from trading.plans.serializers import plan_data
from trading.plans.services import plan_create
from trading.trades.serializers import TradeSerializer, trade_data
from trading.trades.services import trade_close, trade_open, trade_request

D = Decimal
pytestmark = pytest.mark.django_db

TRADE_EVENTS = [
    "trade.queued",
    "trade.opened",
    "trade.retrying",
    "trade.rejected",
    "trade.failed",
    "trade.cancelled",
    "trade.settled",
]


def test_trade_data_equals_the_serializer_in_every_state(user):
    inst = make_instrument("SER-USD", price_scale=2)
    fund(user, "100.00")
    quote(inst, "123.45")
    trade = trade_request(
        user=user,
        instrument=inst.symbol,
        side="sell",
        stake=D("10.00"),
        idempotency_key="s",
        take_profit="100.5",
    ).trade
    states = [trade]
    states.append(trade_open(trade_id=trade.pk))
    quote(inst, "120.00")
    states.append(trade_close(user=user, trade_id=trade.pk))
    for state in states:
        state.refresh_from_db()
        assert trade_data(state) == dict(TradeSerializer(state).data)
        assert list(trade_data(state)) == list(TradeSerializer(state).data)  # same key order too


@pytest.mark.parametrize("event", TRADE_EVENTS)
def test_trade_events_round_trip_through_json(user, event):
    inst = make_instrument("SER-USD", price_scale=2)
    fund(user, "100.00")
    trade = trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D("10.00"), idempotency_key="r"
    ).trade
    data = event_data_validate(event=event, data=trade_data(trade))
    assert json.loads(json.dumps(data)) == data
    assert data["stake"] == "10.00"


@pytest.mark.parametrize("event", ["plan.started", "plan.matured"])
def test_plan_events_round_trip_through_json(user, event):
    inst = make_instrument("SER-USD", price_scale=2)
    fund(user, "100.00")
    plan, _ = plan_create(
        user=user,
        instrument=inst.symbol,
        strategy="dca",
        principal=D("50.00"),
        trade_fraction=D("0.5"),
        term_days=3,
        idempotency_key="p",
    )
    data = event_data_validate(event=event, data=plan_data(plan))
    assert json.loads(json.dumps(data)) == data
    assert data["principal"] == "50.00"
