"""The posting engine's failure paths: a fault anywhere rolls everything back;
deadlocks and serialization failures are retried only by a transaction owner."""

from decimal import Decimal
from unittest import mock

import psycopg
import pytest
from django.db import OperationalError, transaction

from realtime.models import Event
from tests.wallets.helpers import balance, ledger_invariants
from wallets import ledger, services
from wallets.models import Entry, LedgerTransaction

D = Decimal


def counts():
    return LedgerTransaction.objects.count(), Entry.objects.count(), Event.objects.count()


@pytest.mark.django_db
def test_a_fault_while_publishing_writes_nothing(user):
    services.wallet_deposit(user=user, amount=D("10.00"), currency="USD", idempotency_key="d")
    before = counts()
    with mock.patch.object(ledger, "wallet_balances_publish", side_effect=RuntimeError("redis down")):
        with pytest.raises(RuntimeError):
            services.wallet_reserve(
                user=user, amount=D("4.00"), currency="USD", reference="t", idempotency_key="r"
            )
    assert counts() == before
    assert balance(user) == D("10.00")
    # The key was not consumed: the retry succeeds.
    services.wallet_reserve(user=user, amount=D("4.00"), currency="USD", reference="t", idempotency_key="r")
    assert balance(user) == D("6.00")
    ledger_invariants()


def _deadlock() -> OperationalError:
    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return error


def test_retry_on_conflict_retries_a_deadlock_when_it_owns_the_transaction():
    # No database marker: outside any transaction, as a top-level service call is.
    calls = []

    @ledger.retry_on_conflict
    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise _deadlock()
        return "done"

    assert flaky() == "done"
    assert len(calls) == 3


def test_retry_on_conflict_gives_up_after_three_and_never_retries_other_errors():
    @ledger.retry_on_conflict
    def always():
        raise _deadlock()

    with pytest.raises(OperationalError):
        always()

    calls = []

    @ledger.retry_on_conflict
    def other():
        calls.append(1)
        raise OperationalError("connection lost")

    with pytest.raises(OperationalError):
        other()
    assert calls == [1]


@pytest.mark.django_db
def test_retry_on_conflict_leaves_retries_to_an_outer_transaction():
    calls = []

    @ledger.retry_on_conflict
    def flaky():
        calls.append(1)
        raise _deadlock()

    with pytest.raises(OperationalError), transaction.atomic():
        flaky()
    assert calls == [1]
