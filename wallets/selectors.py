"""Reads of the ledger. Every query that serves a user is filtered by owner;
staff variants are explicit (`staff=True` callers are checked by the API)."""

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

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
