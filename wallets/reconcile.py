"""Ledger reconciliation: check the invariants, record drift, repair caches.

The entries are the truth. A cached balance that differs from the sum of its
account's entries is recorded (`BalanceDrift` + a log line) and recomputed
from those entries under the account's row lock; nothing else is ever
"repaired". A currency whose entries do not sum to zero, or a user account
below zero after recomputation, cannot be fixed by recomputing: it is
recorded and logged for staff, and left as found.
"""

import logging
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from wallets.locks import accounts_lock
from wallets.models import Account, BalanceDrift, DriftKind

logger = logging.getLogger(__name__)

_MISMATCHED = """
SELECT a.id, a.currency, a.balance, COALESCE(s.total, 0)
  FROM wallets_account a
  LEFT JOIN (SELECT account_id, sum(amount) AS total FROM wallets_entry GROUP BY account_id) s
    ON s.account_id = a.id
 WHERE a.balance <> COALESCE(s.total, 0)
 ORDER BY a.id
"""

_CURRENCY_SUMS = """
SELECT a.currency, sum(e.amount) FROM wallets_entry e JOIN wallets_account a ON a.id = e.account_id
 GROUP BY a.currency HAVING sum(e.amount) <> 0
"""


def _entries_total(account_id: int) -> Decimal:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(sum(amount), 0) FROM wallets_entry WHERE account_id = %s", [account_id]
        )
        row = cursor.fetchone()
    assert row is not None
    return Decimal(row[0])


def ledger_reconcile() -> dict[str, Any]:
    """Check every account and currency; return a summary of what was found and repaired.

    Safe to run twice at once: each repair re-reads its account under the row
    lock and does nothing if a concurrent run already fixed it."""
    with connection.cursor() as cursor:
        cursor.execute(_MISMATCHED)
        suspects = cursor.fetchall()
        cursor.execute(_CURRENCY_SUMS)
        unbalanced = cursor.fetchall()
    repaired: list[int] = []
    for account_id, currency, _cached, _total in suspects:
        with transaction.atomic():
            accounts_lock(account_ids=[account_id])
            account = Account.objects.get(pk=account_id)
            expected = _entries_total(account_id)
            if account.balance == expected:
                continue
            BalanceDrift.objects.create(
                kind=DriftKind.CACHED_BALANCE,
                account=account,
                currency=currency,
                expected=expected,
                found=account.balance,
                repaired=True,
            )
            logger.error(
                "ledger drift: account %s cached %s, entries sum to %s; recomputed from entries",
                account_id,
                account.balance,
                expected,
            )
            Account.objects.filter(pk=account_id).update(balance=expected)
            repaired.append(account_id)
    for currency, total in unbalanced:
        BalanceDrift.objects.create(
            kind=DriftKind.CURRENCY_SUM, currency=currency, expected=Decimal(0), found=total
        )
        logger.critical("ledger drift: %s entries sum to %s, not zero", currency, total)
    negative = list(
        Account.objects.filter(owner__isnull=False, balance__lt=0).values_list("id", "currency", "balance")
    )
    for account_id, currency, found in negative:
        BalanceDrift.objects.create(
            kind=DriftKind.NEGATIVE_BALANCE,
            account_id=account_id,
            currency=currency,
            expected=Decimal(0),
            found=found,
        )
        logger.critical("ledger drift: user account %s is below zero (%s)", account_id, found)
    return {
        "accounts_checked": Account.objects.count(),
        "balance_drifts_repaired": repaired,
        "unbalanced_currencies": [currency for currency, _ in unbalanced],
        "negative_accounts": [row[0] for row in negative],
        "ok": not (repaired or unbalanced or negative),
    }
