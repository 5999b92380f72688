"""Trades: one user's position in one instrument, from request to settlement.

States (docs/architecture.md): `queued` -> `open` -> `settled`; `queued` -> `rejected`
(a business rule said no, `failure_code` says which), `failed` (a system
error after the last retry) or `cancelled` (by the owner while queued).
`queued`, `open` are live; the other four are final and never change again.

Money: a requested trade holds `stake` + opening fee (`held`, available ->
reserved) in the request's own transaction, so a request the wallet cannot
pay is refused at once; opening charges the fee out of the hold (the stake
stays reserved while open), and a trade that never opens gives the hold back.
`fee` is the opening fee while queued, then the sum of the opening and
closing fees; `pnl` is the realised profit or loss before fees, set once at
settlement and never below -stake; `net_pnl` (`pnl - fee`) is the net result
every surface leads with. The
arithmetic is `trading.pnl`; the money moves through `wallets.services`.

The database holds what must always be true (check constraints below), and
the unique (user, idempotency_key) is what makes a repeated request return
the first trade even when 50 copies race.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q


class TradeStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    OPEN = "open", "Open"
    SETTLED = "settled", "Settled"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINAL_STATUSES = frozenset(
    {TradeStatus.SETTLED, TradeStatus.REJECTED, TradeStatus.FAILED, TradeStatus.CANCELLED}
)


class TradeSide(models.TextChoices):
    BUY = "buy", "Buy (long)"
    SELL = "sell", "Sell (short)"


class CloseReason(models.TextChoices):
    EXPIRY = "expiry", "Expiry"
    USER = "user", "Closed by the user"
    TAKE_PROFIT = "take_profit", "Take-profit"
    STOP_LOSS = "stop_loss", "Stop-loss"
    LIQUIDATION = "liquidation", "Liquidation"
    PLAN_MATURITY = "plan_maturity", "Plan matured"
    PLAN_CANCELLED = "plan_cancelled", "Plan cancelled"


class TradeSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    BATCH = "batch", "Batch"
    PLAN = "plan", "Auto-trading plan"


class Trade(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="trades")
    instrument = models.ForeignKey("market.Instrument", on_delete=models.PROTECT, related_name="trades")
    plan = models.ForeignKey(
        "trading.Plan", on_delete=models.PROTECT, related_name="trades", null=True, blank=True
    )
    side = models.CharField(max_length=4, choices=TradeSide.choices)
    status = models.CharField(max_length=10, choices=TradeStatus.choices, default=TradeStatus.QUEUED)
    source = models.CharField(max_length=10, choices=TradeSource.choices, default=TradeSource.MANUAL)
    currency = models.CharField(max_length=3)
    stake = models.DecimalField(max_digits=20, decimal_places=2)
    quantity = models.DecimalField(max_digits=28, decimal_places=8, null=True, blank=True)
    # Requested lifetime; `expires_at` = `opened_at` + `duration` once open.
    duration = models.DurationField()
    take_profit = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    stop_loss = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    liquidation_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    entry_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    exit_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=20, choices=CloseReason.choices, blank=True)
    fee = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    # Stake + opening fee held in `reserved` while queued; 0 once it opens or ends
    # (and for plan trades, which are funded from their plan's reserve).
    held = models.DecimalField(
        max_digits=20,
        decimal_places=2,
        default=0,
        help_text="Stake + opening fee held in reserved while queued; 0 once the trade opens or ends.",
    )
    pnl = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    # Initiation bookkeeping: the Celery task, how many tries it took, the
    # next try when one is scheduled, and why it was refused or failed.
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    idempotency_key = models.CharField(max_length=100)
    # sha256 of the request parameters: the same key with other parameters is a 422.
    request_fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="trade_user_idempotency_key_uniq"
            ),
            models.CheckConstraint(condition=Q(stake__gt=0), name="trade_stake_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="trade_fee_not_negative"),
            # Only a queued trade holds money of its own beside its position.
            models.CheckConstraint(
                condition=Q(held=0) | (Q(status=TradeStatus.QUEUED) & Q(held__gt=0)),
                name="trade_held_only_while_queued",
            ),
            models.CheckConstraint(condition=Q(duration__gt=timedelta(0)), name="trade_duration_positive"),
            models.CheckConstraint(condition=Q(side__in=TradeSide.values), name="trade_side_valid"),
            models.CheckConstraint(condition=Q(status__in=TradeStatus.values), name="trade_status_valid"),
            # An open or settled trade has its entry; a settled one its exit.
            models.CheckConstraint(
                condition=~Q(status__in=[TradeStatus.OPEN, TradeStatus.SETTLED])
                | (
                    Q(entry_price__gt=0)
                    & Q(quantity__gt=0)
                    & Q(opened_at__isnull=False)
                    & Q(expires_at__isnull=False)
                ),
                name="trade_open_has_entry",
            ),
            models.CheckConstraint(
                condition=~Q(status=TradeStatus.SETTLED)
                | (
                    Q(exit_price__isnull=False)
                    & Q(closed_at__isnull=False)
                    & Q(pnl__isnull=False)
                    & ~Q(close_reason="")
                ),
                name="trade_settled_has_exit",
            ),
            # A loss never exceeds the stake.
            models.CheckConstraint(
                condition=Q(pnl__isnull=True) | Q(pnl__gte=-models.F("stake")), name="trade_loss_bounded"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[TradeStatus.REJECTED, TradeStatus.FAILED]) | ~Q(failure_code=""),
                name="trade_refusal_has_code",
            ),
            models.CheckConstraint(
                condition=Q(plan__isnull=True) | Q(source=TradeSource.PLAN), name="trade_plan_source"
            ),
        ]
        indexes = [
            # process_completed_trades: open trades by expiry.
            # (expires_at, id): the settlement batches walk it in order, no sort.
            models.Index(
                fields=["expires_at", "id"], condition=Q(status="open"), name="trade_open_expiry_idx"
            ),
            models.Index(fields=["user", "status"], name="trade_user_status_idx"),
            models.Index(fields=["user", "-created_at"], name="trade_user_created_idx"),
            models.Index(fields=["status", "created_at"], name="trade_status_created_idx"),
        ]

    def __str__(self) -> str:
        return f"trade {self.pk} {self.side} {self.stake} {self.currency} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def net_pnl(self) -> Decimal | None:
        """The net result: realised P&L minus every fee (opening and closing,
        both in `fee`), what the trade added to or took from the account.
        None until the trade is settled (`pnl` is set then)."""
        return None if self.pnl is None else self.pnl - self.fee
