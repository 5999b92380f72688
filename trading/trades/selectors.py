"""Reads of trades. Every query that serves a user is filtered by owner;
`user_id=None` (all users) is for staff callers, checked by the API."""

from __future__ import annotations

from django.db.models import QuerySet

from trading.trades.models import Trade


def trade_list(*, user_id: int | None) -> QuerySet[Trade]:
    qs = Trade.objects.select_related("instrument")
    return qs if user_id is None else qs.filter(user_id=user_id)


def trade_get(*, user_id: int, trade_id: int) -> Trade | None:
    """The user's trade, or None (another user's trade is as absent as a missing one)."""
    return trade_list(user_id=user_id).filter(pk=trade_id).first()
