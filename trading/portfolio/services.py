"""Writes of the portfolio feature: the daily equity snapshot."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from trading.portfolio.models import EquitySnapshot
from trading.portfolio.selectors import portfolios, utc_day_start

SNAPSHOT_BATCH = 1000
UPDATED = [
    "currency",
    "equity",
    "available",
    "reserved",
    "unrealised",
    "realised_to_date",
    "fees_to_date",
    "taken_at",
]


def equity_snapshot_take(*, currency: str, now: datetime | None = None) -> int:
    """Upsert today's (UTC) snapshot of every user with a wallet in `currency`;
    returns how many rows were written. Idempotent: a second run on the same
    day overwrites that day's row with the newer figures (one row per user
    and day, the unique constraint), so two beats or a retried task are
    harmless. The figures are read for all users at once (a fixed number of
    queries), then written in batches of `SNAPSHOT_BATCH` rows."""
    now = now or timezone.now()
    day = utc_day_start(now).date()
    found = portfolios(currency=currency, user_ids=None, now=now)
    rows = [
        EquitySnapshot(
            user_id=user_id,
            day=day,
            currency=currency,
            equity=item.equity,
            available=item.available,
            reserved=item.reserved,
            unrealised=item.unrealised_pnl,
            realised_to_date=item.realised_pnl_all_time,
            fees_to_date=item.fees_paid_all_time,
            taken_at=now,
        )
        for user_id, item in sorted(found.items())
        if item.has_wallet
    ]
    with transaction.atomic():
        for start in range(0, len(rows), SNAPSHOT_BATCH):
            EquitySnapshot.objects.bulk_create(
                rows[start : start + SNAPSHOT_BATCH],
                update_conflicts=True,
                unique_fields=["user", "day"],
                update_fields=UPDATED,
            )
    return len(rows)
