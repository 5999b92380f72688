"""Reads of plans, filtered by owner (staff: everyone, optionally one user)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet

from market.models import Bar
from trading.plans.models import Plan, PlanStatus
from trading.plans.strategies import BARS_NEEDED


def plan_list(*, user_id: int | None) -> QuerySet[Plan]:
    """Plans of `user_id`; None means every plan (staff callers only)."""
    qs = Plan.objects.select_related("instrument").order_by("-created_at", "-id")
    return qs if user_id is None else qs.filter(user_id=user_id)


def plans_due(*, now: datetime) -> QuerySet[Plan]:
    """Active plans whose term has ended."""
    return Plan.objects.filter(status=PlanStatus.ACTIVE, ends_at__lte=now).order_by("pk")


def plans_active(*, now: datetime) -> QuerySet[Plan]:
    """Active plans still within their term (the hourly task runs these)."""
    return Plan.objects.filter(status=PlanStatus.ACTIVE, ends_at__gt=now).order_by("pk")


def plan_closes(*, instrument_id: int, now: datetime) -> list[Decimal]:
    """The closes of the last `BARS_NEEDED` 1-minute bars that started by `now`, oldest first."""
    closes = (
        Bar.objects.filter(instrument_id=instrument_id, start__lte=now)
        .order_by("-start")
        .values_list("close", flat=True)[:BARS_NEEDED]
    )
    return list(reversed(closes))
