"""Batched postings: one transaction and one commit for many movements."""

from decimal import Decimal

import pytest

from realtime.models import Event
from tests.factories import UserFactory
from tests.wallets.helpers import balance, ledger_invariants
from wallets import services
from wallets.errors import IdempotencyMismatch, InsufficientFunds
from wallets.models import Account, AccountKind, Entry, LedgerTransaction
from wallets.services import ReserveItem, SettleItem

pytestmark = pytest.mark.django_db
D = Decimal
RESERVED = AccountKind.RESERVED


def fund(user, amount="100.00"):
    services.wallet_deposit(user=user, amount=D(amount), currency="USD", idempotency_key="fund")


def test_reserve_batch_posts_every_item_and_publishes_once(user):
    fund(user)
    events = Event.objects.filter(user=user).count()
    items = [ReserveItem(D("10.00"), f"t{i}", f"r{i}", D("0.10")) for i in range(5)]
    txs = services.wallet_reserve_batch(user=user, currency="USD", items=items)
    assert len({tx.pk for tx in txs}) == 5
    assert (balance(user), balance(user, RESERVED)) == (D("49.50"), D("50.00"))
    assert Event.objects.filter(user=user).count() == events + 1
    assert Event.objects.filter(user=user).last().data["balances"][0] == {
        "currency": "USD",
        "available": "49.50",
        "reserved": "50.00",
    }
    ledger_invariants()


def test_reserve_batch_replays_used_keys_and_refuses_reuse(user):
    fund(user)
    first = services.wallet_reserve_batch(
        user=user,
        currency="USD",
        items=[ReserveItem(D("10.00"), "t", "r1"), ReserveItem(D("5.00"), "t", "r2")],
    )
    again = services.wallet_reserve_batch(
        user=user,
        currency="USD",
        items=[ReserveItem(D("10.00"), "t", "r1"), ReserveItem(D("1.00"), "t", "r3")],
    )
    assert again[0].pk == first[0].pk
    assert balance(user, RESERVED) == D("16.00")
    with pytest.raises(IdempotencyMismatch):
        services.wallet_reserve_batch(user=user, currency="USD", items=[ReserveItem(D("9.00"), "t", "r1")])
    assert balance(user, RESERVED) == D("16.00")
    ledger_invariants()


def test_reserve_batch_is_all_or_nothing(user):
    fund(user)
    before = (LedgerTransaction.objects.count(), Entry.objects.count())
    items = [ReserveItem(D("40.00"), "t", f"r{i}") for i in range(3)]  # 120 > 100
    with pytest.raises(InsufficientFunds):
        services.wallet_reserve_batch(user=user, currency="USD", items=items)
    assert (LedgerTransaction.objects.count(), Entry.objects.count()) == before
    assert (balance(user), balance(user, RESERVED)) == (D("100.00"), D("0.00"))


def test_settle_batch_across_users():
    a, b = UserFactory(), UserFactory()
    for user in (a, b):
        fund(user)
        services.wallet_reserve(
            user=user, amount=D("50.00"), currency="USD", reference="t", idempotency_key="r"
        )
    services.wallet_settle_batch(
        currency="USD",
        items=[
            SettleItem(a.pk, D("50.00"), D("7.25"), D("0.50"), "t", "s"),
            SettleItem(b.pk, D("50.00"), D("-50.00"), D("0.00"), "t", "s"),
        ],
    )
    assert (balance(a), balance(a, RESERVED)) == (D("106.75"), D("0.00"))
    assert (balance(b), balance(b, RESERVED)) == (D("50.00"), D("0.00"))
    ledger_invariants()


def test_the_field_order_the_batch_builds_transactions_with_is_the_models():
    from wallets.batch import _TX_FIELDS

    assert _TX_FIELDS == tuple(f.attname for f in LedgerTransaction._meta.concrete_fields)


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_does_not_balance_is_refused_before_it_returns(user):
    """The batch runs its zero-sum checks itself (before it locks the
    accounts), not only at COMMIT: nothing of it is written."""
    from django.db import IntegrityError, transaction

    from wallets.batch import PostingSpec, ledger_post_batch
    from wallets.ledger import Leg

    fund(user)
    before = (LedgerTransaction.objects.count(), Entry.objects.count())
    spec = PostingSpec(
        user_id=user.pk,
        kind="transfer",
        amount=D("1.00"),
        legs=[Leg(user.pk, AccountKind.AVAILABLE, D("-1.00")), Leg(None, AccountKind.FEES, D("2.00"))],
        reference="t",
        idempotency_key="unbalanced",
        fingerprint="f",
    )
    with pytest.raises(IntegrityError, match="does not balance"):
        with transaction.atomic():
            ledger_post_batch(currency="USD", specs=[spec])
            pytest.fail("the batch returned")
    assert (LedgerTransaction.objects.count(), Entry.objects.count()) == before
    ledger_invariants()


@pytest.mark.django_db(transaction=True)
def test_after_a_batch_the_zero_sum_check_is_deferred_to_commit_again(user):
    from django.db import IntegrityError, connection, transaction

    fund(user)
    available = Account.objects.get(owner=user, kind=AccountKind.AVAILABLE)
    with pytest.raises(IntegrityError, match="does not balance"):
        with transaction.atomic(), connection.cursor() as cursor:
            services.wallet_reserve_batch(
                user=user, currency="USD", items=[ReserveItem(D("1.00"), "t", "r1")]
            )
            cursor.execute(
                "INSERT INTO wallets_ledgertransaction (user_id, kind, currency, amount, reference,"
                " idempotency_key, fingerprint, memo, created_at)"
                " VALUES (%s, 'transfer', 'USD', 1, '', 'raw', '', '', now()) RETURNING id",
                [user.pk],
            )
            tx_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO wallets_entry (transaction_id, account_id, amount) VALUES (%s, %s, 5)",
                [tx_id, available.pk],
            )
            # Deferred again: the lone leg is accepted until COMMIT.
            cursor.execute("SELECT count(*) FROM wallets_entry WHERE transaction_id = %s", [tx_id])
            assert cursor.fetchone()[0] == 1
    assert not LedgerTransaction.objects.filter(idempotency_key__in=["raw", "r1"]).exists()
    ledger_invariants()
