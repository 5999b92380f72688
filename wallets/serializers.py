"""Serializers of the wallet API: explicit fields; balances, owners and
statuses are read-only; every money input goes through `MoneyField`."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.filters import ID_MAX
from core.serializers import StrictSerializer
from wallets.events import CurrencyBalanceSerializer
from wallets.models import Account, Entry, LedgerTransaction, WithdrawalRequest
from wallets.money import MoneyField, quantize

__all__ = [
    "AccountSerializer",
    "AdjustmentInputSerializer",
    "CurrencyBalanceSerializer",
    "EntrySerializer",
    "LedgerTransactionSerializer",
    "MoneyInputSerializer",
    "WithdrawalDecisionSerializer",
    "WithdrawalSerializer",
]


# A decimal string, as DRF's DecimalField is documented: clients must not read
# money into a binary float.
@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"})
class AmountOutField(serializers.Field):
    """A stored amount shown at its currency's scale (`currency_source` on the same object)."""

    def __init__(self, *, currency_source: str = "currency", **kwargs: Any) -> None:
        self.currency_source = currency_source
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> tuple[Any, str]:
        currency: Any = instance
        for part in self.currency_source.split("."):
            currency = getattr(currency, part)
        return super().get_attribute(instance), str(currency)

    def to_representation(self, value: tuple[Decimal, str]) -> str:
        amount, currency = value
        return str(quantize(amount, currency))


def _currency_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=sorted(settings.WALLET_CURRENCIES), default="USD")


class AccountSerializer(serializers.ModelSerializer):
    balance = AmountOutField()

    class Meta:
        model = Account
        fields = ["id", "owner", "currency", "kind", "balance", "created_at"]
        read_only_fields = fields


class LedgerTransactionSerializer(serializers.ModelSerializer):
    amount = AmountOutField()

    class Meta:
        model = LedgerTransaction
        fields = ["id", "user", "kind", "currency", "amount", "reference", "memo", "created_at"]
        read_only_fields = fields


class EntrySerializer(serializers.ModelSerializer):
    amount = AmountOutField(currency_source="account.currency")
    currency = serializers.CharField(source="account.currency", read_only=True)
    account_kind = serializers.CharField(source="account.kind", read_only=True)
    kind = serializers.CharField(source="transaction.kind", read_only=True)
    reference = serializers.CharField(source="transaction.reference", read_only=True)
    created_at = serializers.DateTimeField(source="transaction.created_at", read_only=True)

    class Meta:
        model = Entry
        fields = [
            "id",
            "transaction",
            "account",
            "account_kind",
            "currency",
            "amount",
            "kind",
            "reference",
            "created_at",
        ]
        read_only_fields = fields


class MoneyInputSerializer(StrictSerializer):
    """A deposit or a withdrawal request: an amount of a currency."""

    amount = MoneyField()
    currency = _currency_field()


class WithdrawalSerializer(serializers.ModelSerializer):
    amount = AmountOutField()

    class Meta:
        model = WithdrawalRequest
        fields = [
            "id",
            "user",
            "currency",
            "amount",
            "status",
            "decision_reason",
            "decided_by",
            "created_at",
            "decided_at",
        ]
        read_only_fields = fields


class WithdrawalDecisionSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class AdjustmentInputSerializer(StrictSerializer):
    # An id, not an object choice: which users exist the schema cannot state,
    # so an unknown one is the view's 422, not a 400.
    user = serializers.IntegerField(min_value=0, max_value=ID_MAX, help_text="The user's id.")
    amount = MoneyField()
    currency = _currency_field()
    direction = serializers.ChoiceField(choices=["credit", "debit"])
    reason = serializers.CharField(max_length=500)
