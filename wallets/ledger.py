"""The posting engine every wallet service goes through.

`ledger_post` writes one ledger transaction and its entries and moves the
cached balances, in the order that keeps account locks short:

1. insert the transaction row, `ON CONFLICT DO NOTHING` on its idempotency
   key: a retry finds the first row and returns it (or `IdempotencyMismatch`
   if its parameters differ) without touching any account;
   in the same round trip, read the ids of the accounts involved (creating
   them on first use, a rare extra step);
2. one statement inserts the entries, locks the accounts in id order and
   applies the deltas with the non-negative guard
   (`wallets.locks.accounts_apply_deltas`); the entries' FK takes only KEY
   SHARE, which does not conflict with the accounts' NO KEY UPDATE lock;
3. run the caller's check under the lock, publish `wallet.balance` for each
   user touched, and let the caller's transaction commit, where the deferred
   trigger verifies the entries balance.

So a hot account is held for step 2's round trip, the publish, and commit:
two round trips of this module's own per transfer, plus the event's and COMMIT.
Callers (the services) own `transaction.atomic()`; this module requires one.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import wraps
from typing import Any, NamedTuple, ParamSpec, TypeVar

from django.conf import settings
from django.db import OperationalError, connection
from django.db.models import Q
from django.utils import timezone

from core.idempotency import replay_check
from wallets.errors import InsufficientFunds
from wallets.events import balance_item, wallet_balances_publish
from wallets.locks import AccountRow, accounts_apply_deltas
from wallets.models import SYSTEM_KINDS, USER_KINDS, Account, AccountKind, LedgerTransaction
from wallets.money import quantize
from wallets.selectors import balances_of

P = ParamSpec("P")
R = TypeVar("R")


class Leg(NamedTuple):
    """One side of a movement: `amount` (signed) on the account `kind` of
    `owner_id` (None for the platform's system account)."""

    owner_id: int | None
    kind: str
    amount: Decimal


@dataclass(frozen=True)
class Posting:
    transaction: LedgerTransaction
    replayed: bool


def system_shard(user_id: int) -> int:
    return user_id % max(1, int(settings.WALLET_SYSTEM_SHARDS))


# Step 1 in one round trip: insert the transaction (or find the key taken)
# and read the ids of the accounts this posting may touch. The scalar
# sub-selects make it return exactly one row whatever exists.
_INSERT_TRANSACTION = """
WITH tx AS (
    INSERT INTO wallets_ledgertransaction
        (user_id, kind, currency, amount, reference, idempotency_key, fingerprint, memo, created_by_id,
         created_at)
    VALUES (%(user_id)s, %(kind)s, %(currency)s, %(amount)s, %(reference)s, %(key)s, %(fingerprint)s,
            %(memo)s, %(created_by_id)s, %(created_at)s)
    ON CONFLICT (user_id, kind, idempotency_key) DO NOTHING
    RETURNING id
), accounts AS (
    SELECT id, owner_id, kind FROM wallets_account
     WHERE currency = %(currency)s
       AND (owner_id = ANY(%(owners)s) OR (owner_id IS NULL AND shard = %(shard)s))
)
SELECT (SELECT id FROM tx),
       ARRAY(SELECT id FROM accounts),
       ARRAY(SELECT owner_id FROM accounts),
       ARRAY(SELECT kind FROM accounts)
"""


def transaction_find(*, user_id: int, kind: str, idempotency_key: str, fingerprint: str) -> LedgerTransaction:
    """The transaction an earlier call with this key wrote; `IdempotencyMismatch`
    if that call had other parameters."""
    existing = LedgerTransaction.objects.get(user_id=user_id, kind=kind, idempotency_key=idempotency_key)
    replay_check(stored=existing.fingerprint, fingerprint=fingerprint, what="a request")
    return existing


def accounts_ensure(*, currency: str, owners: Iterable[int], shard: int) -> dict[tuple[int | None, str], int]:
    """Create whichever of the owners' and the shard's accounts are missing
    (accounts are created on first use) and return all their ids."""
    owners = sorted(set(owners))
    Account.objects.bulk_create(
        [Account(owner_id=o, kind=k, currency=currency) for o in owners for k in USER_KINDS]
        + [Account(owner_id=None, kind=k, currency=currency, shard=shard) for k in SYSTEM_KINDS],
        ignore_conflicts=True,
    )
    rows = Account.objects.filter(
        Q(owner_id__in=owners) | Q(owner__isnull=True, shard=shard), currency=currency
    ).values_list("id", "owner_id", "kind")
    return {(owner, kind): pk for pk, owner, kind in rows}


def ledger_post(
    *,
    user_id: int,
    kind: str,
    currency: str,
    amount: Decimal,
    legs: Sequence[Leg],
    reference: str,
    idempotency_key: str,
    fingerprint: str,
    memo: str = "",
    created_by_id: int | None = None,
    under_lock: Callable[[LedgerTransaction], None] | None = None,
) -> Posting:
    """Write one balanced movement, or return the one an earlier call with the key wrote.

    Precondition: inside `transaction.atomic()` (the caller's); on any error
    the caller's transaction (or savepoint) rolls back, leaving nothing.
    `under_lock` runs after the accounts are locked and changed, for checks
    that must not race (e.g. a daily limit); it raises to refuse.
    """
    assert connection.in_atomic_block, "ledger_post needs the caller's transaction"
    now = timezone.now()
    owners = sorted({leg.owner_id for leg in legs if leg.owner_id is not None})
    shard = system_shard(user_id)
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_TRANSACTION,
            {
                "user_id": user_id,
                "kind": kind,
                "currency": currency,
                "amount": amount,
                "reference": reference,
                "key": idempotency_key,
                "fingerprint": fingerprint,
                "memo": memo,
                "created_by_id": created_by_id,
                "created_at": now,
                "owners": owners,
                "shard": shard,
            },
        )
        row = cursor.fetchone()
    assert row is not None
    tx_id, account_ids, account_owners, account_kinds = row
    if tx_id is None:
        tx = transaction_find(
            user_id=user_id, kind=kind, idempotency_key=idempotency_key, fingerprint=fingerprint
        )
        return Posting(transaction=tx, replayed=True)
    tx = LedgerTransaction(
        id=tx_id,
        user_id=user_id,
        kind=kind,
        currency=currency,
        amount=amount,
        reference=reference,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        memo=memo,
        created_by_id=created_by_id,
        created_at=now,
    )
    tx._state.adding = False

    ids = {(o, k): pk for pk, o, k in zip(account_ids, account_owners, account_kinds, strict=True)}
    if len(ids) < len(owners) * len(USER_KINDS) + len(SYSTEM_KINDS):
        ids = accounts_ensure(currency=currency, owners=owners, shard=shard)
    entries = [(tx_id, ids[(leg.owner_id, leg.kind)], leg.amount) for leg in legs if leg.amount != 0]

    # Both user accounts of every owner are locked (delta 0 when untouched)
    # so the published balances are exact, not read beside a concurrent writer.
    deltas: dict[int, Decimal] = defaultdict(Decimal)
    for owner in owners:
        for user_kind in USER_KINDS:
            deltas[ids[(owner, user_kind)]] += 0
    for _, account_id, leg_amount in entries:
        deltas[account_id] += leg_amount
    changed = accounts_apply_deltas(deltas=deltas, entries=entries)
    if len(changed) != len(deltas):
        short = next(pk for pk in deltas if pk not in changed)
        kind = next(kind for (_, kind), pk in ids.items() if pk == short)
        # Said in the user's words: an account id means nothing to them.
        raise InsufficientFunds(
            f"Insufficient funds: the {kind} balance is less than {amount} {currency}.", field="amount"
        )
    if under_lock is not None:
        under_lock(tx)
    balances_publish(rows=changed.values(), currency=currency)
    return Posting(transaction=tx, replayed=False)


def balances_publish(*, rows: Iterable[AccountRow], currency: str) -> None:
    """One `wallet.balance` event per user touched, in user-id order (the
    event log's per-user counter locks are then taken in one order too), all
    in one statement however many users a batch touched.

    The posted currency's balances come from the locked rows; other
    currencies (only when more than one is configured) are read beside them."""
    by_owner: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for row in rows:
        if row.owner_id is not None:
            by_owner[row.owner_id][row.kind] = row.balance
    published: dict[int, list[dict[str, Any]]] = {}
    for owner_id in sorted(by_owner):
        mine = by_owner[owner_id]
        balances = {
            currency: balance_item(
                currency=currency,
                available=quantize(mine[AccountKind.AVAILABLE], currency),
                reserved=quantize(mine[AccountKind.RESERVED], currency),
            )
        }
        if len(settings.WALLET_CURRENCIES) > 1:
            for item in balances_of(user_id=owner_id):
                balances.setdefault(item["currency"], item)
        published[owner_id] = [balances[c] for c in sorted(balances)]
    if published:
        wallet_balances_publish(published)


_RETRYABLE = {"40P01", "40001"}  # deadlock_detected, serialization_failure


def retry_on_conflict(fn: Callable[P, R]) -> Callable[P, R]:
    """Retry a service when PostgreSQL aborted it for a deadlock or a
    serialization failure, if it owns the transaction (inside a caller's
    transaction the caller must retry: its earlier work was rolled back too).

    The account lock order makes deadlocks among wallet services impossible;
    this guards against other writers that lock in another order.
    """

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        attempts = 3
        for attempt in range(attempts):
            if connection.in_atomic_block:
                return fn(*args, **kwargs)
            try:
                return fn(*args, **kwargs)
            except OperationalError as exc:
                code = getattr(getattr(exc, "__cause__", None), "sqlstate", None)
                if code not in _RETRYABLE or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    return wrapper


def day_start(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)
