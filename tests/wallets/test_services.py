"""The wallet services on real PostgreSQL: money moves, refusals write nothing,
idempotency keys replay or refuse, events are published."""

from decimal import Decimal

import pytest
from django.test import override_settings

from realtime.models import Event
from tests.factories import UserFactory
from tests.wallets.helpers import balance, ledger_invariants
from wallets import services
from wallets.errors import (
    Conflict,
    DepositLimitExceeded,
    Forbidden,
    IdempotencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    InvalidRequest,
)
from wallets.models import AccountKind, Entry, LedgerTransaction, WithdrawalStatus

pytestmark = pytest.mark.django_db
D = Decimal
RESERVED = AccountKind.RESERVED


def deposit(user, amount="100.00", key="dep-1"):
    return services.wallet_deposit(user=user, amount=D(amount), currency="USD", idempotency_key=key)


def test_deposit_moves_external_to_available_and_publishes_balance(user):
    tx = deposit(user)
    assert balance(user) == D("100.00")
    assert sorted(tx.entries.values_list("amount", flat=True)) == [D("-100.00"), D("100.00")]
    event = Event.objects.get(user=user)
    assert event.event == "wallet.balance"
    assert event.data == {"balances": [{"currency": "USD", "available": "100.00", "reserved": "0.00"}]}
    ledger_invariants()


def test_same_key_returns_the_first_transaction_and_moves_money_once(user):
    first = deposit(user)
    again = deposit(user)
    assert again.pk == first.pk
    assert balance(user) == D("100.00")
    assert LedgerTransaction.objects.count() == 1
    assert Event.objects.filter(user=user).count() == 1


def test_same_key_other_parameters_is_refused_with_422(user):
    deposit(user)
    with pytest.raises(IdempotencyMismatch) as info:
        deposit(user, amount="100.01")
    assert info.value.http_status == 422
    assert balance(user) == D("100.00")


@override_settings(DEMO_DEPOSIT_DAILY_LIMIT="150.00")
def test_daily_deposit_limit_refuses_the_deposit_that_crosses_it(user):
    deposit(user, "100.00", "a")
    deposit(user, "50.00", "b")
    with pytest.raises(DepositLimitExceeded) as refused:
        deposit(user, "0.01", "c")
    # At the currency's places, not the ledger's eight.
    assert refused.value.message.endswith(" 0.00 USD left today.")
    assert balance(user) == D("150.00")
    assert LedgerTransaction.objects.count() == 2
    ledger_invariants()


def test_reserve_with_fee_then_release(user):
    deposit(user)
    services.wallet_reserve(
        user=user, amount=D("30.00"), currency="USD", reference="t1", idempotency_key="r1", fee=D("0.50")
    )
    assert (balance(user), balance(user, RESERVED)) == (D("69.50"), D("30.00"))
    services.wallet_release(
        user=user, amount=D("30.00"), currency="USD", reference="t1", idempotency_key="l1"
    )
    assert (balance(user), balance(user, RESERVED)) == (D("99.50"), D("0.00"))
    ledger_invariants()


def test_reserve_beyond_available_is_insufficient_funds_and_writes_nothing(user):
    deposit(user)
    entries = Entry.objects.count()
    with pytest.raises(InsufficientFunds) as info:
        services.wallet_reserve(
            user=user, amount=D("100.01"), currency="USD", reference="t", idempotency_key="r"
        )
    assert info.value.code == "insufficient_funds"
    assert Entry.objects.count() == entries
    assert LedgerTransaction.objects.count() == 1
    assert balance(user) == D("100.00")


@pytest.mark.parametrize(
    ("pnl", "fee", "available"),
    [
        (D("12.34"), D("1.00"), D("111.34")),
        (D("-40.00"), D("1.00"), D("59.00")),
        (D("0"), D("0"), D("100.00")),
    ],
)
def test_settle_returns_stake_plus_pnl_minus_fee(user, pnl, fee, available):
    deposit(user)
    services.wallet_reserve(user=user, amount=D("40.00"), currency="USD", reference="t", idempotency_key="r")
    services.wallet_settle(
        user=user, stake=D("40.00"), pnl=pnl, fee=fee, currency="USD", reference="t", idempotency_key="s"
    )
    assert (balance(user), balance(user, RESERVED)) == (available, D("0.00"))
    ledger_invariants()


def test_settle_that_would_take_available_below_zero_is_refused(user):
    deposit(user, "40.00")
    services.wallet_reserve(user=user, amount=D("40.00"), currency="USD", reference="t", idempotency_key="r")
    with pytest.raises(InsufficientFunds):
        services.wallet_settle(
            user=user,
            stake=D("40.00"),
            pnl=D("-41.00"),
            fee=D("0"),
            currency="USD",
            reference="t",
            idempotency_key="s",
        )
    assert (balance(user), balance(user, RESERVED)) == (D("0.00"), D("40.00"))


@pytest.mark.parametrize("amount", [D("0"), D("-1"), D("1.001"), D("NaN"), D("Infinity"), 1.5])
def test_services_refuse_bad_computed_amounts(user, amount):
    with pytest.raises(InvalidAmount):
        services.wallet_reserve(user=user, amount=amount, currency="USD", reference="t", idempotency_key="r")
    assert LedgerTransaction.objects.count() == 0


def test_withdrawal_request_holds_money_and_approve_pays_out(user, staff_user):
    deposit(user)
    withdrawal = services.wallet_withdrawal_request(
        user=user, amount=D("60.00"), currency="USD", idempotency_key="w"
    )
    assert (balance(user), balance(user, RESERVED)) == (D("40.00"), D("60.00"))
    done = services.wallet_withdrawal_approve(
        staff=staff_user, withdrawal_id=withdrawal.pk, idempotency_key="a"
    )
    assert done.status == WithdrawalStatus.APPROVED
    assert (balance(user), balance(user, RESERVED)) == (D("40.00"), D("0.00"))
    # Retried approval with the same key: same answer, nothing moves twice.
    again = services.wallet_withdrawal_approve(
        staff=staff_user, withdrawal_id=withdrawal.pk, idempotency_key="a"
    )
    assert again.status == WithdrawalStatus.APPROVED
    assert balance(user, RESERVED) == D("0.00")
    with pytest.raises(Conflict):
        services.wallet_withdrawal_reject(staff=staff_user, withdrawal_id=withdrawal.pk, idempotency_key="b")
    ledger_invariants()


def test_withdrawal_reject_returns_money_and_needs_staff(user, staff_user):
    deposit(user)
    withdrawal = services.wallet_withdrawal_request(
        user=user, amount=D("60.00"), currency="USD", idempotency_key="w"
    )
    with pytest.raises(Forbidden):
        services.wallet_withdrawal_reject(staff=user, withdrawal_id=withdrawal.pk, idempotency_key="x")
    done = services.wallet_withdrawal_reject(
        staff=staff_user, withdrawal_id=withdrawal.pk, idempotency_key="x", reason="KYC"
    )
    assert done.status == WithdrawalStatus.REJECTED
    assert (balance(user), balance(user, RESERVED)) == (D("100.00"), D("0.00"))


def test_adjust_needs_a_reason_and_cannot_go_below_zero(user, staff_user):
    deposit(user)
    with pytest.raises(InvalidRequest) as info:
        services.wallet_adjust(
            staff=staff_user,
            user=user,
            amount=D("1"),
            currency="USD",
            direction="credit",
            reason=" ",
            idempotency_key="a",
        )
    assert info.value.field == "reason"
    with pytest.raises(InsufficientFunds):
        services.wallet_adjust(
            staff=staff_user,
            user=user,
            amount=D("100.01"),
            currency="USD",
            direction="debit",
            reason="chargeback",
            idempotency_key="b",
        )
    services.wallet_adjust(
        staff=staff_user,
        user=user,
        amount=D("0.01"),
        currency="USD",
        direction="debit",
        reason="rounding",
        idempotency_key="c",
    )
    assert balance(user) == D("99.99")
    ledger_invariants()


def test_transfer_between_users_publishes_both_balances():
    a, b = UserFactory(), UserFactory()
    deposit(a)
    services.wallet_transfer(
        from_user=a, to_user=b, amount=D("25.00"), currency="USD", reference="x", idempotency_key="t"
    )
    assert (balance(a), balance(b)) == (D("75.00"), D("25.00"))
    assert Event.objects.get(user=b).data["balances"][0]["available"] == "25.00"
    ledger_invariants()
