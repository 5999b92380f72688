"""Plan serializers: output (API and plan.* events) and the create input."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from core.serializers import DecimalTextField, StrictSerializer
from trading.plans.models import Plan, PlanStrategy
from wallets.money import MoneyField

PLAN_FIELDS = (
    "id",
    "instrument",
    "strategy",
    "status",
    "currency",
    "principal",
    "trade_fraction",
    "term_days",
    "reserve",
    "realised_pnl",
    "fees",
    "returned",
    "started_at",
    "ends_at",
    "ended_at",
    "last_signal",
    "last_run_at",
    "created_at",
)


class PlanSerializer(serializers.ModelSerializer):
    instrument = serializers.CharField(source="instrument.symbol", read_only=True)

    class Meta:
        model = Plan
        fields = PLAN_FIELDS
        read_only_fields = PLAN_FIELDS


def plan_data(plan: Plan) -> dict[str, Any]:
    return dict(PlanSerializer(plan).data)


class PlanCreateSerializer(StrictSerializer):
    instrument = serializers.CharField(max_length=20, trim_whitespace=False)  # " BTC-USD" is not a symbol
    strategy = serializers.ChoiceField(choices=PlanStrategy.choices)
    principal = MoneyField()
    trade_fraction = DecimalTextField(places=4, maximum=Decimal(1), help_text="Above 0, at most 1.")
    term_days = serializers.IntegerField(min_value=1, max_value=365)
