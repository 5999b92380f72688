"""The double-entry ledger.

An `Account` holds one currency for one owner (`available`, `reserved`) or
for the platform (`external`, `venue`, `fees`; no owner). A `LedgerTransaction`
is one money movement; its `Entry` rows (two or more) sum to zero per
currency, checked by a deferred constraint trigger at commit. Entries are
insert-only: triggers refuse UPDATE and DELETE (see migration 0002), so a
mistake is corrected with a new transaction, never by editing history.

`Account.balance` is a cache of the sum of the account's entries. It changes
only in the transaction that inserts those entries, under the row lock
(`wallets.locks`), and `wallets.tasks.update_wallet_balances` checks it.
User accounts can never go below zero (a CHECK constraint backs the guard
in the posting statement).

System accounts are sharded (`shard`, 0..WALLET_SYSTEM_SHARDS-1): every
deposit and every settlement touches one of them, and a single row would
serialize the whole platform on its lock. A user always maps to the same
shard; the platform's balance of a kind is the sum of its shards.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

MONEY_DIGITS = 30
MONEY_PLACES = 8


class AccountKind(models.TextChoices):
    AVAILABLE = "available", "Available"
    RESERVED = "reserved", "Reserved"
    EXTERNAL = "external", "External (deposits and withdrawals)"
    VENUE = "venue", "Venue (trading profit and loss)"
    FEES = "fees", "Fees"


USER_KINDS = (AccountKind.AVAILABLE, AccountKind.RESERVED)
SYSTEM_KINDS = (AccountKind.EXTERNAL, AccountKind.VENUE, AccountKind.FEES)


class Account(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=10, choices=AccountKind.choices)
    shard = models.PositiveSmallIntegerField(default=0)
    balance = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "currency", "kind"],
                condition=Q(owner__isnull=False),
                name="wallets_account_unique_user_account",
            ),
            models.UniqueConstraint(
                fields=["currency", "kind", "shard"],
                condition=Q(owner__isnull=True),
                name="wallets_account_unique_system_shard",
            ),
            models.CheckConstraint(
                condition=(Q(owner__isnull=False, kind__in=USER_KINDS, shard=0))
                | Q(owner__isnull=True, kind__in=SYSTEM_KINDS),
                name="wallets_account_owner_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(owner__isnull=True) | Q(balance__gte=0),
                name="wallets_account_user_balance_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        owner = f"user {self.owner_id}" if self.owner_id else f"system/{self.shard}"
        return f"{self.kind} {self.currency} ({owner})"


class TransactionKind(models.TextChoices):
    DEPOSIT = "deposit", "Deposit"
    WITHDRAWAL_REQUEST = "withdrawal_request", "Withdrawal requested"
    WITHDRAWAL_APPROVE = "withdrawal_approve", "Withdrawal approved"
    WITHDRAWAL_REJECT = "withdrawal_reject", "Withdrawal rejected"
    ADJUSTMENT = "adjustment", "Staff adjustment"
    RESERVE = "reserve", "Reserve"
    RELEASE = "release", "Release"
    FEE = "fee", "Fee charged"
    SETTLE = "settle", "Settle"
    TRANSFER = "transfer", "Transfer"


class LedgerTransaction(models.Model):
    """One money movement. `(user, kind, idempotency_key)` is unique: a retry
    with the same key finds this row; `fingerprint` (a hash of the request's
    parameters) tells a true retry from a reuse of the key for other work."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger_transactions"
    )
    kind = models.CharField(max_length=20, choices=TransactionKind.choices)
    currency = models.CharField(max_length=3)
    # The headline amount of the movement (deposit amount, stake, ...), kept
    # for limits and lists; the entries are the truth.
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    reference = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    memo = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "idempotency_key"], name="wallets_tx_unique_idempotency_key"
            ),
        ]
        indexes = [models.Index(fields=["user", "kind", "created_at"], name="wallets_tx_user_kind_at")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} #{self.pk}"


class Entry(models.Model):
    """One leg of a transaction: a signed amount on one account. Insert-only."""

    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "entries"
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="wallets_entry_amount_nonzero"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} on account {self.account_id} (tx {self.transaction_id})"


class WithdrawalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class WithdrawalRequest(models.Model):
    """A user's request to take money out. Requesting moves the amount to
    `reserved`, so it cannot be spent twice; staff approve (reserved →
    external) or reject (back to available)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    status = models.CharField(
        max_length=10, choices=WithdrawalStatus.choices, default=WithdrawalStatus.PENDING
    )
    request_transaction = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, related_name="withdrawal_requested"
    )
    decision_transaction = models.OneToOneField(
        LedgerTransaction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="withdrawal_decided",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="wallets_withdrawal_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"withdrawal #{self.pk} {self.amount} {self.currency} ({self.status})"


class DriftKind(models.TextChoices):
    CACHED_BALANCE = "cached_balance", "Cached balance differs from its entries"
    CURRENCY_SUM = "currency_sum", "Entries of a currency do not sum to zero"
    NEGATIVE_BALANCE = "negative_balance", "User account below zero"


class BalanceDrift(models.Model):
    """A broken ledger invariant found by `update_wallet_balances` (staff-visible in admin)."""

    kind = models.CharField(max_length=20, choices=DriftKind.choices)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    expected = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    found = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    repaired = models.BooleanField(default=False)
    detected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.currency} expected {self.expected} found {self.found}"
