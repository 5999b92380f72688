"""The `wallet.balance` event: its schema and the one function that publishes
it; and the `notification` telling a user their withdrawal was decided.

The data is the user's full set of balances (every currency they hold), not
a diff, so a client can replace what it shows with what it receives.
Registered with `realtime.schemas` in `WalletsConfig.ready`.
"""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from realtime.publish import Publication, publish, publish_many
from realtime.schemas import NOTIFICATION, TOPIC_WITHDRAWAL_DECIDED, WALLET_BALANCE, notification_data
from wallets.money import currency_scale


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


def wallet_balances_publish(balances_by_user: dict[int, list[dict[str, Any]]]) -> None:
    """`wallet_balance_publish` for many users, in one statement (`publish_many`),
    in user-id order. Same precondition."""
    if len(balances_by_user) == 1:
        [(user_id, balances)] = balances_by_user.items()
        wallet_balance_publish(user_id=user_id, balances=balances)
        return
    publish_many(
        [
            Publication(user_id, WALLET_BALANCE, {"balances": balances_by_user[user_id]})
            for user_id in sorted(balances_by_user)
        ]
    )


def withdrawal_decided_publish(
    *, user_id: int, withdrawal_id: int, approved: bool, amount: Decimal, currency: str, reason: str
) -> None:
    """Tell the owner that staff decided their withdrawal: a toast on an
    open page, and (topic `withdrawal.decided`) a push where they want one.

    Precondition: inside the deciding transaction (nothing is told if it
    rolls back)."""
    shown = amount.quantize(Decimal(1).scaleb(-currency_scale(currency)))  # stored with 8 places
    verb = "approved" if approved else "rejected"
    where = "is on its way to you" if approved else "is back in your available balance"
    body = f"Withdrawal #{withdrawal_id}: {shown} {currency} {where}."
    if reason:
        body = f"{body} Reason: {reason[:200]}"
    data = notification_data(
        title=f"Withdrawal {verb}",
        body=body,
        level="success" if approved else "warning",
        topic=TOPIC_WITHDRAWAL_DECIDED,
    )
    publish(user_id=user_id, event=NOTIFICATION, data=data)
