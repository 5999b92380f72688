"""The `wallet.balance` event: its schema and the one function that publishes it.

The data is the user's full set of balances (every currency they hold), not
a diff, so a client can replace what it shows with what it receives.
Registered with `realtime.schemas` in `WalletsConfig.ready`.
"""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from realtime.publish import publish
from realtime.schemas import WALLET_BALANCE


class CurrencyBalanceSerializer(serializers.Serializer):
    currency = serializers.CharField(read_only=True)
    available = serializers.DecimalField(max_digits=None, decimal_places=None, read_only=True)
    reserved = serializers.DecimalField(max_digits=None, decimal_places=None, read_only=True)


class WalletBalanceEventSerializer(serializers.Serializer):
    balances = CurrencyBalanceSerializer(many=True, read_only=True)


def balance_item(*, currency: str, available: Decimal, reserved: Decimal) -> dict[str, Any]:
    return {"currency": currency, "available": available, "reserved": reserved}


def wallet_balance_publish(*, user_id: int, balances: list[dict[str, Any]]) -> None:
    """Publish the user's balances (`balance_item`s, one per currency).

    Precondition: inside the transaction that changed them, with the user's
    accounts of the changed currency locked."""
    publish(user_id=user_id, event=WALLET_BALANCE, data={"balances": balances})
