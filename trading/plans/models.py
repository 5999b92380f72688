"""Auto-trading plans (the seed's "investments").

A plan sets aside `principal` of the owner's money (available -> reserved at
creation) and, for `term_days`, lets the hourly task open at most one trade
an hour on `instrument` when the plan's `strategy` signals
(`trading.plans.strategies`). Each trade stakes `trade_fraction` of the principal,
capped at what the plan still holds.

`reserve` is what the plan holds in the owner's reserved balance and not in
an open trade's stake: principal, minus the stakes of open trades, minus the
fees paid, plus what settled trades returned. `realised_pnl` and `fees` sum
its settled trades. At maturity (or an early cancel by the owner) the open
trades are closed at the current price and the whole reserve returns to
available: principal + realised P&L - fees, to the cent.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q


class PlanStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    MATURED = "matured", "Matured"
    CANCELLED = "cancelled", "Cancelled"


class PlanStrategy(models.TextChoices):
    MOMENTUM = "momentum", "Momentum"
    MEAN_REVERSION = "mean_reversion", "Mean reversion"
    DCA = "dca", "Dollar-cost averaging"


class Plan(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="plans")
    instrument = models.ForeignKey("market.Instrument", on_delete=models.PROTECT, related_name="plans")
    strategy = models.CharField(max_length=20, choices=PlanStrategy.choices)
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    currency = models.CharField(max_length=3)
    principal = models.DecimalField(max_digits=20, decimal_places=2)
    trade_fraction = models.DecimalField(max_digits=5, decimal_places=4)
    term_days = models.PositiveSmallIntegerField()
    reserve = models.DecimalField(max_digits=20, decimal_places=2)
    realised_pnl = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    fees = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    # What went back to available when the plan ended.
    returned = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    started_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    last_signal = models.CharField(max_length=4, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=100)
    request_fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="plan_user_idempotency_key_uniq"
            ),
            models.CheckConstraint(condition=Q(principal__gt=0), name="plan_principal_positive"),
            models.CheckConstraint(condition=Q(reserve__gte=0), name="plan_reserve_not_negative"),
            models.CheckConstraint(
                condition=Q(trade_fraction__gt=0) & Q(trade_fraction__lte=1), name="plan_fraction_range"
            ),
            models.CheckConstraint(condition=Q(term_days__gte=1), name="plan_term_positive"),
            models.CheckConstraint(condition=Q(strategy__in=PlanStrategy.values), name="plan_strategy_valid"),
            models.CheckConstraint(condition=Q(status__in=PlanStatus.values), name="plan_status_valid"),
            models.CheckConstraint(
                condition=Q(status=PlanStatus.ACTIVE)
                | (Q(ended_at__isnull=False) & Q(returned__isnull=False)),
                name="plan_ended_has_outcome",
            ),
        ]
        indexes = [
            models.Index(fields=["ends_at"], condition=Q(status="active"), name="plan_active_ends_idx"),
        ]

    def __str__(self) -> str:
        return f"plan {self.pk} {self.strategy} {self.principal} {self.currency} ({self.status})"
