"""Many postings in one database transaction: the way past the commit limit.

A durable COMMIT waits for the WAL flush (about 1-4 ms on this machine's
disk, docs/ledger.md), and an account's row lock is held until it returns, so
one hot account can never see more transfers per second than commits per
second. `ledger_post_batch` amortizes that: all the batch's transactions are
inserted in one statement, all their entries in another, their zero-sum
checks run (`SET CONSTRAINTS wallets_tx_balanced IMMEDIATE`, then deferred
again), and only then is every account locked (id order) and changed, in a
third; one `wallet.balance` statement for all users, one commit. So the
accounts' locks, which concurrent batches queue for (every batch touches the
platform's shard accounts), cover neither the entries nor their checks.

A batch is all or nothing: if the sum of its movements would take any user
account below zero, `InsufficientFunds` is raised and nothing is written
(the caller may retry the items one by one to find which fit). Idempotency
is per item: an item whose key was used before returns that transaction
(or raises `IdempotencyMismatch`) and is not posted again.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from core.pgarrays import decimal_array, int_array, text_array
from wallets.errors import InsufficientFunds
from wallets.ledger import Leg, Posting, balances_publish, system_shard, transaction_find
from wallets.locks import accounts_apply_deltas
from wallets.models import SYSTEM_KINDS, USER_KINDS, Account, LedgerTransaction

# Every field of LedgerTransaction, in order (a test pins it), for Model.from_db.
_TX_FIELDS = (
    "id",
    "user_id",
    "kind",
    "currency",
    "amount",
    "reference",
    "idempotency_key",
    "fingerprint",
    "memo",
    "created_by_id",
    "created_at",
)


@dataclass(frozen=True)
class PostingSpec:
    """The arguments of one `ledger_post`, for a batch."""

    user_id: int
    kind: str
    amount: Decimal
    legs: Sequence[Leg]
    reference: str
    idempotency_key: str
    fingerprint: str
    memo: str = ""
    created_by_id: int | None = None


_INSERT_MANY = """
INSERT INTO wallets_ledgertransaction
    (user_id, kind, currency, amount, reference, idempotency_key, fingerprint, memo, created_by_id,
     created_at)
SELECT i.user_id, i.kind, %(currency)s, i.amount, i.reference, i.key, i.fingerprint, i.memo, i.created_by,
       %(created_at)s
  FROM unnest(%(users)s::bigint[], %(kinds)s::text[], %(amounts)s::numeric[], %(references)s::text[],
              %(keys)s::text[], %(fingerprints)s::text[], %(memos)s::text[], %(creators)s::bigint[])
       WITH ORDINALITY AS i(user_id, kind, amount, reference, key, fingerprint, memo, created_by, n)
 ORDER BY i.n
ON CONFLICT (user_id, kind, idempotency_key) DO NOTHING
RETURNING id, user_id, kind, idempotency_key
"""


# The entries go in before the accounts are locked (a single posting inserts
# them in its lock statement, to save a round trip; a batch's 2,000 are better
# out of the lock's window).
_INSERT_ENTRIES = """
INSERT INTO wallets_entry (transaction_id, account_id, amount)
SELECT e.transaction_id, e.account_id, e.amount
  FROM unnest(%(txs)s::bigint[], %(accounts)s::bigint[], %(amounts)s::numeric[])
       AS e(transaction_id, account_id, amount)
"""


def _account_ids(
    *, currency: str, owners: list[int], shards: list[int]
) -> dict[tuple[int | None, str, int], int]:
    """(owner, kind, shard) → id for the owners' and the shards' accounts, creating missing ones."""

    def load() -> dict[tuple[int | None, str, int], int]:
        rows = Account.objects.filter(
            Q(owner_id__in=owners) | Q(owner__isnull=True, shard__in=shards), currency=currency
        ).values_list("id", "owner_id", "kind", "shard")
        return {(owner, kind, shard): pk for pk, owner, kind, shard in rows}

    ids = load()
    if len(ids) < len(owners) * len(USER_KINDS) + len(shards) * len(SYSTEM_KINDS):
        Account.objects.bulk_create(
            [Account(owner_id=o, kind=k, currency=currency) for o in owners for k in USER_KINDS]
            + [Account(kind=k, currency=currency, shard=s) for s in shards for k in SYSTEM_KINDS],
            ignore_conflicts=True,
        )
        ids = load()
    return ids


def ledger_post_batch(*, currency: str, specs: Sequence[PostingSpec]) -> list[Posting]:
    """Post every spec (one currency) in the caller's transaction; results in input order.

    Precondition: inside `transaction.atomic()`; on error the caller rolls back."""
    assert connection.in_atomic_block, "ledger_post_batch needs the caller's transaction"
    if not specs:
        return []
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_MANY,
            {
                "currency": currency,
                "created_at": now,
                "users": int_array(s.user_id for s in specs),
                "kinds": text_array(s.kind for s in specs),
                "amounts": decimal_array(s.amount for s in specs),
                "references": text_array(s.reference for s in specs),
                "keys": text_array(s.idempotency_key for s in specs),
                "fingerprints": text_array(s.fingerprint for s in specs),
                "memos": text_array(s.memo for s in specs),
                "creators": int_array(s.created_by_id for s in specs),
            },
        )
        inserted = {(user, kind, key): pk for pk, user, kind, key in cursor.fetchall()}

    new: list[tuple[PostingSpec, int]] = []
    results: list[Posting] = []
    alias = connection.alias
    for spec in specs:
        tx_id = inserted.pop((spec.user_id, spec.kind, spec.idempotency_key), None)
        if tx_id is None:  # used before (or earlier in this batch): a replay
            found = transaction_find(
                user_id=spec.user_id,
                kind=spec.kind,
                idempotency_key=spec.idempotency_key,
                fingerprint=spec.fingerprint,
            )
            results.append(Posting(transaction=found, replayed=True))
            continue
        # As a row read back (positional, every field in order): Django's fast path.
        tx = LedgerTransaction.from_db(
            alias,
            _TX_FIELDS,
            (
                tx_id,
                spec.user_id,
                spec.kind,
                currency,
                spec.amount,
                spec.reference,
                spec.idempotency_key,
                spec.fingerprint,
                spec.memo,
                spec.created_by_id,
                now,
            ),
        )
        new.append((spec, tx_id))
        results.append(Posting(transaction=tx, replayed=False))
    if not new:
        return results

    owners = sorted({leg.owner_id for spec, _ in new for leg in spec.legs if leg.owner_id is not None})
    shard_of = {user_id: system_shard(user_id) for user_id in {spec.user_id for spec, _ in new}}
    shards = sorted(set(shard_of.values()))
    ids = _account_ids(currency=currency, owners=owners, shards=shards)
    entries = [
        (tx_id, ids[(leg.owner_id, leg.kind, 0 if leg.owner_id else shard_of[spec.user_id])], leg.amount)
        for spec, tx_id in new
        for leg in spec.legs
        if leg.amount != 0
    ]
    deltas: dict[int, Decimal] = defaultdict(Decimal)
    for owner in owners:  # both user accounts locked, so published balances are exact
        for kind in USER_KINDS:
            deltas[ids[(owner, kind, 0)]] += 0
    for _, account_id, amount in entries:
        deltas[account_id] += amount
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_ENTRIES,
            {
                "txs": int_array(tx for tx, _, _ in entries),
                "accounts": int_array(account for _, account, _ in entries),
                "amounts": decimal_array(amount for _, _, amount in entries),
            },
        )
        # The zero-sum checks of the batch's transactions, deferred to COMMIT
        # by default, run now, before the accounts are locked: the platform
        # accounts every batch needs are then held for one check the less
        # per transaction. (Anything else pending in the caller's transaction
        # is checked now too, and the constraint is deferred again.)
        cursor.execute("SET CONSTRAINTS wallets_tx_balanced IMMEDIATE")
        cursor.execute("SET CONSTRAINTS wallets_tx_balanced DEFERRED")
    changed = accounts_apply_deltas(deltas=deltas, entries=())
    if len(changed) != len(deltas):
        short = next(pk for pk in deltas if pk not in changed)
        raise InsufficientFunds(f"Insufficient funds: this batch would take account {short} below zero.")
    balances_publish(rows=changed.values(), currency=currency)
    return results
