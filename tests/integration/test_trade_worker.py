"""The trade lifecycle through a real Celery worker (a `celery -A config
worker` process on this run's PostgreSQL database and Redis, consuming a
queue of its own), with faults injected through `trading.faults`:

- a request opens, and `trade.opened` arrives on the user's group;
- a transient error injected twice: opened on the third attempt, two
  `trade.retrying` events;
- injected four times: `failed` after the last retry, nothing held;
- the worker SIGKILLed inside `trade_open`'s transaction: a fresh worker
  redelivers the message and the trade ends open exactly once.

The retry base delay is shortened through `TRADE_RETRY_BASE_SECONDS` so the
real retry path runs in a second, not minutes.
"""

import asyncio
import os
import signal
import subprocess
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from celery.result import AsyncResult
from channels.layers import get_channel_layer
from django.db import connection
from django.utils import timezone

from config.celery_app import app
from realtime.groups import user_group
from realtime.models import Event
from tests import children
from tests.children import child_env, python, spawn
from tests.factories import UserFactory
from tests.trading.trades_support import assert_ledger_invariants, balance, fund, make_instrument, quote
from trading.faults import fault_arm, fault_disarm, fault_hits
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_request

ROOT = Path(__file__).resolve().parents[2]
D = Decimal

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue():
    """A queue of our own, made the default for this test's sends."""
    name = f"trades-{os.environ['CHANNEL_PREFIX']}-{uuid.uuid4().hex[:6]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = name
    yield name
    app.conf.task_default_queue = previous


class Workers:
    """Starts worker processes and always stops them."""

    def __init__(self, queue: str, log: Path):
        self.queue = queue
        self.log = log
        self.processes: list[subprocess.Popen] = []

    def start(self, **env_extra: str) -> subprocess.Popen:
        env = child_env(TRADING_FAULT_INJECTION="1", TRADE_RETRY_BASE_SECONDS="0.2", **env_extra)
        command = python("-m", "celery", "-A", "config", "worker", "--pool", "prefork")
        command += ["--concurrency", "1", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"]
        command += ["--without-heartbeat", "-Q", self.queue]
        process = spawn(command, name="worker", log=self.log, env=env)
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        children.stop(process, sig=sig)

    def stop_all(self) -> None:
        for process in self.processes:
            self.kill(process, signal.SIGTERM)


@pytest.fixture
def workers(queue, tmp_path):
    pool = Workers(queue, tmp_path / "workers.log")
    yield pool
    pool.stop_all()


def wait_for(predicate, *, limit: float = 120.0, what: str = "condition"):
    """Poll until `predicate()` is truthy (a bounded wait, not a timing
    assertion); fails at once if a worker has died with an error."""
    return children.wait_for(predicate, timeout=limit, what=what)


def final_trade(trade_id: int) -> Trade:
    def check():
        trade = Trade.objects.get(pk=trade_id)
        return trade if trade.status not in (TradeStatus.QUEUED,) else None

    return wait_for(check, what=f"trade {trade_id} to leave queued")


def new_trade(user, inst, key: str = "w1") -> Trade:
    return trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D("100.00"), idempotency_key=key
    ).trade


@pytest.fixture
def setup():
    user = UserFactory()
    inst = make_instrument("WRK-USD", fee_bps=10, price_scale=2)
    fund(user, "1000.00")
    quote(inst, "100.00")
    yield user, inst
    fault_disarm("trade_open")
    fault_disarm("trade_open.reserved")


async def test_request_opens_and_the_event_reaches_the_users_group(setup, workers):
    user, inst = setup
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(user_group(user.pk), channel)
    try:
        await sync_to_async(workers.start)()
        trade = await sync_to_async(new_trade)(user, inst)
        names = []
        while "trade.opened" not in names:
            message = await asyncio.wait_for(layer.receive(channel), timeout=90)
            names.append(message["event"])
            if message["event"] == "trade.opened":
                assert message["data"]["id"] == trade.pk
                assert message["data"]["entry_price"] == "100.00000000"
        assert names.index("trade.queued") < names.index("trade.opened")
    finally:
        await layer.group_discard(user_group(user.pk), channel)
    trade = await sync_to_async(Trade.objects.get)(pk=trade.pk)
    assert (trade.status, trade.attempts) == (TradeStatus.OPEN, 1)
    assert await sync_to_async(balance)(user) == (D("899.90"), D("100.00"))


def _worker_sessions(name: str) -> set[tuple[int, str]]:
    """The PostgreSQL sessions of the worker whose connections carry
    application_name `name`, as (pid, start)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start::text FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND application_name = %s",
            [name],
        )
        return set(cursor.fetchall())


def test_a_pooled_worker_keeps_its_database_session_between_tasks(setup, workers):
    """Counted, not timed: eight trades opened by a prefork worker with the
    pool of local and production settings, and not one new PostgreSQL
    session. (Celery closed the pool around every task: a session per task,
    5.7 ms to connect before the task's first statement, bench/REPORT.md.)"""
    user, inst = setup
    name = f"tv-pooled-worker-{uuid.uuid4().hex[:8]}"
    workers.start(TEST_DATABASE_POOL=name)
    assert final_trade(new_trade(user, inst, key="first").pk).status == TradeStatus.OPEN
    before = wait_for(lambda: _worker_sessions(name), limit=15, what="the worker's pooled session")
    opened = [final_trade(new_trade(user, inst, key=f"k{n}").pk) for n in range(8)]
    assert [trade.status for trade in opened] == [TradeStatus.OPEN] * 8
    assert _worker_sessions(name) == before
    assert balance(user) == (D("1000.00") - 9 * D("100.10"), 9 * D("100.00"))
    assert_ledger_invariants()


def test_transient_error_twice_opens_on_the_third_attempt(setup, workers):
    user, inst = setup
    fault_arm("trade_open", raise_times=2)
    workers.start()
    trade = final_trade(new_trade(user, inst).pk)
    assert (trade.status, trade.attempts) == (TradeStatus.OPEN, 3)
    # The worker stores the task's outcome, which the status endpoint reports
    # (even though the sender did not subscribe to the result channel).
    assert wait_for(lambda: AsyncResult(trade.task_id).state == "SUCCESS", what="the task result")
    assert AsyncResult(trade.task_id).result == "open"
    retrying = Event.objects.filter(user=user, event="trade.retrying").order_by("seq")
    assert [e.data["attempts"] for e in retrying] == [1, 2]
    assert Event.objects.filter(user=user, event="trade.opened").count() == 1
    assert balance(user) == (D("899.90"), D("100.00"))
    assert_ledger_invariants()


def test_transient_error_four_times_fails_with_nothing_held(setup, workers):
    user, inst = setup
    fault_arm("trade_open", raise_times=4)
    workers.start()
    trade = final_trade(new_trade(user, inst).pk)
    assert (trade.status, trade.attempts, trade.failure_code) == (TradeStatus.FAILED, 4, "database_error")
    assert "injected fault" in trade.failure_reason
    assert Event.objects.filter(user=user, event="trade.retrying").count() == 3
    assert Event.objects.filter(user=user, event="trade.failed").count() == 1
    assert balance(user) == (D("1000.00"), D("0.00"))
    assert_ledger_invariants()


def test_worker_killed_inside_the_open_transaction_opens_exactly_once(setup, workers):
    user, inst = setup
    env = {"CELERY_VISIBILITY_TIMEOUT": "3"}
    fault_arm("trade_open.reserved", sleep_seconds=60)
    first = workers.start(**env)
    trade = new_trade(user, inst)
    wait_for(lambda: fault_hits("trade_open.reserved") >= 1, what="the worker to reach the fault point")
    workers.kill(first, signal.SIGKILL)
    # The killed transaction never committed: the fee was not charged, the request's hold stays.
    assert Trade.objects.get(pk=trade.pk).status == TradeStatus.QUEUED
    assert balance(user) == (D("899.90"), D("100.10"))
    fault_disarm("trade_open.reserved")
    quote(inst, "100.00")  # keep the price fresh for the redelivery
    # Let the unacknowledged message outlive its visibility timeout, so the
    # fresh worker's start-up restore gives it back at once (not at the
    # transport's next periodic restore).
    time.sleep(4)
    workers.start(**env)
    trade = final_trade(trade.pk)
    assert trade.status == TradeStatus.OPEN
    assert Event.objects.filter(user=user, event="trade.opened").count() == 1
    assert balance(user) == (D("899.90"), D("100.00"))
    assert_ledger_invariants()


def test_stale_price_is_retried_then_rejected_stale_price(setup, workers):
    user, inst = setup
    quote(inst, "100.00", at=timezone.now() - timedelta(minutes=10))
    workers.start()
    trade = final_trade(new_trade(user, inst).pk)
    assert (trade.status, trade.failure_code, trade.attempts) == (TradeStatus.REJECTED, "stale_price", 4)
    assert Event.objects.filter(user=user, event="trade.retrying").count() == 3
    assert balance(user) == (D("1000.00"), D("0.00"))
