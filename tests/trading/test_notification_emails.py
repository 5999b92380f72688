"""Settlement and maturity emails: written by the settling transaction, sent
after it commits, following the user's switches (accounts.notifications)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from accounts.notifications import notification_preference_update
from tests.trading.trades_support import fund, make_instrument, quote, tick
from trading.plans.models import Plan
from trading.plans.services import plan_cancel, plan_create, plan_run
from trading.tasks import check_investment_maturity
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_close, trade_open, trade_request
from trading.trades.settlement import trades_settle_due

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def inst():
    return make_instrument("EML-USD", fee_bps=10, price_scale=2, max_stake=D("5000.00"))


def open_trade(user, inst, *, key="e1", stake="1000.00"):
    quote(inst, "100.00")
    trade = trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D(stake), idempotency_key=key
    ).trade
    return trade_open(trade_id=trade.pk)


def settle_at_expiry(trades, inst, price):
    """Expire the trades a minute ago at `price`; the feed has recorded past it."""
    expires = timezone.now() - timedelta(minutes=1)
    Trade.objects.filter(pk__in=[t.pk for t in trades]).update(expires_at=expires)
    tick(inst, price, expires - timedelta(seconds=1))
    tick(inst, "999.00", expires + timedelta(seconds=1))  # after expiry: not the exit price
    return trades_settle_due()


def test_settlement_at_expiry_mails_the_result_after_commit(
    user, other_user, inst, django_capture_on_commit_callbacks
):
    fund(user, "2000.00")
    fund(other_user, "2000.00")
    mine = open_trade(user, inst, key="a")
    theirs = open_trade(other_user, inst, key="b", stake="500.00")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert settle_at_expiry([mine, theirs], inst, "101.50").settled == 2
    assert mail.outbox == []  # nothing before the commit
    for callback in callbacks:
        callback()
    # qty 10 at 100.00 -> 101.50: P&L +15.00; fees 1.00 + 1.00.
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {user.email, other_user.email}
    message = by_address[user.email]
    # The net result (P&L less both fees) is the headline, gross and fees beside it.
    assert message.subject == f"Trade #{mine.pk} settled: EML-USD net +13.00 USD"
    lines = message.body.splitlines()
    assert (
        lines[0]
        == f"Your buy trade #{mine.pk} on EML-USD has settled with a net result of +13.00 USD after fees."
    )
    assert lines[2:5] == [
        "Net result:    +13.00 USD",
        "P&L (gross):   +15.00 USD",
        "Fees:          2.00 USD (opening and closing)",
    ]
    assert "Entry price:   100.00" in lines  # at the instrument's scale
    assert "Exit price:    101.50" in lines
    assert f"/trades/{mine.pk}/" in message.body
    # 500.00 stake: qty 5 x +1.50 = +7.50, fees 0.50 + 0.50.
    assert by_address[other_user.email].subject == f"Trade #{theirs.pk} settled: EML-USD net +6.50 USD"


def test_closing_by_the_owner_mails_once(user, inst, django_capture_on_commit_callbacks):
    fund(user, "2000.00")
    trade = open_trade(user, inst)
    quote(inst, "99.00")
    with django_capture_on_commit_callbacks(execute=True):
        trade_close(user=user, trade_id=trade.pk)
    # -10.00 before fees, -12.00 after them.
    assert [m.subject for m in mail.outbox] == [f"Trade #{trade.pk} settled: EML-USD net -12.00 USD"]
    assert "has settled with a loss of -12.00 USD after fees" in mail.outbox[0].body


def test_switched_off_settlement_mail_is_not_sent_and_the_trade_still_settles(
    user, inst, django_capture_on_commit_callbacks
):
    notification_preference_update(
        user_id=user.pk, in_app=True, browser=True, email_settlement=False, email_maturity=True
    )
    fund(user, "2000.00")
    trade = open_trade(user, inst)
    with django_capture_on_commit_callbacks(execute=True):
        assert settle_at_expiry([trade], inst, "101.50").settled == 1
    trade.refresh_from_db()
    assert trade.status == TradeStatus.SETTLED
    assert mail.outbox == []


def make_plan_with_a_trade(user, inst):
    fund(user, "1000.00")
    plan, _ = plan_create(
        user=user,
        instrument=inst.symbol,
        strategy="dca",
        principal=D("1000.00"),
        trade_fraction=D("0.2500"),
        term_days=30,
        idempotency_key="plan",
    )
    quote(inst, "100.00")
    plan_run(plan_id=plan.pk, closes=[D("100.00")], now=timezone.now())
    quote(inst, "112.34")
    return plan


def test_maturity_mails_the_plan_summary_and_no_mail_per_plan_trade(
    user, inst, django_capture_on_commit_callbacks
):
    plan = make_plan_with_a_trade(user, inst)
    Plan.objects.filter(pk=plan.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert check_investment_maturity() == {"matured": 1, "errors": 0}
    # 2.5 units 100.00 -> 112.34: +30.85; fees 0.25 + 0.25; returned 1030.35.
    assert [m.subject for m in mail.outbox] == [f"Plan #{plan.pk} matured: EML-USD net +30.35 USD"]
    assert "Net result:    +30.35 USD\nRealised P&L:  +30.85 USD (gross)" in mail.outbox[0].body
    assert "Returned:      1030.35 USD" in mail.outbox[0].body
    assert mail.outbox[0].to == [user.email]


def test_cancelling_a_plan_sends_no_mail(user, inst, django_capture_on_commit_callbacks):
    plan = make_plan_with_a_trade(user, inst)
    with django_capture_on_commit_callbacks(execute=True):
        plan_cancel(user=user, plan_id=plan.pk)
    assert mail.outbox == []
