"""Every row lock the trade lifecycle takes, in one place.

The project's one lock order (docs/architecture.md), refined for trading:

1. a plan row (plan services and the tasks that act on a plan's trades);
2. trade rows, by primary key when several are taken;
3. the user's trading slot (`user_trading_slot_lock`, a transaction-scoped
   advisory lock), taken only by `trade_open` so that the count of open
   trades checked against `MAX_OPEN_TRADES` cannot race;
4. ledger accounts by primary key (taken by `wallets.services`);
5. the user's event counter (taken by `realtime.publish`, last).

A writer that holds a trade row and needs its plan (settling a plan trade)
would invert 1 and 2, so it asks with SKIP LOCKED and leaves the trade for
the next run when the plan is busy: it never waits, so it cannot deadlock.
"""

from __future__ import annotations

from django.db import connection

from trading.plans.models import Plan
from trading.trades.models import Trade

# First key of the two-key advisory lock: a namespace for "trading slot of user N".
_SLOT_NAMESPACE = 7_401


def trade_lock(*, trade_id: int) -> Trade:
    """The trade row, locked until commit, with its instrument and owner loaded.

    Raises `Trade.DoesNotExist`. `of=("self",)` locks only the trade row, not
    the instrument or user rows the join reads."""
    return (
        Trade.objects.select_for_update(of=("self",))
        .select_related("instrument", "user", "plan")
        .get(pk=trade_id)
    )


def plan_lock(*, plan_id: int) -> Plan:
    """The plan row, locked until commit. Raises `Plan.DoesNotExist`."""
    return Plan.objects.select_for_update(of=("self",)).select_related("instrument", "user").get(pk=plan_id)


def plan_try_lock(*, plan_id: int) -> Plan | None:
    """The plan row locked, or None if another transaction holds it (never waits)."""
    return (
        Plan.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("instrument", "user")
        .filter(pk=plan_id)
        .first()
    )


def user_trading_slot_lock(*, user_id: int) -> None:
    """Serialise the opening of trades per user until commit."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_SLOT_NAMESPACE, user_id])
