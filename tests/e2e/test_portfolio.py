"""The trader's view in a real browser (issue 13): the dashboard's portfolio
card shows the server's figures, moves with a tick of an open trade's
instrument and with the trade's settlement; the trades page takes its
filters from the URL, writes them back, and exports the filtered list as CSV.

The book is tests/trading/portfolio_support.py's (figures worked there)."""

import csv
import io
import time
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from realtime.ticks import publish_tick
from tests.e2e.conftest import login_session, shot
from tests.factories import UserFactory
from tests.trading.portfolio_support import build_book
from tests.trading.trades_support import quote
from trading.trades.services import trade_close, trade_request

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
D = Decimal


def _tick_until(page, inst, price, testid, text, seconds=20):
    """Publish ticks (they are not stored: one sent before the page subscribed
    is lost) until the card shows `text`."""
    quote(inst, price)
    deadline = time.monotonic() + seconds
    target = page.get_by_test_id(testid)
    while time.monotonic() < deadline:
        publish_tick(symbol=inst.symbol, price=D(price), at=timezone.now())
        if target.text_content().strip() == text:
            return
        page.wait_for_timeout(300)
    expect(target).to_have_text(text)


def test_portfolio_card_is_live_and_history_filters_and_exports(stack, page_factory):
    user = UserFactory()
    book = build_book(user, symbol="PFE-USD")
    inst, b, c = book["instrument"], book["b"], book["c"]
    page = page_factory()
    login_session(page, stack, user)
    page.goto(f"{stack.url}/")
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "live")
    card = page.get_by_test_id("portfolio")
    expect(card.get_by_test_id("portfolio-equity")).to_have_text("10,105.00")
    expect(card.get_by_test_id("portfolio-unrealised")).to_have_text("↑ +28.00")
    expect(card.get_by_test_id("portfolio-realised-today")).to_have_text("↓ -21.00")
    expect(card.get_by_test_id("portfolio-fees-today")).to_have_text("3.00")
    expect(card.get_by_test_id("portfolio-open-trades")).to_have_text("1")

    # A tick moves the mark of C (20 units): 102.00 is +40.00 before fees.
    _tick_until(page, inst, "102.00", "portfolio-equity", "10,115.00")
    expect(card.get_by_test_id("portfolio-unrealised")).to_have_text("↑ +38.00")
    expect(card.get_by_test_id("portfolio-available")).to_have_text("8,075.00")
    shot(page, "portfolio-card-after-tick")

    # C settles at 102.00: +40.00, closing fee 2.00, net +36.00 realised today.
    trade_close(user=user, trade_id=c.pk)
    expect(card.get_by_test_id("portfolio-realised-today")).to_have_text("↑ +15.00")
    expect(card.get_by_test_id("portfolio-fees-today")).to_have_text("5.00")
    expect(card.get_by_test_id("portfolio-unrealised")).to_have_text("→ 0.00")
    expect(card.get_by_test_id("portfolio-reserved")).to_have_text("0.00")
    expect(card.get_by_test_id("portfolio-equity")).to_have_text("10,113.00")
    expect(card.get_by_test_id("portfolio-open-trades")).to_have_text("0")
    shot(page, "portfolio-card-after-settlement")

    # The history page reads its filters from the URL.
    page.goto(f"{stack.url}/trades/?side=sell")
    expect(page.locator("#filter-side")).to_have_value("sell")
    rows = page.locator("#trade-rows tr[data-trade-id]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-trade-id", str(b.pk))
    expect(rows.first.get_by_test_id("closed-at")).not_to_have_text("—")
    expect(page.get_by_test_id("trades-count")).to_have_text("(1 trade)")

    # Choosing more filters writes them back into the URL and the CSV link.
    page.select_option("#filter-side", "buy")
    page.select_option("#filter-status", "settled")
    expect(page.get_by_test_id("trades-count")).to_have_text("(2 trades)")
    assert "side=buy" in page.url and "status=settled" in page.url
    # The date filters' days are the browser's: its zone goes with the export too.
    zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert f"tz={zone.replace('/', '%2F')}" in (page.get_by_test_id("trades-csv").get_attribute("href") or "")
    page.select_option("#filter-ordering", "created_at")
    expect(page.locator("#trade-rows tr[data-trade-id]").first).to_have_attribute(
        "data-trade-id", str(book["a"].pk)
    )
    with page.expect_download() as info:
        page.get_by_test_id("trades-csv").click()
    download = info.value
    assert download.suggested_filename.startswith("trades-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as handle:
        table = list(csv.reader(io.StringIO(handle.read())))
    assert [(r[0], r[3], r[4], r[12], r[13], r[14]) for r in table[1:]] == [
        (str(book["a"].pk), "buy", "settled", "2.00", "100.00", "98.00"),
        (str(c.pk), "buy", "settled", "4.00", "40.00", "36.00"),
    ]
    shot(page, "trades-history-filtered")

    # Unfiltered, the count follows a new trade live.
    page.goto(f"{stack.url}/trades/")
    expect(page.get_by_test_id("trades-count")).to_have_text("(3 trades)")
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "live")
    quote(inst, "102.00")
    new = trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D("10.00"), idempotency_key="e2e-live"
    ).trade
    expect(page.locator(f'#trade-rows tr[data-trade-id="{new.pk}"]')).to_be_visible()
    expect(page.get_by_test_id("trades-count")).to_have_text("(4 trades)")
