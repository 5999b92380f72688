"""Every page of the site in a real Chromium, at 1280 and 375 px, in the
dark and the light theme (the OS preference, emulated): axe-core finds no
serious or critical violation, the document never scrolls sideways, every
link, button, input and select is at least 24 px to tap, and a screenshot
of each is saved under test-artifacts/views/ for review."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.views_support import (
    login_tracking,
    open_trade,
    serious_violations,
    sideways_scroll,
    small_targets,
    sticking_out,
    trader,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = ARTIFACTS / "views"


def pages_of(trade_id: int) -> dict[str, str]:
    return {
        "dashboard": "/",
        "trade-form": "/trade/new/",
        "trade-status": "/trade-status/",
        "trade-detail": f"/trades/{trade_id}/",
        "trades": "/trades/",
        "wallet": "/wallet/",
        "plans": "/plans/",
        "notification-settings": "/settings/notifications/",
        "ops": "/ops/health/",
        "error": "/no-such-page/",
    }


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("width", [1280, 375])
def test_every_page_is_accessible_fits_and_is_tappable(stack, feed, browser, theme, width):
    user = trader(staff=True)  # staff: the ops page, and the nav's extra links
    trade = open_trade(user)
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=theme)
    page = context.new_page()
    page.set_default_timeout(20_000)
    login_tracking(page, stack.url, user, trade)
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[str]] = {}
    # Script errors and CSP refusals (the error page's own 404 is expected).
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda msg: msg.type == "error" and "status of 404" not in msg.text and errors.append(msg.text),
    )
    try:
        for name, path in pages_of(trade.pk).items():
            page.goto(f"{stack.url}{path}")
            page.wait_for_load_state("networkidle")
            if name != "error":
                expect(page.locator("#conn-status")).to_have_attribute("data-state", "live")
            # The OS preference is followed (nothing chosen in this browser).
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == ("rgb(15, 20, 25)" if theme == "dark" else "rgb(246, 248, 250)"), name
            found: list[str] = []
            scroll_width, inner_width = sideways_scroll(page)
            if scroll_width > inner_width:
                found.append(f"scrolls sideways: {scroll_width} > {inner_width}: {sticking_out(page)}")
            found += [f"small tap target: {t}" for t in small_targets(page)]
            found += serious_violations(page)
            found += errors
            errors.clear()
            page.screenshot(path=str(SHOTS / f"{name}-{width}-{theme}.png"), full_page=True)
            if found:
                problems[name] = found
    finally:
        context.close()
    assert problems == {}, "\n".join(f"{name}: {line}" for name, lines in problems.items() for line in lines)
