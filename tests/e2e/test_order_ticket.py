"""The order ticket in a real browser (1280 px), against daphne, the market
feed, PostgreSQL and Redis: a stake typed with a grouping separator, the
preview showing exactly the server's quote, Enter to review, Enter again to
place it, and the trade queued holding exactly the quoted total."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login_session, shot
from tests.trading.trades_support import balance
from trading.trades.models import Trade

from .test_trade_flow import funded_user

D = Decimal
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
QUOTE = "/api/v1/trades/quote/"


def usd(text: str) -> str:
    return f"{D(text):,.2f} USD"


def test_ticket_previews_the_quote_then_places_exactly_its_hold(stack, feed, page_factory):
    user = funded_user("5000.00")
    page = page_factory(width=1280)
    login_session(page, stack, user)
    page.goto(f"{stack.url}/trade/new/")
    ticket = page.locator("#trade-ticket")
    page.select_option('select[name="instrument"]', "BTC-USD")
    page.check('input[name="side"][value="sell"]')
    expect(page.get_by_test_id("level-rule")).to_have_text(
        "For a sell, take-profit is below the entry and stop-loss above it."
    )
    page.click('button.preset[data-fill="duration"][data-value="60"]')
    expect(page.locator('input[name="duration"]')).to_have_value("60")
    page.fill('input[name="stake"]', "1,000.50")
    preview = page.locator("#ticket-preview")
    expect(preview).to_be_visible()
    expect(preview.locator('[data-quote="total"]')).to_have_text("1,001.50 USD")
    expect(ticket).to_have_attribute("data-state", "edit")

    # Enter asks for the quote at once and shows the review with its figures.
    with page.expect_response(lambda r: QUOTE in r.url and r.request.method == "POST") as answer:
        page.locator('input[name="stake"]').press("Enter")
    quote = answer.value.json()
    expect(ticket).to_have_attribute("data-state", "review")
    expect(page.get_by_test_id("ticket-submit")).to_have_text("Confirm trade")
    assert page.url == f"{stack.url}/trade/new/"  # nothing placed yet
    assert not Trade.objects.filter(user=user).exists()
    figures = {
        "fee": usd(quote["fee"]),
        "closing_fee": usd(quote["closing_fee"]),
        "total": usd(quote["total"]),
        "max_loss": usd(quote["max_loss"]),
        "available": usd(quote["available"]),
        "available_after": usd(quote["available_after"]),
        "quantity": f"{D(quote['quantity']):,.8f}",
        "price": f"{D(quote['price']):,.2f}",
    }
    for name, text in figures.items():
        expect(preview.locator(f'[data-quote="{name}"]')).to_have_text(text)
    assert (quote["total"], quote["available_after"]) == ("1001.50", "3998.50")
    shot(page, "ticket-review")

    # The second Enter places it: queued, holding exactly the quoted total.
    with page.expect_navigation():
        page.get_by_test_id("ticket-submit").press("Enter")
    assert page.url == f"{stack.url}/trade-status/"
    trade = Trade.objects.get(user=user)
    assert (trade.status, trade.side, trade.stake) == ("queued", "sell", D("1000.50"))
    assert trade.held == D(quote["total"])
    assert balance(user) == (D(quote["available_after"]), D(quote["total"]))


def test_changing_the_ticket_after_the_review_asks_for_a_new_review(stack, feed, page_factory):
    user = funded_user("5000.00")
    page = page_factory(width=1280)
    login_session(page, stack, user)
    page.goto(f"{stack.url}/trade/new/")
    page.select_option('select[name="instrument"]', "BTC-USD")
    page.fill('input[name="stake"]', "100")
    page.click('main form button[type="submit"]')
    ticket = page.locator("#trade-ticket")
    expect(ticket).to_have_attribute("data-state", "review")
    page.click('button.preset[data-fill="stake"][data-value="1,000"]')
    expect(ticket).to_have_attribute("data-state", "edit")
    expect(page.locator('#ticket-preview [data-quote="total"]')).to_have_text("1,001.00 USD")
    assert not Trade.objects.filter(user=user).exists()


def test_the_ticket_turns_percentages_into_prices_like_the_server(stack, page_factory):
    """A level typed as a percentage is sent as the price the script makes
    of it: the same price, rounding ties included, as the server's no-script
    path (trade_level_from_percent)."""
    from tests.trading.trades_support import make_instrument
    from tests.trading.trades_support import quote as record_price
    from trading.trades.quotes import trade_level_from_percent

    cases = [
        # (price, percent, side, level, price scale)
        ("10.10", "5", "buy", "take_profit", 2),  # 10.605: a tie, to the even 10.60
        ("10.30", "5", "buy", "take_profit", 2),  # 10.815: a tie, to the even 10.82
        ("10.10", "5", "buy", "stop_loss", 2),  # 9.595 → 9.60
        ("100.01", "2.5", "sell", "take_profit", 2),
        ("65000.00", "0.125", "sell", "stop_loss", 2),
        ("1.23457", "33.3333", "buy", "take_profit", 5),
    ]
    expected = []
    for index, (price, percent, side, level, scale) in enumerate(cases):
        inst = make_instrument(f"PCT{index}-USD", price_scale=scale)
        record_price(inst, price)
        made = trade_level_from_percent(instrument=inst.symbol, side=side, level=level, percent=percent)
        expected.append(f"{made:f}")
    page = page_factory()
    page.goto(f"{stack.url}/static/frontend/css/base.css")
    results = page.evaluate(
        """async (cases) => {
            const l = await import('/static/frontend/js/levels.js');
            return cases.map(([price, percent, side, level, scale]) =>
              l.levelFromPercent(price, percent, (level === 'take_profit') === (side === 'buy'), scale));
        }""",
        cases,
    )
    assert results == expected
    assert expected[:3] == ["10.60", "10.82", "9.60"]
