"""The installable app in a real Chromium: the service worker registers with
scope `/`, the manifest is valid and its icons are the sizes it claims,
Chromium finds no installability error, and with the network cut a page
navigation shows the offline page with the balances and open trade the
pages had loaded (saved by the worker), and the word "offline"."""

import json
import struct
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from tests.children import wait_for
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, login_session, shot
from tests.factories import UserFactory
from tests.trading.trades_support import make_instrument, quote
from trading.trades.services import trade_open, trade_request
from wallets.services import wallet_deposit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SAVED = "caches.open('tv-data').then(c => c.match(%r)).then(r => r ? r.json() : null)"


@pytest.fixture
def profile_page(tmp_path, request):
    """A page of a persistent Chromium profile: Chromium calls every
    throwaway context incognito, where no app is installable."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 412, "height": 860},  # a phone
        )
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(20_000)
        yield page
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end.png"), full_page=True)
        except Exception:
            pass
        connections.close_all()  # those opened under Playwright's loop (tests/e2e/conftest.py)
        context.close()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_installable_app_and_offline_page(stack, profile_page):
    user = UserFactory()
    wallet_deposit(
        user=user, amount=Decimal("1234.50"), currency="USD", idempotency_key=f"e2e-{uuid.uuid4()}"
    )
    inst = make_instrument("OFF-USD")
    quote(inst, "100.00")
    trade = trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=Decimal("100.00"), idempotency_key="o"
    )
    trade_open(trade_id=trade.trade.pk)

    page = profile_page
    login_session(page, stack, user)
    page.goto(f"{stack.url}/")
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{stack.url}/"
    # The first load ran before the worker controlled the page; this one's
    # API calls go through it, and it saves the values the page shows.
    page.reload()
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "live")
    assert page.evaluate("Boolean(navigator.serviceWorker.controller)")
    balances = wait_for(
        lambda: page.evaluate(SAVED % "/__tv/last/balances"), timeout=20, what="saved balances"
    )
    assert any(row["available"] == "1134.40" for row in balances), balances  # 1234.50 - 100.00 - 0.10 fee
    wait_for(lambda: page.evaluate(SAVED % "/__tv/last/open-trades"), timeout=20, what="saved open trades")

    manifest = page.request.get(f"{stack.url}/manifest.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"
    data = manifest.json()
    assert (data["start_url"], data["display"], data["scope"]) == ("/", "standalone", "/")
    assert data["name"] == "TradeVision" and data["short_name"] and data["theme_color"]
    for icon in data["icons"]:
        image = page.request.get(f"{stack.url}{icon['src']}")
        assert image.ok and image.headers["content-type"] == "image/png"
        width, height = png_size(image.body())
        assert f"{width}x{height}" == icon["sizes"]
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in data["icons"]}
    assert (
        page.evaluate("document.querySelector('link[rel=manifest]').href")
        == f"{stack.url}/manifest.webmanifest"
    )

    cdp = page.context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == [], errors
    manifest_state = cdp.send("Page.getAppManifest")
    assert manifest_state.get("errors", []) == []
    shot(page, "install-state")

    page.context.set_offline(True)
    page.goto(f"{stack.url}/wallet/")
    expect(page.get_by_role("heading", name="You are offline")).to_be_visible()
    expect(page.get_by_test_id("offline-label")).to_have_text("Offline")
    expect(page.get_by_test_id("offline-balances")).to_contain_text("1134.40")
    expect(page.get_by_test_id("offline-trades")).to_contain_text("OFF-USD")
    expect(page.get_by_test_id("offline-saved-at")).to_contain_text("Offline — last known values")
    shot(page, "offline")
    page.context.set_offline(False)


NOTIFICATIONS = (
    "navigator.serviceWorker.ready.then(r => r.getNotifications())"
    ".then(ns => ns.map(n => ({title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url})))"
)


def test_a_push_is_shown_only_when_no_live_page_shows_the_event(stack, profile_page):
    """Pushes delivered to the real service worker through Chromium's
    DevTools protocol (headless Chromium has no push service): with a live
    page of the site visible the worker shows nothing (the page has the event
    from its socket); with none it shows the notification, linked to the trade."""
    user = UserFactory()
    page = profile_page
    page.context.grant_permissions(["notifications"], origin=stack.url)
    login_session(page, stack, user)
    page.goto(f"{stack.url}/")
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "live")

    cdp = page.context.new_cdp_session(page)
    registrations: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(
            r["registrationId"] for r in event["registrations"] if r["scopeURL"] == f"{stack.url}/"
        ),
    )
    cdp.send("ServiceWorker.enable")
    # Playwright's sync API delivers events while it waits, so the wait is its own.
    registration = wait_for(
        lambda: page.wait_for_timeout(100) or (registrations and registrations[0]),
        timeout=20,
        what="the registration",
    )

    def deliver(tag: str) -> None:
        payload = {"title": "Trade settled: buy PSH-USD", "body": "Net result +9.80 USD", "tag": tag}
        payload["url"] = "/trades/7/"
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": stack.url, "registrationId": registration, "data": json.dumps(payload)},
        )

    deliver("while-live")
    page.wait_for_timeout(3000)  # the worker has asked the page and had its answer
    assert page.evaluate(NOTIFICATIONS) == []

    page.goto(f"{stack.url}/manifest.webmanifest")  # a page of the site with no socket
    deliver("no-live-page")
    shown = wait_for(lambda: page.evaluate(NOTIFICATIONS), timeout=20, what="the notification")
    assert shown == [
        {
            "title": "Trade settled: buy PSH-USD",
            "body": "Net result +9.80 USD",
            "tag": "no-live-page",
            "url": "/trades/7/",
        }
    ]


def test_logging_out_clears_the_saved_values_and_still_logs_out(stack, profile_page):
    """The logout form first drops this device's push subscription and the
    saved values (the next user of the device sees neither), then posts."""
    user = UserFactory()
    wallet_deposit(user=user, amount=Decimal("50.00"), currency="USD", idempotency_key=f"e2e-{uuid.uuid4()}")
    page = profile_page
    login_session(page, stack, user)
    page.goto(f"{stack.url}/")
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    wait_for(lambda: page.evaluate(SAVED % "/__tv/last/balances"), timeout=20, what="saved balances")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{stack.url}{reverse(settings.LOGOUT_REDIRECT_URL)}", timeout=10_000)
    # Headless Chromium has no push service, so there was no subscription to
    # drop; the form still went through, after the worker forgot the values.
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.pushManager.getSubscription())") is None
    assert wait_for(
        lambda: page.evaluate(SAVED % "/__tv/last/balances") is None,
        timeout=10,
        what="the saved balances to be gone",
    )
