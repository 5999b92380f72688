"""The live figures when the socket goes away, in a real Chromium against
daphne and the market feed (issue 13 and issue 12, in part).

- The reconnect back-off is full jitter, doubling and capped: checked on the
  module itself with a seeded random.
- Cut the socket on the dashboard (Playwright refuses every WebSocket to
  /ws/stream/): the figures are marked stale with "Prices paused · last
  update …", polling keeps the balance and an open trade's net result
  current, the connection attempts made during the outage are no more than
  the back-off schedule allows (polls do not hurry it), and the Reconnect
  button brings the socket back and clears the mark."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login_session, shot
from tests.e2e.views_support import login_tracking, trader
from tests.trading.trades_support import make_instrument, quote
from trading.trades.services import trade_open, trade_request
from wallets.models import Account
from wallets.services import wallet_deposit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
D = Decimal
STREAM = re.compile(r"/ws/stream/(\?.*)?$")
BASE_MS, CAP_MS = 500, 30_000

# A seeded generator (mulberry32), so the jitter is the same on every run.
SEEDED = """function seeded(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}"""


def test_backoff_is_full_jitter_doubling_and_capped(stack, page_factory):
    page = page_factory()
    page.goto(f"{stack.url}/static/frontend/css/base.css")
    result = page.evaluate(
        """async (seededSource) => {
            const seeded = new Function(`${seededSource}; return seeded;`)();
            const s = await import('/static/frontend/js/stream.js');
            const caps = [...Array(10).keys()].map((k) => s.backoffCap(k));
            const random = seeded(42);
            const draws = caps.map((cap, k) => [...Array(500)].map(() => s.backoffDelay(k, random)));
            return {
              caps,
              within: draws.every((d, k) => d.every((ms) => ms >= 0 && ms < caps[k])),
              low: draws.map((d, k) => Math.min(...d) / caps[k]),
              high: draws.map((d, k) => Math.max(...d) / caps[k]),
              again: [0, 1, 2].map((k) => s.backoffDelay(k, seeded(7))),
              same: [0, 1, 2].map((k) => s.backoffDelay(k, seeded(7))),
              edges: [
                s.backoffDelay(3, () => 0), s.backoffDelay(3, () => 0.999999), s.backoffDelay(40, () => 0.5),
              ],
            };
        }""",
        SEEDED,
    )
    assert result["caps"] == [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]
    assert result["within"]
    # Full jitter: the whole window is used, not only its upper half.
    assert all(low < 0.05 for low in result["low"])
    assert all(high > 0.95 for high in result["high"])
    assert result["again"] == result["same"]  # deterministic for a seed
    assert result["edges"] == [0, 3999, 15000]


def test_formatters_write_grouped_prices_and_local_times_with_the_zone(stack, browser):
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Paris")
    page = context.new_page()
    try:
        page.goto(f"{stack.url}/static/frontend/css/base.css")
        result = page.evaluate(
            """async () => {
                const f = await import('/static/frontend/js/format.js');
                const at = '2026-12-07T13:03:05Z';
                return [
                  f.formatPrice('3199.88000000', 2), f.formatPrice('0.00012345', 6),
                  f.formatAmount('1234.5', 'USD'),
                  f.formatClock(at), f.formatDateTime(at), f.formatAxisTime(Date.parse(at) / 1000),
                  f.formatChartPrice(65012.5, 2),
                ];
            }"""
        )
    finally:
        context.close()
    assert result == [
        "3,199.88",
        "0.000123",
        "1,234.50 USD",
        "14:03:05 CET",
        "7 Dec 2026, 14:03:05 CET",
        "14:03",
        "65,012.50",
    ]


def schedule_bound(outage_s: float, random: float = 0.5) -> int:
    """How many attempts the back-off allows in `outage_s` seconds after the
    socket dropped, when the jitter draws `random` every time."""
    elapsed, attempts = 0.0, 0
    for k in range(60):
        elapsed += random * min(CAP_MS, BASE_MS * 2**k) / 1000
        if elapsed > outage_s:
            break
        attempts += 1
    return attempts


def test_cut_socket_marks_stale_polls_and_bounds_reconnects(stack, feed, page_factory):
    user = trader()
    inst = make_instrument("STALE-USD", fee_bps=10, price_scale=2)
    quote(inst, "100.00")
    requested = trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D("100.00"), idempotency_key="s1"
    )
    trade = trade_open(trade_id=requested.trade.pk)
    page = page_factory()
    # The jitter draws 0.5 every time: the schedule is known to the test.
    page.add_init_script("Math.random = () => 0.5;")
    login_session(page, stack, user)
    blocked = {"on": False}
    live: list = []
    refused: list = []

    def route(ws):
        if blocked["on"]:
            refused.append(ws.url)
            ws.close(code=4999, reason="cut by the test")
            return
        live.append(ws)
        ws.connect_to_server()

    page.route_web_socket(STREAM, route)
    page.goto(f"{stack.url}/")
    conn = page.locator("#conn-status")
    expect(conn).to_have_attribute("data-state", "live")
    net = page.locator(f'#open-trades tr[data-trade-id="{trade.pk}"] [data-testid="net-pnl"]')
    expect(net).to_contain_text("↓")  # at the entry price: the fees
    stale_text = page.get_by_test_id("stale-text")
    tickers = page.locator("#tickers")
    expect(stale_text).to_have_text("")
    expect(tickers).not_to_have_class(re.compile(r"\bis-stale\b"))

    # Cut: the live socket is closed and every new one refused.
    blocked["on"] = True
    cut_at = time.monotonic()
    for ws in live:
        ws.close(code=4999, reason="cut by the test")
    paused = re.compile(r"Prices paused · last update \d\d:\d\d:\d\d")
    expect(stale_text).to_contain_text(paused, timeout=15_000)
    expect(tickers).to_have_class(re.compile(r"\bis-stale\b"))
    expect(page.locator("#chart")).to_have_class(re.compile(r"\bis-stale\b"))
    expect(conn).to_have_attribute("data-state", "polling", timeout=15_000)
    expect(page.get_by_test_id("reconnect")).to_be_visible()
    shot(page, "dashboard-stale")

    # Polling keeps the figures current: a new price moves the net result,
    # a deposit the balance.
    quote(inst, "150.00")
    expect(net).to_contain_text("↑ +", timeout=15_000)
    wallet_deposit(user=user, amount=D("250.00"), currency="USD", idempotency_key="s2")
    available = Account.objects.get(owner=user, kind="available").balance
    expect(page.locator('#balances [data-balance="available"]')).to_have_text(f"{available:,.2f} USD")
    eth = page.get_by_test_id("price-ETH-USD")
    before = eth.inner_text()
    expect(eth).not_to_have_text(before, timeout=15_000)  # the feed's quotes, polled

    # Let the outage last about 12 s, then count the attempts made in it.
    remaining = 12 - (time.monotonic() - cut_at)
    if remaining > 0:
        page.wait_for_timeout(remaining * 1000)
    outage = time.monotonic() - cut_at
    attempts = len(refused)
    assert 3 <= attempts <= schedule_bound(outage + 1), (attempts, outage)

    # Reconnect now: live again, the mark goes once prices flow.
    blocked["on"] = False
    page.get_by_test_id("reconnect").click()
    expect(conn).to_have_attribute("data-state", "live")
    expect(stale_text).to_have_text("")
    expect(tickers).not_to_have_class(re.compile(r"\bis-stale\b"))
    expect(page.get_by_test_id("reconnect")).to_be_hidden()
    assert len(refused) == attempts  # the click's attempt was let through
    shot(page, "dashboard-fresh-again")


def test_status_page_polls_without_hurrying_the_socket(stack, page_factory):
    """The status page used to reset the back-off after every successful
    poll (one attempt per client per poll after a restart); its polling now
    leaves the schedule alone."""
    user = trader()
    queued = trade_request(
        user=user, instrument="BTC-USD", side="buy", stake=D("100.00"), idempotency_key="q1"
    ).trade  # no worker: it stays queued, so the page keeps polling
    page = page_factory()
    page.add_init_script("Math.random = () => 0.5;")
    login_tracking(page, stack.url, user, queued)
    blocked = {"on": False}
    live: list = []
    refused: list = []
    polls: list = []

    def route(ws):
        if blocked["on"]:
            refused.append(ws.url)
            ws.close(code=4999, reason="cut by the test")
            return
        live.append(ws)
        ws.connect_to_server()

    page.route_web_socket(STREAM, route)
    page.on("request", lambda r: "/api/check-trade-status/" in r.url and polls.append(r.url))
    page.goto(f"{stack.url}/trade-status/")
    mode = page.get_by_test_id("status-mode")
    expect(mode).to_have_attribute("data-mode", "socket")
    blocked["on"] = True
    cut_at = time.monotonic()
    for ws in live:
        ws.close(code=4999, reason="cut by the test")
    expect(mode).to_have_attribute("data-mode", "polling", timeout=15_000)
    remaining = 14 - (time.monotonic() - cut_at)
    if remaining > 0:
        page.wait_for_timeout(remaining * 1000)
    outage = time.monotonic() - cut_at
    attempts = len(refused)
    assert len(polls) >= 3  # it polled all along (every 2 s)
    assert 3 <= attempts <= schedule_bound(outage + 1), (attempts, len(polls), outage)
    blocked["on"] = False
