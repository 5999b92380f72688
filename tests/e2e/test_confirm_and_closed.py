"""In-page confirmation of actions that cannot be taken back (Close now, a
plan's Cancel), and closed markets on the forms: never preselected, labelled
"Closed · opens 09:30 EST" in the exchange's zone."""

import time
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from market import calendars
from market.models import Instrument
from market.selectors.instruments import market_closed_label
from tests.e2e.conftest import login_session, shot
from tests.trading.trades_support import make_instrument
from trading.trades.models import Trade

from .test_net_results import funded_user, opened

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_close_now_asks_in_the_page_and_keeping_changes_nothing(stack, page_factory):
    inst = make_instrument("CONF-USD", fee_bps=10, price_scale=2)
    user = funded_user()
    trade = opened(user, inst)
    page = page_factory(width=1280)
    login_session(page, stack, user)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{stack.url}/trades/{trade.pk}/")
    close = page.locator("#trade-close")
    expect(close).to_be_visible()

    # Keep: the question goes, the trade stays open, focus back on the button.
    close.click()
    box = page.get_by_role("alertdialog")
    expect(box).to_contain_text("Close this trade now at the current market price?")
    expect(page.get_by_test_id("confirm-keep")).to_be_focused()
    shot(page, "close-now-confirm")
    page.get_by_test_id("confirm-keep").click()
    expect(box).to_have_count(0)
    expect(close).to_be_focused()

    # Escape keeps too.
    close.click()
    expect(box).to_be_visible()
    page.keyboard.press("Escape")
    expect(box).to_have_count(0)
    page.wait_for_timeout(500)
    trade.refresh_from_db()
    assert trade.status == "open"

    # Confirmed: closed now.
    close.click()
    page.get_by_test_id("confirm-yes").click()
    expect(close).to_be_hidden()
    for _ in range(40):
        trade.refresh_from_db()
        if trade.status == "settled":
            break
        time.sleep(0.25)
    assert (trade.status, trade.close_reason) == ("settled", "user")
    assert dialogs == []  # never window.confirm


def test_the_close_question_goes_when_the_trade_expires_under_it(stack, page_factory):
    """Asked to close a trade that then reaches its expiry, the page withdraws
    the question (the trade is being settled; "Close now" would be refused)."""
    from datetime import timedelta

    inst = make_instrument("CONFX-USD", fee_bps=10, price_scale=2)
    user = funded_user()
    trade = opened(user, inst)
    Trade.objects.filter(pk=trade.pk).update(expires_at=datetime.now(UTC) + timedelta(seconds=4))
    page = page_factory(width=390)
    login_session(page, stack, user)
    page.goto(f"{stack.url}/trades/{trade.pk}/")
    page.locator("#trade-close").click()
    box = page.get_by_role("alertdialog")
    expect(box).to_be_visible()
    expect(box).to_have_count(0, timeout=10_000)  # withdrawn at expiry, without a click
    expect(page.get_by_test_id("trade-expired")).to_be_visible()
    expect(page.locator("#trade-close")).to_be_hidden()


def _open_now(instrument: Instrument, at: datetime) -> bool:
    return calendars.market_is_open(instrument, at)


def test_a_closed_market_is_never_preselected_and_says_when_it_opens(stack, page_factory):
    at = datetime.now(UTC)
    instruments = list(Instrument.objects.filter(active=True).order_by("symbol"))
    closed = [i for i in instruments if not _open_now(i, at)]
    first_open = next(i.symbol for i in instruments if _open_now(i, at))
    user = funded_user()
    page = page_factory(width=1280)
    login_session(page, stack, user)
    if not closed:
        # NYSE hours on a weekday: every seeded market (crypto, FX, NYSE) is
        # open, so none may be labelled closed. The labels themselves are
        # checked at pinned instants (tests/trading/test_trade_ticket.py,
        # tests/market/test_closed_label.py, tests/frontend/test_closed_markets.py).
        page.goto(f"{stack.url}/trade/new/")
        expect(page.locator('select[name="instrument"]')).to_have_value(instruments[0].symbol)
        expect(page.locator('select[name="instrument"] option', has_text="Closed ·")).to_have_count(0)
        expect(page.get_by_test_id("markets-closed")).to_have_count(0)
        return

    page.goto(f"{stack.url}/trade/new/")
    select = page.locator('select[name="instrument"]')
    expect(select).to_have_value(first_open)
    for inst in closed:
        label = market_closed_label(instrument=inst, at=at)
        assert label and label.startswith("Closed · opens ")
        option = select.locator(f'option[value="{inst.symbol}"]')
        expect(option).to_contain_text(label)
    page.select_option('select[name="instrument"]', closed[0].symbol)
    expect(page.locator("#instrument-hint")).to_contain_text(market_closed_label(instrument=closed[0], at=at))
    shot(page, "ticket-closed-market")

    page.goto(f"{stack.url}/plans/")
    expect(page.locator("#plan-instrument")).to_have_value(first_open)

    page.goto(f"{stack.url}/")
    expect(page.get_by_test_id(f"market-{closed[0].symbol}")).to_have_text(
        market_closed_label(instrument=closed[0], at=at)
    )

    # Every open market gone: nothing is preselected and the ticket says why.
    open_now = [i.symbol for i in instruments if i not in closed]
    Instrument.objects.filter(symbol__in=open_now).update(active=False)
    page.goto(f"{stack.url}/trade/new/")
    expect(page.locator('select[name="instrument"]')).to_have_value("")
    expect(page.get_by_test_id("markets-closed")).to_be_visible()
    page.goto(f"{stack.url}/plans/")
    expect(page.locator("#plan-instrument")).to_have_value("")
    assert not Trade.objects.filter(user=user).exists()
