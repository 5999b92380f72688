"""The chart and the theme in a real Chromium (issue 13): the trade page's
chart draws the open trade's entry, take-profit and stop-loss and shows a
bar's OHLC under the crosshair; the chosen interval is remembered across
pages; the theme follows the OS until the toggle is used, then the choice
is kept in this browser (error pages too); /favicon.ico is not a 404."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login_session, shot
from tests.e2e.views_support import login_tracking, open_trade, trader

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DARK_BG, LIGHT_BG = "rgb(15, 20, 25)", "rgb(246, 248, 250)"


def body_background(page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def test_trade_chart_levels_legend_and_remembered_interval(stack, feed, page_factory):
    user = trader()
    trade = open_trade(user)
    page = page_factory()
    login_tracking(page, stack.url, user, trade)
    page.goto(f"{stack.url}/trades/{trade.pk}/")
    chart = page.get_by_test_id("trade-chart")
    expect(chart).to_have_attribute("data-levels", "entry tp sl")
    # Dates are written by the one formatter (local time, zone named).
    written = page.evaluate(
        "async (iso) => (await import('/static/frontend/js/format.js')).formatDateTime(iso)",
        trade.opened_at.isoformat(),
    )
    assert written.endswith(" UTC")  # the browser's zone here
    expect(page.locator('[data-field="opened_at"]')).to_have_text(written)
    legend = page.get_by_test_id("chart-legend")
    box = chart.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    price = r"[\d,]+\.\d{2}"
    expect(legend).to_have_text(re.compile(rf"^BTC-USD .+ O {price}  H {price}  L {price}  C {price}$"))
    shot(page, "trade-detail-chart-hover")

    page.select_option("#trade-chart-interval", "5m")
    page.reload()
    expect(page.locator("#trade-chart-interval")).to_have_value("5m")
    page.goto(f"{stack.url}/")
    expect(page.locator("#chart-interval")).to_have_value("5m")
    page.select_option("#chart-interval", "1h")
    page.goto(f"{stack.url}/trade-status/")
    expect(page.locator("#trade-chart-interval")).to_have_value("1h")
    expect(page.get_by_test_id("trade-chart")).to_have_attribute("data-levels", "entry tp sl")

    # A settled (not open) trade draws no levels.
    page.goto(f"{stack.url}/trades/{trade.pk}/")
    page.locator("#trade-close").click()
    page.get_by_test_id("confirm-yes").click()  # Close now asks in the page first
    expect(page.get_by_test_id("trade-status")).to_have_text("Settled", timeout=20_000)
    expect(page.get_by_test_id("trade-chart")).to_have_attribute("data-levels", "")


def test_theme_follows_the_os_until_chosen_then_is_remembered(stack, browser):
    user = trader()
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    try:
        login_session(page, stack, user)
        page.goto(f"{stack.url}/wallet/")
        assert body_background(page) == DARK_BG
        page.emulate_media(color_scheme="light")
        assert body_background(page) == LIGHT_BG  # the OS changed: so does the page
        page.emulate_media(color_scheme="dark")

        toggle = page.get_by_test_id("theme-toggle")
        expect(toggle).to_have_attribute("aria-label", "Switch to the light theme")
        toggle.click()
        expect(page.locator("html")).to_have_attribute("data-theme", "light")
        assert body_background(page) == LIGHT_BG
        expect(toggle).to_have_attribute("aria-label", "Switch to the dark theme")
        page.reload()
        assert body_background(page) == LIGHT_BG  # kept, though the OS says dark
        page.goto(f"{stack.url}/no-such-page/")
        assert body_background(page) == LIGHT_BG  # the error page too
        shot(page, "error-page-light-by-choice")

        icon = page.request.get(f"{stack.url}/favicon.ico")
        assert icon.status == 200
        assert icon.headers["content-type"].startswith("image/svg+xml")
        assert page.locator('link[rel="icon"]').get_attribute("href").endswith(".svg")
    finally:
        context.close()
