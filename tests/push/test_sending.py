"""The sending path end to end through a REAL Celery worker: a service
commits an event, realtime's after-commit listener enqueues the push, the
worker encrypts, signs and POSTs it to the local push service
(tests/push/pushservice.py), which verifies the VAPID JWT and decrypts the
RFC 8291 body with the device's private key before recording it."""

import json
import os
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from config.celery_app import app
from push.counters import outcome_totals
from push.models import PushPreference, PushSubscription
from tests import children
from tests.children import child_env, python, spawn
from tests.factories import UserFactory
from tests.push.conftest import subscribe
from tests.trading.trades_support import fund, make_instrument, quote
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_close, trade_request
from wallets.services import wallet_withdrawal_approve, wallet_withdrawal_reject, wallet_withdrawal_request

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
D = Decimal
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def queue():
    """A queue of our own, made the default for this test's sends."""
    name = f"push-{os.environ['CHANNEL_PREFIX']}-{uuid.uuid4().hex[:6]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = name
    yield name
    app.conf.task_default_queue = previous


@pytest.fixture
def worker(queue, tmp_path):
    command = python("-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "1")
    command += ["--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    command += ["-Q", queue, "-n", f"push-{uuid.uuid4().hex[:6]}@%h"]
    env = child_env(PUSH_RETRY_BASE_SECONDS="0.2", PUSH_MAX_RETRIES="3")
    log = tmp_path / "worker.log"
    process = spawn(command, name="push worker", log=log, env=env)
    children.wait_for(lambda: "ready." in log.read_text(errors="replace"), timeout=60, what="worker ready")
    yield process
    children.stop(process)


def wait_for(predicate, what: str, timeout: float = 60.0):
    return children.wait_for(predicate, timeout=timeout, what=what)


def staff():
    return UserFactory(is_staff=True)


def withdrawal(user, amount: str = "25.00"):
    return wallet_withdrawal_request(
        user=user, amount=D(amount), currency="USD", idempotency_key=f"w-{uuid.uuid4()}"
    )


def test_settled_trade_pushes_once_with_the_net_result_and_link(worker, push_service, user):
    device, _ = subscribe(push_service, user)
    inst = make_instrument("PSH-USD", fee_bps=10, price_scale=2)
    fund(user, "1000.00")
    quote(inst, "100.00")
    trade = trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D("100.00"), idempotency_key="p1"
    )
    opened = wait_for(
        lambda: Trade.objects.filter(pk=trade.trade.pk, status=TradeStatus.OPEN).first(),
        "the worker opens it",
    )
    quote(inst, "110.00")
    settled = trade_close(user=user, trade_id=opened.pk)
    assert settled.status == TradeStatus.SETTLED

    wait_for(lambda: push_service.payloads(device), "the push")
    # A fence: a later event's push. The one worker takes its queue in
    # order, so a duplicate of the settlement's would have come before it.
    wallet_withdrawal_approve(staff=staff(), withdrawal_id=withdrawal(user).pk, idempotency_key="fence")
    wait_for(lambda: len(push_service.payloads(device)) == 2, "the fence's push")
    assert push_service.errors == []
    # Opening pushed nothing (not a kind); the settlement exactly once.
    payload, fence = push_service.payloads(device)
    assert fence["kind"] == "withdrawal_decided"
    net = D(settled.pnl) - D(settled.fee)
    assert (settled.pnl, settled.fee, net) == (D("10.00"), D("0.20"), D("9.80"))
    assert payload == {
        "v": 1,
        "kind": "trade_settled",
        "event": "trade.settled",
        "seq": payload["seq"],
        "tag": f"tv-trade.settled-{settled.pk}",
        "url": f"/trades/{settled.pk}/",
        "title": "Trade settled: buy PSH-USD",
        "body": "Net result +9.80 USD (P&L +10.00, fees 0.20)",
        "trade": {
            "id": settled.pk,
            "instrument": "PSH-USD",
            "side": "buy",
            "status": "settled",
            "currency": "USD",
            "pnl": "10.00",
            "fee": "0.20",
            "net": "9.80",
        },
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "push-payload.json").write_text(json.dumps(payload, indent=2) + "\n")
    assert outcome_totals()["sent"] >= 1


@pytest.mark.parametrize("status", [404, 410])
def test_gone_subscription_is_deleted(worker, push_service, user, status):
    device, subscription_id = subscribe(push_service, user)
    push_service.answer_first(device, [status])
    fund(user, "100.00")
    wallet_withdrawal_approve(
        staff=staff(), withdrawal_id=withdrawal(user).pk, idempotency_key=f"a-{uuid.uuid4()}"
    )
    wait_for(lambda: not PushSubscription.objects.filter(pk=subscription_id).exists(), "subscription deleted")
    assert push_service.answered == [(f"/push/{device.token}", status)]
    assert push_service.payloads(device) == []


def test_transient_503_is_retried_then_delivered_once(worker, push_service, user):
    device, subscription_id = subscribe(push_service, user)
    push_service.answer_first(device, [503, 503])
    fund(user, "100.00")
    wallet_withdrawal_reject(
        staff=staff(), withdrawal_id=withdrawal(user).pk, idempotency_key=f"r-{uuid.uuid4()}", reason="KYC"
    )
    wait_for(lambda: push_service.payloads(device), "the push after two 503s")
    assert push_service.errors == []
    path = f"/push/{device.token}"
    assert push_service.answered == [(path, 503), (path, 503), (path, 201)]
    [payload] = push_service.payloads(device)
    assert payload["kind"] == "withdrawal_decided"
    assert payload["title"] == "Withdrawal rejected"
    assert payload["url"] == "/wallet/"
    assert "25.00 USD is back in your available balance" in payload["body"]
    assert PushSubscription.objects.filter(pk=subscription_id).exists()


def test_a_kind_turned_off_sends_nothing(worker, push_service, user):
    """The user turned withdrawals off; another user who did not is the
    fence: once their push arrived, the first user's would have too."""
    device, _ = subscribe(push_service, user)
    PushPreference.objects.create(user=user, withdrawal_decided=False)
    other = UserFactory()
    other_device, _ = subscribe(push_service, other)
    fund(user, "100.00")
    fund(other, "100.00")
    decider = staff()
    wallet_withdrawal_approve(staff=decider, withdrawal_id=withdrawal(user).pk, idempotency_key="off-1")
    wallet_withdrawal_approve(staff=decider, withdrawal_id=withdrawal(other).pk, idempotency_key="off-2")
    wait_for(lambda: push_service.payloads(other_device), "the other user's push")
    assert push_service.payloads(device) == []
    assert push_service.errors == []
