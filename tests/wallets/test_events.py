"""The wallet.balance event: registered schema, JSON round trip, published data."""

import json
from decimal import Decimal

import pytest

from realtime.schemas import WALLET_BALANCE, event_data_validate, registered_events
from wallets.events import balance_item


def test_wallet_balance_schema_is_registered_and_round_trips_through_json():
    assert WALLET_BALANCE in registered_events()
    data = {"balances": [balance_item(currency="USD", available=Decimal("10.50"), reserved=Decimal("0.00"))]}
    payload = event_data_validate(event=WALLET_BALANCE, data=data)
    assert json.loads(json.dumps(payload)) == {
        "balances": [{"currency": "USD", "available": "10.50", "reserved": "0.00"}]
    }


def test_wallet_balance_refuses_a_diff_or_a_float():
    from realtime.errors import EventInvalid

    with pytest.raises(EventInvalid):
        event_data_validate(event=WALLET_BALANCE, data={"available": Decimal("1.00")})
    with pytest.raises(EventInvalid):
        event_data_validate(
            event=WALLET_BALANCE,
            data={"balances": [{"currency": "USD", "available": 1.5, "reserved": Decimal(0)}]},
        )
