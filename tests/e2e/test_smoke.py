"""Dashboard in a real browser: live prices without reload, phone width."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login_session, shot
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_dashboard_tickers_change_without_reload(stack, feed, page_factory):
    user = UserFactory()
    page = page_factory()
    login_session(page, stack, user)
    navigations = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))
    page.goto(f"{stack.url}/")
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "live")
    price = page.get_by_test_id("price-BTC-USD")
    expect(price).not_to_have_text("—")
    first = price.inner_text()
    expect(price).not_to_have_text(first, timeout=20_000)
    assert re.fullmatch(r"[\d,]+\.\d{2}", price.inner_text())
    assert len(navigations) == 1  # the page changed without a reload

    # Keyboard: a ticker is a button; Enter charts its instrument.
    ticker = page.locator('.ticker[data-symbol="ETH-USD"]')
    ticker.focus()
    page.keyboard.press("Enter")
    expect(ticker).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#chart-symbol")).to_have_text("ETH-USD")
    expect(page.locator("#chart canvas").first).to_be_visible()
    shot(page, "dashboard")
