"""Reads the page views need, always filtered by the owner.

A trade of another user is a 404, the same as a trade that does not exist,
so ids reveal nothing.
"""

from django.db.models import QuerySet
from django.http import Http404

from market.models import Instrument
from realtime.models import EventCounter
from trading.trades.models import Trade


def trade_of_user(*, user_id: int, trade_id: int) -> Trade:
    trade = Trade.objects.select_related("instrument").filter(user_id=user_id, pk=trade_id).first()
    if trade is None:
        raise Http404("No such trade.")
    return trade


def instrument_list() -> QuerySet[Instrument]:
    return Instrument.objects.filter(active=True).order_by("symbol")


def event_last_seq(*, user_id: int) -> int:
    """The user's last event seq when the page is rendered: the realtime
    client resumes from it on its first connection, so nothing published
    between this render and the socket opening is missed."""
    counter = EventCounter.objects.filter(user_id=user_id).values_list("last_seq", flat=True).first()
    return int(counter or 0)
