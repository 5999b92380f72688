"""Reads of the ledger. Every query that serves a user is filtered by owner;
staff variants are explicit (`staff=True` callers are checked by the API)."""

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum

from wallets.events import balance_item
from wallets.models import Account, AccountKind, Entry, WithdrawalRequest
from wallets.money import quantize


def balances_of(*, user_id: int) -> list[dict[str, Any]]:
    """The user's balances per currency they hold (cached balances), sorted by currency."""
    found: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for cur, kind, balance in Account.objects.filter(owner_id=user_id).values_list(
        "currency", "kind", "balance"
    ):
        found[cur][kind] = balance
    return [
        balance_item(
            currency=cur,
            available=quantize(found[cur].get(AccountKind.AVAILABLE, Decimal(0)), cur),
            reserved=quantize(found[cur].get(AccountKind.RESERVED, Decimal(0)), cur),
        )
        for cur in sorted(found)
    ]


def account_list(*, user_id: int | None) -> QuerySet[Account]:
    """The user's ledger accounts; `user_id=None` means every account (staff)."""
    qs = Account.objects.all()
    return qs if user_id is None else qs.filter(owner_id=user_id)


def entry_list(
    *,
    user_id: int | None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Entry]:
    """Entries on the user's accounts (`user_id=None`: all, for staff), newest first."""
    qs = Entry.objects.select_related("transaction", "account")
    if user_id is not None:
        qs = qs.filter(account__owner_id=user_id)
    if since is not None:
        qs = qs.filter(transaction__created_at__gte=since)
    if until is not None:
        qs = qs.filter(transaction__created_at__lt=until)
    return qs.order_by("-id")


def withdrawal_list(*, user_id: int | None) -> QuerySet[WithdrawalRequest]:
    qs = WithdrawalRequest.objects.all()
    return qs if user_id is None else qs.filter(user_id=user_id)


def user_balances(*, currency: str, user_ids: list[int] | None) -> dict[int, tuple[Decimal, Decimal]]:
    """(available, reserved) cached balances in `currency` of each user who has
    an account in it (`user_ids=None`: every such user), in one query. A user
    without an account in `currency` is absent: they have no wallet there."""
    qs = Account.objects.filter(owner__isnull=False, currency=currency)
    if user_ids is not None:
        qs = qs.filter(owner_id__in=user_ids)
    found: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for owner_id, kind, amount in qs.values_list("owner_id", "kind", "balance"):
        found[owner_id][kind] = amount
    return {
        owner_id: (
            quantize(kinds.get(AccountKind.AVAILABLE, Decimal(0)), currency),
            quantize(kinds.get(AccountKind.RESERVED, Decimal(0)), currency),
        )
        for owner_id, kinds in found.items()
    }


def user_fees_paid(
    *, currency: str, user_ids: list[int] | None, since: datetime
) -> dict[int, tuple[Decimal, Decimal]]:
    """(fees since `since`, fees all time) each user paid in `currency`, in one
    query: the entries on the platform's `fees` accounts of the user's ledger
    transactions, dated by when each fee was charged (an opening fee at the
    open, a closing fee at the settlement). The ledger, not the trades, because
    a trade records only its fees' sum, not when each was charged."""
    qs = Entry.objects.filter(account__kind=AccountKind.FEES, account__currency=currency)
    if user_ids is not None:
        qs = qs.filter(transaction__user_id__in=user_ids)
    rows = (
        qs.values("transaction__user_id")
        .annotate(
            since_total=Sum("amount", filter=Q(transaction__created_at__gte=since)),
            all_total=Sum("amount"),
        )
        .values_list("transaction__user_id", "since_total", "all_total")
    )
    return {
        user_id: (quantize(since_total or Decimal(0), currency), quantize(all_total or Decimal(0), currency))
        for user_id, since_total, all_total in rows
    }
