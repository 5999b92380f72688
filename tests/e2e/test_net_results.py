"""Net results in a real browser (issue 13): the pages, the toast and the
timeline lead with a trade's net result (P&L less both fees), coloured by
it, with the P&L before fees and the fees beside it; the browser's
arithmetic is the server's; an open trade past its expiry offers no "Close
now" and says it is being settled.

The case of the issue: bought 1 unit at 100.00 with 10 bp fees, closed at
100.03: P&L +0.03, fees 0.10 + 0.10, net -0.17 (it used to show a green
+0.03)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import login_session, shot
from tests.e2e.views_support import login_tracking
from tests.factories import UserFactory
from tests.trading.trades_support import make_instrument, quote
from trading import pnl
from trading.trades.models import Trade
from trading.trades.services import trade_close, trade_open, trade_request
from wallets.services import wallet_deposit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
D = Decimal


def funded_user():
    user = UserFactory()
    wallet_deposit(user=user, amount=D("1000.00"), currency="USD", idempotency_key=f"net-{user.pk}")
    return user


def opened(user, inst, key="n1", stake="100.00") -> Trade:
    quote(inst, "100.00")
    trade = trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D(stake), idempotency_key=key
    ).trade
    return trade_open(trade_id=trade.pk)


def track(page, stack, user, trade) -> None:
    """A session that tracks `trade` on /trade-status/, as the trade form leaves it."""
    login_tracking(page, stack.url, user, trade)


def test_the_browser_nets_like_the_server(stack, page_factory):
    page = page_factory()
    page.goto(f"{stack.url}/static/frontend/css/base.css")
    trade = {
        "side": "buy",
        "quantity": "0.01538461",
        "entry_price": "65000.00",
        "stake": "1000.00",
        "fee": "1.00",
    }
    marks = ["66300.00", "64000.00", "0.01"]
    results = page.evaluate(
        """async ([trade, marks]) => {
            const m = await import('/static/frontend/js/money.js');
            const p = await import('/static/frontend/js/pnl.js');
            const open = marks.map((mark) => {
              const r = p.netResult({...trade, status: 'open'}, mark);
              return [m.format(r.net, 2), m.format(r.gross, 2), m.format(r.fees, 2)];
            });
            const loss = {status: 'settled', pnl: '0.03', fee: '0.20', net_pnl: '-0.17'};
            const settled = p.netWords(p.netResult(loss), 'USD');
            const old = p.netWords(p.netResult({status: 'settled', pnl: '20.00', fee: '2.00'}), 'USD');
            return {open, settled, old};
        }""",
        [trade, marks],
    )
    expected = []
    for mark in marks:
        # What closing at the mark would do on the server (trading.pnl).
        result = pnl.trade_settlement(
            side="buy",
            quantity=D(trade["quantity"]),
            entry=D(trade["entry_price"]),
            exit=D(mark),
            stake=D(trade["stake"]),
            fee_bps=10,
            money_scale=2,
        )
        fees = D(trade["fee"]) + result.fee
        expected.append([f"{result.pnl - fees:,.2f}", f"{result.pnl:,.2f}", f"{fees:,.2f}"])
    assert results["open"] == expected
    assert results["open"][2] == [
        "-1,001.00",
        "-1,000.00",
        "1.00",
    ]  # the closing fee is capped at what is left
    assert results["settled"] == {
        "headline": "↓ -0.17 USD",
        "breakdown": "P&L +0.03 · fees 0.20",
        "cls": "down",
        "word": "down",
    }
    assert results["old"]["headline"] == "↑ +18.00 USD"  # an event from before net_pnl: pnl - fee


def test_a_loss_after_fees_is_shown_as_a_loss_everywhere(stack, page_factory):
    inst = make_instrument("NETE-USD", fee_bps=10, price_scale=2)
    user = funded_user()
    trade = opened(user, inst)
    page = page_factory()
    login_session(page, stack, user)

    # Live: the dashboard is open when the trade settles.
    page.goto(f"{stack.url}/")
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "live")
    quote(inst, "100.03")
    trade_close(user=user, trade_id=trade.pk)
    toast = page.locator(".toast", has_text="Trade settled")
    expect(toast).to_contain_text("Net result ↓ -0.17 USD (P&L +0.03 · fees 0.20)")
    expect(toast).to_have_attribute("data-kind", "loss")
    expect(toast).to_have_class(re.compile(r"\btoast-loss\b"))
    shot(page, "net-result-toast-loss")

    # The trade's page: the net result first, red; its timeline says the same.
    page.goto(f"{stack.url}/trades/{trade.pk}/")
    result = page.get_by_test_id("trade-result")
    expect(result).to_have_class(re.compile(r"\bdown\b"))
    expect(result.locator('[data-part="net"]')).to_have_text("↓ -0.17 USD")
    expect(result.locator('[data-part="breakdown"]')).to_have_text("P&L +0.03 · fees 0.20")
    expect(page.locator('[data-field="pnl"]')).to_have_text("+0.03 USD")
    expect(page.locator('[data-field="fee"]')).to_have_text("0.20 USD")
    expect(page.get_by_test_id("timeline").locator("li", has_text="Settled at")).to_contain_text(
        "net ↓ -0.17 USD (P&L +0.03 · fees 0.20)"
    )
    colour = result.locator('[data-part="net"]').evaluate("n => getComputedStyle(n).color")
    down = page.evaluate("() => getComputedStyle(document.documentElement).getPropertyValue('--down')")
    assert colour == _rgb(down.strip())
    shot(page, "net-result-trade-page")

    # The trades list: net, then the P&L before fees, then the fees.
    page.goto(f"{stack.url}/trades/")
    row = page.locator(f'#trade-rows tr[data-trade-id="{trade.pk}"]')
    expect(row.get_by_test_id("net-pnl")).to_have_text("↓ -0.17")
    expect(row.get_by_test_id("net-pnl")).to_have_class(re.compile(r"\bdown\b"))
    expect(row.get_by_test_id("pnl")).to_have_text("+0.03")
    expect(row.get_by_test_id("fee")).to_have_text("0.20")

    # The status page: no green box for a loss.
    status_page = page_factory()
    track(status_page, stack, user, trade)
    status_page.goto(f"{stack.url}/trade-status/")
    message = status_page.get_by_test_id("status-message")
    expect(message).to_contain_text("Settled. Net result ↓ -0.17 USD (P&L +0.03 · fees 0.20).")
    expect(message).to_have_class(re.compile(r"\bloss\b"))
    expect(message).not_to_have_class(re.compile(r"\bsuccess\b"))
    shot(status_page, "net-result-status-page")


def test_an_open_trade_past_its_expiry_is_being_settled_not_closable(stack, page_factory):
    inst = make_instrument("NETX-USD", fee_bps=10, price_scale=2)
    user = funded_user()
    trade = opened(user, inst)
    page = page_factory()
    login_session(page, stack, user)
    page.goto(f"{stack.url}/trades/{trade.pk}/")
    close = page.locator("#trade-close")
    expect(close).to_be_visible()
    # The expiry comes while the page is open: the button goes by itself.
    Trade.objects.filter(pk=trade.pk).update(expires_at=timezone.now() + timedelta(seconds=2))
    page.reload()
    expect(close).to_be_visible()
    expect(close).to_be_hidden(timeout=10_000)
    note = page.get_by_test_id("trade-expired")
    expect(note).to_contain_text("This trade expired at")
    expect(note).to_contain_text("and is being settled at the expiry price.")
    shot(page, "trade-expired-being-settled")

    status_page = page_factory()
    track(status_page, stack, user, trade)
    status_page.goto(f"{stack.url}/trade-status/")
    expect(status_page.get_by_test_id("status-message")).to_contain_text(
        "Your trade is being settled at the expiry price."
    )


def _rgb(hex_colour: str) -> str:
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({r}, {g}, {b})"
