import json
from decimal import Decimal

import pytest
from rest_framework import serializers

from realtime import schemas
from realtime.errors import EventInvalid


def test_every_design_event_name_is_known():
    assert set(schemas.EVENT_NAMES) == {
        "trade.queued",
        "trade.opened",
        "trade.retrying",
        "trade.rejected",
        "trade.failed",
        "trade.cancelled",
        "trade.settled",
        "wallet.balance",
        "plan.started",
        "plan.matured",
        "notification",
    }


def test_notification_schema_round_trips_through_json():
    data = schemas.notification_data(title="Deposit", body="100.00 USD arrived", level="success")
    validated = schemas.event_data_validate(event=schemas.NOTIFICATION, data=data)
    again = json.loads(json.dumps(validated))
    assert again == {"title": "Deposit", "body": "100.00 USD arrived", "level": "success"}
    assert schemas.NotificationData(**again) == schemas.NotificationData(**data)


def test_notification_refuses_unknown_level_and_extra_keys():
    with pytest.raises(EventInvalid):
        schemas.event_data_validate(event="notification", data={"title": "a", "body": "b", "level": "loud"})
    with pytest.raises(EventInvalid):
        schemas.event_data_validate(event="notification", data={"title": "a", "body": "b", "extra": 1})
    with pytest.raises(EventInvalid):
        schemas.event_data_validate(event="notification", data={"title": "a"})


def test_unknown_event_name_is_refused():
    with pytest.raises(EventInvalid) as exc:
        schemas.event_data_validate(event="trade.exploded", data={})
    assert exc.value.field == "event"
    with pytest.raises(EventInvalid):
        schemas.register("trade.exploded", schemas.NotificationData)


def test_serializer_schema_requires_exactly_its_readable_fields(monkeypatch):
    class BalanceSchema(serializers.Serializer):
        currency = serializers.CharField()
        available = serializers.DecimalField(max_digits=30, decimal_places=2)
        secret = serializers.CharField(write_only=True)

    monkeypatch.setitem(schemas._registry, schemas.WALLET_BALANCE, BalanceSchema)
    data = {"currency": "USD", "available": Decimal("10.05")}
    assert schemas.event_data_validate(event="wallet.balance", data=data) == {
        "currency": "USD",
        "available": "10.05",
    }
    with pytest.raises(EventInvalid):
        schemas.event_data_validate(event="wallet.balance", data={"currency": "USD"})


def test_floats_are_refused_and_decimals_kept_exact():
    with pytest.raises(EventInvalid) as exc:
        schemas.json_native({"price": 0.1})
    assert exc.value.field == "data.price"
    assert schemas.json_native({"p": [Decimal("0.10000000")]}) == {"p": ["0.10000000"]}
    with pytest.raises(EventInvalid):
        schemas.json_native({"p": Decimal("NaN")})
