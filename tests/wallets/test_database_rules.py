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


def _tx_and_accounts(user):
    tx = services.wallet_deposit(user=user, amount=D("10.00"), currency="USD", idempotency_key="seed")
    available = Account.objects.get(owner=user, kind="available")
    reserved = Account.objects.get(owner=user, kind="reserved")
    return tx, available, reserved


@pytest.mark.django_db(transaction=True)
def test_unbalanced_raw_insert_fails_at_commit_not_before(user):
    tx, available, _ = _tx_and_accounts(user)
    entries = Entry.objects.count()
    with pytest.raises(IntegrityError, match="does not balance"):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO wallets_entry (transaction_id, account_id, amount) VALUES (%s, %s, %s)",
                    [tx.pk, available.pk, D("5.00")],
                )
                # Deferred: the statement itself succeeded; only COMMIT refuses it.
                cursor.execute("SELECT count(*) FROM wallets_entry WHERE transaction_id = %s", [tx.pk])
                assert cursor.fetchone()[0] == 3
    assert Entry.objects.count() == entries
    ledger_invariants()


@pytest.mark.django_db(transaction=True)
def test_balanced_raw_insert_commits(user):
    tx, available, reserved = _tx_and_accounts(user)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            INSERT_TWO,
            [tx.pk, available.pk, D("-1.00"), tx.pk, reserved.pk, D("1.00")],
        )
    assert Entry.objects.filter(transaction=tx).count() == 4


@pytest.mark.django_db(transaction=True)
def test_transaction_mixing_currencies_must_balance_per_currency(user, settings):
    settings.WALLET_CURRENCIES = {"USD": 2, "EUR": 2}
    tx, available, _ = _tx_and_accounts(user)
    eur = Account.objects.create(owner=user, kind="reserved", currency="EUR")
    with pytest.raises(IntegrityError, match="does not balance"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                INSERT_TWO,
                [tx.pk, available.pk, D("-1.00"), tx.pk, eur.pk, D("1.00")],
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
def test_zero_entry_and_negative_user_balance_are_refused_by_checks(user):
    tx, available, _ = _tx_and_accounts(user)
    with pytest.raises(IntegrityError, match="wallets_entry_amount_nonzero"):
        with transaction.atomic():
            Entry.objects.create(transaction=tx, account=available, amount=D(0))
    with pytest.raises(IntegrityError, match="wallets_account_user_balance_nonnegative"):
        with transaction.atomic():
            Account.objects.filter(pk=available.pk).update(balance=D("-0.01"))
    assert LedgerTransaction.objects.count() == 1
