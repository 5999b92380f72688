"""A Hypothesis state machine over the wallet services: random sequences of
deposits, withdrawals (approved or rejected), reservations, releases,
settlements with profit and loss, and replayed idempotency keys. After every
step the model's balances equal the database's and every ledger invariant
holds, including the deferred zero-sum check (forced to run each step)."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests.factories import UserFactory
from tests.wallets.helpers import balance, ledger_invariants
from wallets import services
from wallets.errors import IdempotencyMismatch, InsufficientFunds
from wallets.models import AccountKind

D = Decimal
cents = st.integers(min_value=1, max_value=50_000).map(lambda c: D(c).scaleb(-2))
fees = st.integers(min_value=0, max_value=500).map(lambda c: D(c).scaleb(-2))


class WalletMachine(RuleBasedStateMachine):
    reservations = Bundle("reservations")
    withdrawals = Bundle("withdrawals")
    calls = Bundle("calls")

    def __init__(self):
        super().__init__()
        # Each example runs in a savepoint rolled back at teardown.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.users = [UserFactory(), UserFactory()]
        self.staff = UserFactory(is_staff=True)
        self.available = [D("0.00"), D("0.00")]
        self.reserved = [D("0.00"), D("0.00")]
        self.n = 0

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def key(self):
        self.n += 1
        return f"k{self.n}"

    @rule(target=calls, who=st.integers(0, 1), amount=cents)
    def deposit(self, who, amount):
        key = self.key()
        tx = services.wallet_deposit(user=self.users[who], amount=amount, currency="USD", idempotency_key=key)
        self.available[who] += amount
        return (who, key, amount, tx.pk)

    @rule(call=calls)
    def replay_deposit(self, call):
        who, key, amount, tx_id = call
        again = services.wallet_deposit(
            user=self.users[who], amount=amount, currency="USD", idempotency_key=key
        )
        assert again.pk == tx_id

    @rule(call=calls)
    def reuse_key_with_other_amount(self, call):
        who, key, amount, _ = call
        with pytest.raises(IdempotencyMismatch):
            services.wallet_deposit(
                user=self.users[who], amount=amount + D("0.01"), currency="USD", idempotency_key=key
            )

    @rule(target=reservations, who=st.integers(0, 1), amount=cents, fee=fees)
    def reserve(self, who, amount, fee):
        try:
            services.wallet_reserve(
                user=self.users[who],
                amount=amount,
                currency="USD",
                reference="t",
                idempotency_key=self.key(),
                fee=fee,
            )
        except InsufficientFunds:
            assert amount + fee > self.available[who]
            return None
        assert amount + fee <= self.available[who]
        self.available[who] -= amount + fee
        self.reserved[who] += amount
        return (who, amount)

    @rule(reservation=consumes(reservations))
    def release(self, reservation):
        if reservation is None:
            return
        who, amount = reservation
        services.wallet_release(
            user=self.users[who], amount=amount, currency="USD", reference="t", idempotency_key=self.key()
        )
        self.reserved[who] -= amount
        self.available[who] += amount

    @rule(reservation=consumes(reservations), pnl_cents=st.integers(-50_000, 50_000), fee=fees)
    def settle(self, reservation, pnl_cents, fee):
        if reservation is None:
            return
        who, stake = reservation
        pnl = max(D(pnl_cents).scaleb(-2), -stake)  # the trading app bounds a loss by the stake
        credit = stake + pnl - fee
        try:
            services.wallet_settle(
                user=self.users[who],
                stake=stake,
                pnl=pnl,
                fee=fee,
                currency="USD",
                reference="t",
                idempotency_key=self.key(),
            )
        except InsufficientFunds:
            assert self.available[who] + credit < 0
            # Nothing moved: the stake is still reserved; release it instead.
            services.wallet_release(
                user=self.users[who], amount=stake, currency="USD", reference="t", idempotency_key=self.key()
            )
            credit = stake
        self.reserved[who] -= stake
        self.available[who] += credit

    @rule(target=withdrawals, who=st.integers(0, 1), amount=cents)
    def withdraw(self, who, amount):
        try:
            w = services.wallet_withdrawal_request(
                user=self.users[who], amount=amount, currency="USD", idempotency_key=self.key()
            )
        except InsufficientFunds:
            assert amount > self.available[who]
            return None
        self.available[who] -= amount
        self.reserved[who] += amount
        return (who, amount, w.pk)

    @rule(withdrawal=consumes(withdrawals), approve=st.booleans())
    def decide(self, withdrawal, approve):
        if withdrawal is None:
            return
        who, amount, pk = withdrawal
        decide = services.wallet_withdrawal_approve if approve else services.wallet_withdrawal_reject
        key = self.key()
        decide(staff=self.staff, withdrawal_id=pk, idempotency_key=key)
        decide(staff=self.staff, withdrawal_id=pk, idempotency_key=key)  # a retry moves nothing
        self.reserved[who] -= amount
        if not approve:
            self.available[who] += amount

    @invariant()
    def balances_match_the_model(self):
        for i, user in enumerate(self.users):
            assert balance(user) == self.available[i]
            assert balance(user, AccountKind.RESERVED) == self.reserved[i]

    @invariant()
    def ledger_holds(self):
        ledger_invariants()
        # Fire the deferred zero-sum triggers now instead of at a commit that
        # this rolled-back test never reaches.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@pytest.mark.django_db
def test_wallet_state_machine():
    run_state_machine_as_test(
        WalletMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
