import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from realtime.ticks import publish_tick


async def test_tick_reaches_its_ticker_group_with_exact_price():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("ticker.BTC-USD", channel)
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    await sync_to_async(publish_tick)(symbol="BTC-USD", price=Decimal("65000.10"), at=at)
    message = await asyncio.wait_for(layer.receive(channel), 5)
    assert message == {
        "type": "tick",
        "symbol": "BTC-USD",
        "price": "65000.10",
        "time": "2026-01-02T03:04:05+00:00",
    }
    await layer.group_discard("ticker.BTC-USD", channel)


def test_tick_refuses_float_price_and_bad_symbol():
    at = datetime(2026, 1, 2, tzinfo=UTC)
    with pytest.raises(TypeError):
        publish_tick(symbol="BTC-USD", price=1.5, at=at)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        publish_tick(symbol="user.1", price=Decimal("1"), at=at)
