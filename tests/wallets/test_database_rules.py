"""The database itself enforces the ledger rules, whatever SQL reaches it."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from tests.wallets.helpers import ledger_invariants
from wallets import services
from wallets.models import Account, Entry, LedgerTransaction

D = Decimal
INSERT_TWO = (
    "INSERT INTO wallets_entry (transaction_id, account_id, amount) VALUES (%s, %s, %s), (%s, %s, %s)"
)


def _raw_tx(cursor, user) -> int:
    """A ledger transaction inserted by the current database transaction: the
    only kind that accepts entries."""
    cursor.execute(
        "INSERT INTO wallets_ledgertransaction (user_id, kind, currency, amount, reference,"
        " idempotency_key, fingerprint, memo, created_at)"
        " VALUES (%s, 'transfer', 'USD', 1, '', 'raw', '', '', now()) RETURNING id",
        [user.pk],
    )
    return cursor.fetchone()[0]


def _tx_and_accounts(user):
    tx = services.wallet_deposit(user=user, amount=D("10.00"), currency="USD", idempotency_key="seed")
    available = Account.objects.get(owner=user, kind="available")
    reserved = Account.objects.get(owner=user, kind="reserved")
    return tx, available, reserved


@pytest.mark.django_db(transaction=True)
def test_unbalanced_raw_insert_fails_at_commit_not_before(user):
    _, available, _ = _tx_and_accounts(user)
    entries = Entry.objects.count()
    with pytest.raises(IntegrityError, match="does not balance"):
        with transaction.atomic():
            with connection.cursor() as cursor:
                tx_id = _raw_tx(cursor, user)
                cursor.execute(
                    "INSERT INTO wallets_entry (transaction_id, account_id, amount) VALUES (%s, %s, %s)",
                    [tx_id, available.pk, D("5.00")],
                )
                # Deferred: the statement itself succeeded; only COMMIT refuses it.
                cursor.execute("SELECT count(*) FROM wallets_entry WHERE transaction_id = %s", [tx_id])
                assert cursor.fetchone()[0] == 1
    assert Entry.objects.count() == entries
    ledger_invariants()


@pytest.mark.django_db(transaction=True)
def test_balanced_raw_insert_into_a_transaction_committed_earlier_is_refused(user):
    tx, available, reserved = _tx_and_accounts(user)
    with pytest.raises(IntegrityError, match=f"ledger transaction {tx.pk} is closed"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                INSERT_TWO,
                [tx.pk, available.pk, D("-1.00"), tx.pk, reserved.pk, D("1.00")],
            )
    assert Entry.objects.filter(transaction=tx).count() == 2
    ledger_invariants()


@pytest.mark.django_db(transaction=True)
def test_balanced_raw_insert_in_the_creating_transaction_commits_even_from_a_savepoint(user):
    _, available, reserved = _tx_and_accounts(user)
    with transaction.atomic(), connection.cursor() as cursor:
        with transaction.atomic():  # a savepoint: a subtransaction with its own xid
            tx_id = _raw_tx(cursor, user)
        with transaction.atomic():  # another savepoint
            cursor.execute(INSERT_TWO, [tx_id, available.pk, D("-1.00"), tx_id, reserved.pk, D("1.00")])
        cursor.execute(
            "UPDATE wallets_account SET balance = balance + CASE id WHEN %s THEN -1 ELSE 1 END"
            " WHERE id IN (%s, %s)",
            [available.pk, available.pk, reserved.pk],
        )
    assert Entry.objects.filter(transaction_id=tx_id).count() == 2
    ledger_invariants()


@pytest.mark.django_db(transaction=True)
def test_a_client_supplied_created_xact_is_overwritten(user):
    _, available, reserved = _tx_and_accounts(user)
    with connection.cursor() as cursor:
        # Autocommit: claims the next transaction's id, so that the entries
        # inserted by it would pass if the claim were kept.
        cursor.execute(
            "INSERT INTO wallets_ledgertransaction (user_id, kind, currency, amount, reference,"
            " idempotency_key, fingerprint, memo, created_at, created_xact)"
            " VALUES (%s, 'transfer', 'USD', 1, '', 'raw', '', '', now(),"
            " (pg_current_xact_id()::text::bigint + 1)::text::xid8) RETURNING id",
            [user.pk],
        )
        tx_id = cursor.fetchone()[0]
    with pytest.raises(IntegrityError, match=f"ledger transaction {tx_id} is closed"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(INSERT_TWO, [tx_id, available.pk, D("-1.00"), tx_id, reserved.pk, D("1.00")])
    assert Entry.objects.filter(transaction_id=tx_id).count() == 0


@pytest.mark.django_db(transaction=True)
def test_transaction_mixing_currencies_must_balance_per_currency(user, settings):
    settings.WALLET_CURRENCIES = {"USD": 2, "EUR": 2}
    _, available, _ = _tx_and_accounts(user)
    eur = Account.objects.create(owner=user, kind="reserved", currency="EUR")
    with pytest.raises(IntegrityError, match="does not balance"):
        with transaction.atomic(), connection.cursor() as cursor:
            tx_id = _raw_tx(cursor, user)
            cursor.execute(
                INSERT_TWO,
                [tx_id, available.pk, D("-1.00"), tx_id, eur.pk, D("1.00")],
            )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE wallets_entry SET amount = amount * 2 WHERE transaction_id = %s",
        "DELETE FROM wallets_entry WHERE transaction_id = %s",
    ],
)
def test_raw_update_or_delete_of_an_entry_fails(user, sql):
    tx, _, _ = _tx_and_accounts(user)
    with pytest.raises(IntegrityError, match="insert-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [tx.pk])
    assert sorted(Entry.objects.filter(transaction=tx).values_list("amount", flat=True)) == [
        D("-10"),
        D("10"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sql", "op"),
    [
        ("UPDATE wallets_ledgertransaction SET amount = amount * 2 WHERE id = %s", "UPDATE"),
        ("UPDATE wallets_ledgertransaction SET memo = 'edited' WHERE id = %s", "UPDATE"),
        ("DELETE FROM wallets_ledgertransaction WHERE id = %s", "DELETE"),
    ],
)
def test_raw_update_or_delete_of_a_ledger_transaction_fails(user, sql, op):
    tx, _, _ = _tx_and_accounts(user)
    message = f"ledger transactions are insert-only: {op} refused on wallets_ledgertransaction id {tx.pk}"
    with pytest.raises(IntegrityError, match=message):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [tx.pk])
    stored = LedgerTransaction.objects.get(pk=tx.pk)
    assert (stored.amount, stored.memo) == (D("10.00"), "")


@pytest.mark.django_db
def test_zero_entry_and_negative_user_balance_are_refused_by_checks(user):
    tx, available, _ = _tx_and_accounts(user)
    with pytest.raises(IntegrityError, match="wallets_entry_amount_nonzero"):
        with transaction.atomic():
            Entry.objects.create(transaction=tx, account=available, amount=D(0))
    with pytest.raises(IntegrityError, match="wallets_account_user_balance_nonnegative"):
        with transaction.atomic():
            Account.objects.filter(pk=available.pk).update(balance=D("-0.01"))
    assert LedgerTransaction.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_legs_inserted_one_statement_at_a_time_are_checked_together_at_commit(user):
    _, available, reserved = _tx_and_accounts(user)
    with transaction.atomic(), connection.cursor() as cursor:
        tx_id = _raw_tx(cursor, user)
        insert_one = "INSERT INTO wallets_entry (transaction_id, account_id, amount) VALUES (%s, %s, %s)"
        cursor.execute(insert_one, [tx_id, available.pk, D("-1.00")])
        cursor.execute(insert_one, [tx_id, reserved.pk, D("1.00")])
        cursor.execute(
            "UPDATE wallets_account SET balance = balance + CASE id WHEN %s THEN -1 ELSE 1 END"
            " WHERE id IN (%s, %s)",
            [available.pk, available.pk, reserved.pk],
        )
    assert Entry.objects.filter(transaction_id=tx_id).count() == 2
    ledger_invariants()


def _scans(cursor) -> dict[str, tuple[int, int]]:
    """(seq_scan, idx_scan) of the ledger tables so far in this transaction."""
    cursor.execute(
        "SELECT relname, seq_scan, idx_scan FROM pg_stat_xact_user_tables"
        " WHERE relname IN ('wallets_account', 'wallets_entry')"
    )
    return {name: (seq, idx) for name, seq, idx in cursor.fetchall()}


@pytest.mark.django_db
@pytest.mark.parametrize("postings", [2, 12])
def test_the_zero_sum_check_reads_each_transaction_once_and_accounts_by_key(postings):
    """Counted, not timed: the deferred check runs once per ledger transaction
    (not once per entry) and never scans the accounts table, so its cost does
    not grow with the number of accounts or their dead row versions.

    The accounts table holds a few thousand rows and has been analysed, as a
    platform's would: on a table of one page the planner may rightly prefer
    reading it whole (PostgreSQL 18 does, for the deferred foreign-key checks
    too), and that would say nothing about the check."""
    from django.contrib.auth import get_user_model

    from tests.factories import UserFactory
    from wallets.models import Account

    padding = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"pad-{i}") for i in range(1500)]
    )
    Account.objects.bulk_create(
        [Account(owner=u, kind=kind, currency="USD") for u in padding for kind in ("available", "reserved")]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE wallets_account")
    users = [UserFactory() for _ in range(postings)]
    with transaction.atomic(), connection.cursor() as cursor:
        for i, someone in enumerate(users):
            services.wallet_deposit(user=someone, amount=D("10.00"), currency="USD", idempotency_key=f"k{i}")
        before = _scans(cursor)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire the deferred checks now
        after = _scans(cursor)
    assert after["wallets_account"][0] == before["wallets_account"][0], "the check scanned wallets_account"
    assert after["wallets_entry"][1] - before["wallets_entry"][1] == postings
    assert after["wallets_entry"][0] == before["wallets_entry"][0]
