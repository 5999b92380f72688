"""The PostgreSQL connection of a worker is terminated (`pg_terminate_backend`)
in the middle of `trade_open`'s transaction, after the stake was reserved and
before the trade row was saved.

Documented outcome: the transaction never commits (nothing was reserved),
the task sees a database error, which is transient: it is retried on a fresh
connection and the trade opens exactly once, its stake reserved once. The
user's reference WebSocket client, connected throughout, receives every
event once, in order.
"""

from decimal import Decimal

import pytest
from django.db import connection

from realtime.models import Event
from tests.factories import UserFactory
from tests.faults.invariants import assert_ledger_invariants, assert_trades_consistent
from tests.faults.processes import wait_for
from tests.trading.trades_support import balance, fund, make_instrument, quote
from trading.faults import fault_arm, fault_disarm, fault_hits
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_request

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

D = Decimal


def _backend_in_transaction() -> int | None:
    """The worker's session: the one of this database idle inside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
        )
        rows = cursor.fetchall()
    return rows[0][0] if len(rows) == 1 else None


def test_connection_killed_mid_transaction_opens_the_trade_once(processes, stream_clients):
    inst = make_instrument("PGT-USD", fee_bps=10, price_scale=2)
    quote(inst, "100.00")
    user = UserFactory()
    fund(user, "1000.00")
    clients = stream_clients([user])
    # The worker pauses inside the open transaction, after the reserve.
    fault_arm("trade_open.reserved", sleep_seconds=5)
    processes.worker()
    trade = trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D("100.00"), idempotency_key="pg-1"
    ).trade
    wait_for(lambda: fault_hits("trade_open.reserved") >= 1, timeout=90, what="the worker inside the open")
    pid = wait_for(_backend_in_transaction, timeout=10, what="the worker's session in its transaction")
    fault_disarm("trade_open.reserved")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0] is True

    # Rolled back with the connection: still queued, holding only the request's hold.
    assert Trade.objects.get(pk=trade.pk).status == TradeStatus.QUEUED
    assert balance(user) == (D("899.90"), D("100.10"))

    quote(inst, "100.00")
    done = wait_for(
        lambda: (t := Trade.objects.get(pk=trade.pk)).status != TradeStatus.QUEUED and t,
        timeout=120,
        what=f"the retried open\n{processes.log_tail()}",
    )
    assert done.status == TradeStatus.OPEN
    assert balance(user) == (D("899.90"), D("100.00"))
    assert Event.objects.filter(user=user, event="trade.opened").count() == 1
    assert_trades_consistent(expected_count=1)
    assert_ledger_invariants()
    clients.assert_exactly_once(clients.finish())
