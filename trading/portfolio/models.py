"""The equity curve: one snapshot of a user's portfolio per UTC day.

Written by `trading.tasks.snapshot_portfolios` (hourly, docs/trading.md
"Portfolio"): each run upserts today's row, so the row of a finished day is
its last run's figures (23:55 UTC) and running twice keeps one row. Money
columns are at the currency's scale; the definitions are those of
`trading.portfolio.selectors` (`Portfolio`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class EquitySnapshot(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(help_text="The UTC day this snapshot closes.")
    currency = models.CharField(max_length=3)
    equity = models.DecimalField(max_digits=30, decimal_places=8)
    available = models.DecimalField(max_digits=30, decimal_places=8)
    reserved = models.DecimalField(max_digits=30, decimal_places=8)
    unrealised = models.DecimalField(max_digits=30, decimal_places=8)
    realised_to_date = models.DecimalField(max_digits=30, decimal_places=8)
    fees_to_date = models.DecimalField(max_digits=30, decimal_places=8)
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["user", "day"]
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="equity_snapshot_user_day_uniq"),
        ]

    def __str__(self) -> str:
        return f"equity {self.equity} {self.currency} of user {self.user_id} on {self.day}"
