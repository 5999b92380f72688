"""Every page in a real browser: the login form, no script error or CSP
violation anywhere, the wallet and plans forms, the phone-width layout, and
the exact decimal module the pages compute P&L with."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login_session, shot
from tests.factories import PASSWORD, UserFactory
from trading.plans.models import Plan
from wallets.models import Account
from wallets.services import wallet_deposit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = ["/", "/trades/", "/wallet/", "/plans/", "/settings/notifications/", "/trade/new/", "/trade-status/"]


def collect_problems(page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
    return problems


def test_login_form_then_live_prices_without_reload(stack, feed, page_factory):
    user = UserFactory()
    page = page_factory()
    page.goto(f"{stack.url}/")
    assert "/accounts/login/" in page.url
    page.fill('input[name="username"]', user.username)
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.click('main form button[type="submit"], form button[type="submit"]')
    assert page.url == f"{stack.url}/"
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "live")
    price = page.get_by_test_id("price-ETH-USD")
    expect(price).not_to_have_text("—")
    first = price.inner_text()
    expect(price).not_to_have_text(first, timeout=20_000)
    assert navigations == []
    shot(page, "dashboard-after-login")


def test_every_page_runs_without_script_errors_or_csp_violations(stack, feed, page_factory):
    user = UserFactory()
    page = page_factory()
    login_session(page, stack, user)
    problems = collect_problems(page)
    for path in PAGES:
        page.goto(f"{stack.url}{path}")
        page.wait_for_load_state("networkidle")
        expect(page.locator("#conn-status")).to_have_attribute("data-state", "live")
    assert problems == []


def test_wallet_deposit_and_plan_creation(stack, page_factory):
    user = UserFactory()
    page = page_factory()
    login_session(page, stack, user)
    problems = collect_problems(page)

    page.goto(f"{stack.url}/wallet/")
    available = page.locator('#balances [data-balance="available"]')
    expect(available).to_have_text("0.00 USD")
    # Typed as the page shows amounts: grouping commas are taken out; a comma
    # elsewhere is a message beside the field and nothing is sent.
    page.fill("#deposit-amount", "2,50.00")
    page.click("#deposit-form button[type=submit]")
    expect(page.locator("#deposit-amount-error")).to_have_text(
        "Write the amount with commas only between groups of three digits, e.g. 1,000.50."
    )
    expect(page.locator("#deposit-amount")).to_have_attribute("aria-invalid", "true")
    assert not Account.objects.filter(owner=user, balance__gt=0).exists()
    page.fill("#deposit-amount", "2,500.00")
    page.click("#deposit-form button[type=submit]")
    expect(available).to_have_text("2,500.00 USD")  # via the wallet.balance event
    expect(page.locator("#ledger-rows tr[data-entry-id]")).to_have_count(1)
    expect(page.locator("#ledger-rows")).to_contain_text("Demo deposit")
    shot(page, "wallet-after-deposit")
    assert Account.objects.get(owner=user, kind="available").balance == Decimal("2500.00")

    page.goto(f"{stack.url}/plans/")
    page.select_option("#plan-instrument", "BTC-USD")
    page.fill("#plan-principal", "1,000.00")
    page.click("#plan-form button[type=submit]")
    row = page.locator("#plan-rows tr[data-plan-id]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Active")
    plan = Plan.objects.get(user=user)
    assert (plan.principal, plan.status) == (Decimal("1000.00"), "active")

    row.get_by_role("button", name="Cancel").click()
    # Asked in the page first (docs/decisions.md, "The trader's view").
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text("Cancel this plan?")
    page.get_by_test_id("confirm-yes").click()
    expect(row).to_contain_text("Cancelled")
    # The net result leads (nothing traded: no P&L, no fees), then what came back.
    expect(page.locator(".toast", has_text="Plan cancelled")).to_contain_text(
        "Net result → 0.00 USD (realised 0.00 · fees 0.00). Returned 1,000.00 USD."
    )
    expect(row.get_by_test_id("net-pnl")).to_contain_text("→ 0.00")
    plan.refresh_from_db()
    assert plan.status == "cancelled"
    assert plan.returned == Decimal("1000.00")
    shot(page, "plans-after-cancel")
    assert problems == []


def test_dashboard_at_phone_width_has_no_horizontal_scroll(stack, feed, page_factory):
    user = UserFactory()
    wallet_deposit(user=user, amount=Decimal("100.00"), currency="USD", idempotency_key="phone")
    page = page_factory(width=375, height=812)
    login_session(page, stack, user)
    page.goto(f"{stack.url}/")
    expect(page.get_by_test_id("price-BTC-USD")).not_to_have_text("—")
    expect(page.locator('#balances [data-balance="available"]')).to_have_text("100.00 USD")
    page.wait_for_load_state("networkidle")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1] == 375
    # Nothing sticks out of the viewport except inside its own scroll box
    # (the ticker strip and wide tables scroll sideways within the page).
    outside = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(n => !n.closest('.ticker-strip, .table-wrap, .visually-hidden, .skip-link'))
            .filter(n => {
              const r = n.getBoundingClientRect();
              return r.width && r.right > innerWidth + 0.5;
            })
            .map(n => n.tagName + '.' + n.className)"""
    )
    assert outside == []
    shot(page, "dashboard-375px")


def test_money_module_is_exact_in_the_browser(stack, page_factory):
    page = page_factory()
    page.goto(f"{stack.url}/static/frontend/css/base.css")
    results = page.evaluate(
        """async () => {
            const m = await import('/static/frontend/js/money.js');
            const p = await import('/static/frontend/js/pnl.js');
            const trade = {side: 'buy', quantity: '0.00153846', entry_price: '65000.00', stake: '100.00'};
            const short = {...trade, side: 'sell'};
            return [
              m.format(m.add('0.1', '0.2'), 2),
              m.format(m.round('2.345', 2), 2),
              m.format(m.round('2.355', 2), 2),
              m.format(m.div('-1', '8', 2), 2),
              m.format('1234567.5', 2),
              m.formatSigned('-0.004', 2),
              m.format(p.markPnl(trade, '65123.45'), 2),
              m.format(p.markPnl(short, '65123.45'), 2),
              m.format(p.markPnl(short, '200000.00'), 2),
            ];
        }"""
    )
    assert results == [
        "0.30",
        "2.34",  # half to even, as the server rounds
        "2.36",
        "-0.12",
        "1,234,567.50",
        "0.00",
        "0.19",  # 0.00153846 x 123.45 = 0.1899... -> 0.19
        "-0.19",
        "-100.00",  # a loss never exceeds the stake
    ]


NOTIFICATION_SPY = """
window.__notifications = [];
window.Notification = class {
  static permission = 'granted';
  static requestPermission() { return Promise.resolve('granted'); }
  constructor(title, options) { window.__notifications.push([title, options && options.body]); }
};
Object.defineProperty(document, 'hidden', { configurable: true, get: () => window.__hidden === true });
"""


def publish_notification(user, title: str) -> None:
    from django.db import transaction

    from realtime.publish import publish

    with transaction.atomic():
        publish(user_id=user.pk, event="notification", data={"title": title, "body": "From the test."})


def test_notification_channels_follow_the_users_settings(stack, page_factory):
    from accounts.notifications import notification_preference_update

    user = UserFactory()
    page = page_factory()
    page.add_init_script(NOTIFICATION_SPY)
    login_session(page, stack, user)
    page.goto(f"{stack.url}/")
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "live")

    # Visible tab: a toast, no browser notification.
    publish_notification(user, "First")
    expect(page.locator(".toast", has_text="First")).to_have_count(1)
    assert page.evaluate("window.__notifications") == []

    # Hidden tab: a browser notification as well.
    page.evaluate("window.__hidden = true")
    publish_notification(user, "Second")
    expect(page.locator(".toast", has_text="Second")).to_have_count(1)
    page.wait_for_function("window.__notifications.length === 1")
    assert page.evaluate("window.__notifications") == [["Second", "From the test."]]

    # Both channels turned off in the settings: neither, but still listed.
    notification_preference_update(
        user_id=user.pk, in_app=False, browser=False, email_settlement=True, email_maturity=True
    )
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-notify-in-app", "0")
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.__hidden = true")
    publish_notification(user, "Third")
    expect(page.get_by_test_id("notifications")).to_contain_text("Third")
    expect(page.locator(".toast")).to_have_count(0)
    assert page.evaluate("window.__notifications") == []
    shot(page, "notifications-off")
