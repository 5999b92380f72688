"""Reads of the push app."""

from typing import Any

from django.db.models import QuerySet

from push.counters import outcome_totals
from push.models import PushPreference, PushSubscription


def subscription_list(*, user_id: int) -> QuerySet[PushSubscription]:
    """The user's own subscriptions (nobody sees another's: the API's 404)."""
    return PushSubscription.objects.filter(user_id=user_id).order_by("id")


def preference_get(*, user_id: int) -> PushPreference:
    """The user's push switches; an unsaved all-on row when they never chose."""
    return PushPreference.objects.filter(user_id=user_id).first() or PushPreference(user_id=user_id)


def push_totals() -> dict[str, Any]:
    """For the ops page and /metrics: outcomes since the counters began, and
    how many subscriptions exist."""
    return {"outcomes": outcome_totals(), "subscriptions": PushSubscription.objects.count()}
