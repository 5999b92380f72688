"""Batched postings: one transaction and one commit for many movements."""

from decimal import Decimal

import pytest

from realtime.models import Event
from tests.factories import UserFactory
from tests.wallets.helpers import balance, ledger_invariants
from wallets import services
from wallets.errors import IdempotencyMismatch, InsufficientFunds
from wallets.models import AccountKind, Entry, LedgerTransaction
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
