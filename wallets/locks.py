"""Every row lock the wallets app takes, in one place.

The project's one lock order: a trade/plan row first (its owner's module),
then a withdrawal request row, then ledger accounts in primary-key order.
Taking locks in one global order is what makes deadlocks impossible between
writers that follow it.

Accounts are locked with FOR NO KEY UPDATE: it conflicts with other writers
of the row but not with the FOR KEY SHARE lock that inserting an entry takes
through its foreign key, so entries can be written before the accounts are
locked and the lock is held for as short a time as possible.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import NamedTuple

from django.db import connection

from core.pgarrays import decimal_array, int_array
from wallets.models import WithdrawalRequest


class AccountRow(NamedTuple):
    id: int
    owner_id: int | None
    currency: str
    kind: str
    balance: Decimal


# The entries go in through a data-modifying CTE of the same statement (their
# FK checks take KEY SHARE, compatible with the lock below).
# The subquery locks the rows in id order (its LockRows node sits above the
# sort); the UPDATE only touches rows that subquery has already returned, so
# every lock is taken in id order whatever join the planner picks. READ
# COMMITTED re-evaluates the guard on the newest row version after a wait.
# The guard keeps user accounts at or above zero; rows it rejects are not
# returned, which is how the caller learns of insufficient funds.
_APPLY_DELTAS = """
WITH new_entries AS (
    INSERT INTO wallets_entry (transaction_id, account_id, amount)
    SELECT e.transaction_id, e.account_id, e.amount
      FROM unnest(%(entry_txs)s::bigint[], %(entry_accounts)s::bigint[], %(entry_amounts)s::numeric[])
           AS e(transaction_id, account_id, amount)
)
UPDATE wallets_account AS a
   SET balance = a.balance + d.delta
  FROM (SELECT id FROM wallets_account WHERE id = ANY(%(ids)s::bigint[]) ORDER BY id FOR NO KEY UPDATE) AS l,
       unnest(%(ids)s::bigint[], %(deltas)s::numeric[]) AS d(id, delta)
 WHERE a.id = l.id AND d.id = l.id
   AND (a.owner_id IS NULL OR a.balance + d.delta >= 0)
RETURNING a.id, a.owner_id, a.currency, a.kind, a.balance
"""


def accounts_apply_deltas(
    *, deltas: Mapping[int, Decimal], entries: Sequence[tuple[int, int, Decimal]]
) -> dict[int, AccountRow]:
    """Insert `entries` (transaction id, account id, amount), lock the
    accounts in `deltas` in id order and add each delta to its balance.

    One statement, so the lock is taken and changed in one round trip; it is
    then held for the rest of the caller's transaction. Returns the rows it changed; a user account
    missing from the result would have gone below zero and was left alone
    (the caller must then roll back). Precondition: inside a transaction.
    """
    ids = sorted(deltas)
    with connection.cursor() as cursor:
        cursor.execute(
            _APPLY_DELTAS,
            {
                "ids": int_array(ids),
                "deltas": decimal_array(deltas[i] for i in ids),
                "entry_txs": int_array(tx for tx, _, _ in entries),
                "entry_accounts": int_array(account for _, account, _ in entries),
                "entry_amounts": decimal_array(amount for _, _, amount in entries),
            },
        )
        return {row[0]: AccountRow(*row) for row in cursor.fetchall()}


def accounts_lock(*, account_ids: list[int]) -> None:
    """Lock accounts in id order without changing them (for reads that must not race a writer)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM wallets_account WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
            [sorted(account_ids)],
        )


def withdrawal_lock(*, withdrawal_id: int) -> WithdrawalRequest:
    """The withdrawal request row, locked; raises `WithdrawalRequest.DoesNotExist`."""
    return WithdrawalRequest.objects.select_for_update().get(pk=withdrawal_id)
