"""The daily equity snapshot task, on the real database: every user with a
wallet gets one row a UTC day, the figures of the portfolio endpoint, and
running it again the same day rewrites that row instead of adding one."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from tests.factories import UserFactory
from tests.trading.portfolio_support import at, build_book
from tests.trading.trades_support import fund, quote
from trading.portfolio.models import EquitySnapshot
from trading.tasks import snapshot_portfolios

D = Decimal


@pytest.mark.django_db
def test_snapshots_every_user_with_a_wallet_and_nobody_else(user, other_user):
    book = build_book(user)
    fund(other_user, "250.00")
    UserFactory()  # no wallet: no row
    assert snapshot_portfolios() == {"USD": 2}
    today = timezone.now().date()
    rows = {row.user_id: row for row in EquitySnapshot.objects.all()}
    assert set(rows) == {user.pk, other_user.pk}
    mine = rows[user.pk]
    assert (mine.day, mine.currency) == (today, "USD")
    assert (mine.equity, mine.available, mine.reserved) == (D("10105.00"), D("8075.00"), D("2000.00"))
    assert (mine.unrealised, mine.realised_to_date, mine.fees_to_date) == (D("28.00"), D("77.00"), D("5.00"))
    theirs = rows[other_user.pk]
    assert (theirs.equity, theirs.available, theirs.unrealised) == (D("250.00"), D("250.00"), D("0.00"))
    assert book["c"].status == "open"


@pytest.mark.django_db
def test_running_twice_the_same_day_keeps_one_row_with_the_newer_figures(user):
    book = build_book(user)
    snapshot_portfolios()
    first = EquitySnapshot.objects.get(user=user)
    quote(book["instrument"], "99.00")  # C: 20 x -1.00 = -20.00
    snapshot_portfolios()
    rows = list(EquitySnapshot.objects.filter(user=user))
    assert len(rows) == 1
    assert rows[0].pk == first.pk
    assert (rows[0].equity, rows[0].unrealised) == (D("10055.00"), D("-22.00"))
    assert rows[0].taken_at >= first.taken_at


@pytest.mark.django_db
def test_another_day_is_another_row(user):
    fund(user, "100.00")
    with at(timezone.now() - timedelta(days=1)):
        snapshot_portfolios()
    snapshot_portfolios()
    days = list(EquitySnapshot.objects.filter(user=user).order_by("day").values_list("day", flat=True))
    today = timezone.now().date()
    assert days == [today - timedelta(days=1), today]


def test_the_beat_schedule_runs_it_hourly():
    entry = settings.CELERY_BEAT_SCHEDULE["snapshot-portfolios"]
    assert entry["task"] == "trading.tasks.snapshot_portfolios"
    assert entry["schedule"].minute == {55}
    assert entry["schedule"].hour == set(range(24))
