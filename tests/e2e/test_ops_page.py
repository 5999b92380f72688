"""The staff health page (`/ops/health/`, ops/static/ops/js/health.js) in a
real Chromium against daphne: every component renders as a card with its
red / amber / green state, the page follows changes without a reload, and a
user who is not staff gets 403.

No worker runs in this stack, so the workers card is red: that is one of the
states the test reads, not an accident."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from market.models import Instrument
from market.prices import price_record
from tests.e2e.conftest import login_session, shot
from tests.factories import UserFactory
from wallets.models import BalanceDrift, DriftKind

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COMPONENTS = {
    "database": "PostgreSQL",
    "redis": "Redis",
    "workers": "Celery workers",
    "queues": "Queues",
    "periodic_tasks": "Periodic tasks",
    "tasks": "Tasks (last hour)",
    "feed": "Market feed",
    "processes": "Processes",
    "websockets": "WebSockets",
    "outbox": "Event outbox",
    "ledger": "Ledger",
    "push": "Web Push",
}
BADGE = {"green": "OK", "amber": "Warning", "red": "Failing"}


@pytest.fixture(autouse=True)
def _fast_poll(monkeypatch):
    """The page polls every 2 s (the script's floor) instead of 5; set before
    the `stack` fixture starts daphne, which inherits the environment."""
    monkeypatch.setenv("OPS_PAGE_POLL_SECONDS", "2")


def _card(page, name: str):
    return page.locator(f'section.ops-card[aria-label="{COMPONENTS[name]}"]')


def _fact(page, name: str, label: str):
    return _card(page, name).locator(f'xpath=.//dt[normalize-space()="{label}"]/following-sibling::dd[1]')


def _feed_price(page, symbol: str):
    row = _card(page, "feed").locator("tbody tr", has=page.locator(f'td:text-is("{symbol}")'))
    return row.locator("td").nth(1)


def _expect_status(page, name: str, status: str) -> None:
    card = _card(page, name)
    expect(card).to_have_attribute("data-status", status)
    expect(card.locator(".ops-badge")).to_have_attribute("data-status", status)
    expect(card.locator(".ops-badge")).to_have_text(BADGE[status])


def test_staff_page_renders_every_component_and_follows_changes_live(stack, page_factory):
    staff = UserFactory(is_staff=True)
    drift = BalanceDrift.objects.create(
        kind=DriftKind.CURRENCY_SUM, currency="USD", expected=Decimal("0.00"), found=Decimal("0.01")
    )
    # Only the two always-open instruments, so the feed's state does not
    # depend on the weekday: BTC fresh, ETH never ticked (stale, red).
    Instrument.objects.exclude(symbol__in=["BTC-USD", "ETH-USD"]).update(active=False)
    price_record(prices={"BTC-USD": (Decimal("64000.25"), timezone.now())})

    page = page_factory()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
    login_session(page, stack, staff)
    response = page.goto(f"{stack.url}/ops/health/")
    assert response is not None and response.status == 200
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))

    expect(page.locator("section.ops-card")).to_have_count(len(COMPONENTS))
    for name in COMPONENTS:
        expect(_card(page, name)).to_have_attribute("data-status", re.compile(r"^(green|amber|red)$"))
    _expect_status(page, "database", "green")
    _expect_status(page, "redis", "green")
    _expect_status(page, "workers", "red")  # no worker in this stack
    # The stack's daphne lists itself with its heartbeat.
    web_row = _card(page, "processes").locator("tbody tr", has=page.locator('td:text-is("web")'))
    expect(web_row).to_have_count(1)
    _expect_status(page, "ledger", "red")  # an unrepaired drift
    expect(_fact(page, "ledger", "unrepaired 24h")).to_have_text("1")
    expect(page.locator("#ops-overall")).to_have_attribute("data-status", "red")
    expect(page.locator("#ops-overall")).to_have_text("Failing")
    _expect_status(page, "feed", "red")
    expect(_feed_price(page, "BTC-USD")).to_have_text("64000.25")
    expect(_feed_price(page, "ETH-USD")).to_have_text("—")
    shot(page, "ops-health-red-ledger")

    # Change two components behind the page's back: it must follow on its own.
    BalanceDrift.objects.filter(pk=drift.pk).update(repaired=True)
    now = timezone.now()
    price_record(prices={"BTC-USD": (Decimal("64123.50"), now), "ETH-USD": (Decimal("3100.75"), now)})
    _expect_status(page, "ledger", "amber")  # repaired in the last 24 h
    expect(_fact(page, "ledger", "unrepaired 24h")).to_have_text("0")
    expect(_fact(page, "ledger", "repaired 24h")).to_have_text("1")
    expect(_feed_price(page, "BTC-USD")).to_have_text("64123.50")
    expect(_feed_price(page, "ETH-USD")).to_have_text("3100.75")
    _expect_status(page, "feed", "green")
    shot(page, "ops-health-amber-ledger")

    assert navigations == []
    assert problems == []


def test_page_and_its_endpoint_are_403_for_a_user_who_is_not_staff(stack, page_factory):
    page = page_factory()
    login_session(page, stack, UserFactory())
    response = page.goto(f"{stack.url}/ops/health/")
    assert response is not None and response.status == 403
    api = page.request.get(f"{stack.url}/api/v1/ops/health/")
    assert api.status == 403
