"""Concurrent writers on real PostgreSQL, each thread on its own connection."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from tests.factories import UserFactory
from tests.wallets.helpers import balance, ledger_invariants
from wallets import services
from wallets.errors import InsufficientFunds
from wallets.models import AccountKind, LedgerTransaction, TransactionKind

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def run_all(calls, *, threads, backends=None):
    """Run `calls` on `threads` worker threads started together; return each outcome
    (the result or the exception) in order. Each thread opens its own connection
    before the barrier (its server pid goes into `backends`, if given) and
    closes it at the end."""
    barrier = threading.Barrier(threads)
    local = threading.local()

    def run(call):
        if not getattr(local, "started", False):
            local.started = True
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    pid = cursor.fetchone()[0]
            except Exception:
                barrier.abort()  # the others fail too instead of waiting forever
                raise
            if backends is not None:
                backends.add(pid)
            barrier.wait()
        try:
            return call()
        except Exception as exc:  # the test inspects every outcome
            return exc

    def close_connection(_):
        connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = list(pool.map(run, calls))
        # One close per worker thread: each closes its own connection.
        closer = threading.Barrier(threads)
        list(pool.map(lambda _: (closer.wait(), close_connection(None)), range(threads)))
    return outcomes


def test_200_concurrent_reservations_on_one_wallet_exactly_floor_succeed():
    user = UserFactory()
    services.wallet_deposit(user=user, amount=D("100.00"), currency="USD", idempotency_key="seed")
    amount = D("0.75")

    def reserve(i):
        return lambda: services.wallet_reserve(
            user=user, amount=amount, currency="USD", reference=f"t{i}", idempotency_key=f"r{i}"
        )

    # 40 connections at once (PostgreSQL here allows 100, shared with other
    # suites), all released together by the barrier.
    backends = set()
    outcomes = run_all([reserve(i) for i in range(200)], threads=40, backends=backends)
    assert len(backends) == 40  # 40 server processes, all connected before the start
    succeeded = [o for o in outcomes if isinstance(o, LedgerTransaction)]
    refused = [o for o in outcomes if isinstance(o, InsufficientFunds)]
    expected = int(D("100.00") // amount)  # 133
    assert len(succeeded) == expected
    assert len(refused) == 200 - expected
    assert all(o.code == "insufficient_funds" for o in refused)
    assert balance(user) == D("100.00") - expected * amount == D("0.25")
    assert balance(user, AccountKind.RESERVED) == expected * amount
    assert LedgerTransaction.objects.filter(kind=TransactionKind.RESERVE).count() == expected
    ledger_invariants()


def test_500_opposite_transfers_between_two_users_no_deadlock_escapes():
    a, b = UserFactory(), UserFactory()
    for user in (a, b):
        services.wallet_deposit(user=user, amount=D("300.00"), currency="USD", idempotency_key="seed")

    def transfer(i):
        src, dst = (a, b) if i % 2 == 0 else (b, a)
        return lambda: services.wallet_transfer(
            from_user=src,
            to_user=dst,
            amount=D("1.00"),
            currency="USD",
            reference="x",
            idempotency_key=f"t{i}",
        )

    outcomes = run_all([transfer(i) for i in range(500)], threads=8)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert errors == []
    # 250 each way of 1.00 and never more than 250 out: both end where they began.
    assert (balance(a), balance(b)) == (D("300.00"), D("300.00"))
    assert LedgerTransaction.objects.filter(kind=TransactionKind.TRANSFER).count() == 500
    ledger_invariants()


def test_same_idempotency_key_from_many_threads_moves_money_once():
    user = UserFactory()
    outcomes = run_all(
        [
            lambda: services.wallet_deposit(
                user=user, amount=D("5.00"), currency="USD", idempotency_key="once"
            )
            for _ in range(16)
        ],
        threads=8,
    )
    assert len({o.pk for o in outcomes}) == 1
    assert balance(user) == D("5.00")
    ledger_invariants()
