"""The trade flow in a real browser, against daphne, a real Celery worker,
the market feed, PostgreSQL and Redis.

The worker is started after the status page is showing, so the page is seen
in `queued` first and then moves on by itself."""

import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from realtime.models import Event
from tests.e2e.conftest import login_session, shot
from tests.factories import UserFactory
from tests.trading.trades_support import balance
from trading.tasks import process_completed_trades
from trading.trades.models import Trade
from wallets.services import wallet_deposit

D = Decimal

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STATUS_API = "/api/check-trade-status/"


def signed(amount: Decimal) -> str:
    """How the pages write a P&L: a sign only when it is not zero."""
    return f"{amount:+,.2f}" if amount > 0 else f"{amount:,.2f}"


def funded_user(amount: str = "1000.00"):
    user = UserFactory()
    wallet_deposit(user=user, amount=Decimal(amount), currency="USD", idempotency_key=f"e2e-{user.pk}")
    return user


SUBMIT = 'main form button[type="submit"]'


def submit_trade(page, stack, *, stake="100.00", symbol="BTC-USD", side="buy", minutes="60", confirm=True):
    """Fill the order ticket and submit: the first submit shows the review
    (the server's quote), the second places the trade. `confirm=False` stops
    after the first (a refused input shows its message instead of a review)."""
    page.goto(f"{stack.url}/trade/new/")
    page.select_option('select[name="instrument"]', symbol)
    page.check(f'input[name="side"][value="{side}"]')
    page.fill('input[name="stake"]', stake)
    page.fill('input[name="duration"]', minutes)
    page.click(SUBMIT)
    if not confirm:
        return
    expect(page.locator("#trade-ticket")).to_have_attribute("data-state", "review")
    with page.expect_navigation():
        page.click(SUBMIT)


def status_section(page):
    return page.locator("[data-status-url]")


def settle_now(trade: Trade) -> None:
    """Drive time: the trade expired a few seconds ago. The periodic task
    (run by the real worker) settles it once the feed has recorded prices
    through the expiry, so it is sent again each second, as beat would each
    minute, until the trade is settled."""
    Trade.objects.filter(pk=trade.pk).update(expires_at=timezone.now() - timedelta(seconds=3))
    for _ in range(30):
        process_completed_trades.delay()
        time.sleep(1)
        if Trade.objects.filter(pk=trade.pk, status="settled").exists():
            return
    raise AssertionError("the trade was not settled within 30 runs of process_completed_trades")


def test_status_page_goes_queued_to_open_live_without_polling(stack, feed, page_factory, request):
    user = funded_user()
    page = page_factory()
    login_session(page, stack, user)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    submit_trade(page, stack)
    assert page.url == f"{stack.url}/trade-status/"
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))

    section = status_section(page)
    expect(section).to_have_attribute("data-status", "queued")
    expect(page.get_by_test_id("status-mode")).to_have_attribute("data-mode", "socket")
    expect(page.locator('.step[data-step="queued"]')).to_have_attribute("data-state", "current")
    expect(page.locator("#status-message .spinner")).to_be_visible()
    shot(page, "status-queued")

    request.getfixturevalue("worker")  # now a worker exists and opens the trade
    expect(section).to_have_attribute("data-status", "open", timeout=30_000)
    expect(page.locator('.step[data-step="open"]')).to_have_attribute("data-state", "current")
    expect(page.get_by_test_id("status-message")).to_contain_text("Your trade is open")
    expect(page.locator("#status-details")).to_contain_text("Entry price")
    events = page.locator("#status-events li")
    expect(events.filter(has_text="Opened at")).to_have_count(1)
    shot(page, "status-open")

    assert navigations == []  # no reload
    assert [url for url in requests if STATUS_API in url] == []  # no polling request
    trade = Trade.objects.get(user=user)
    assert trade.status == "open"
    # The entry price as recorded, at the instrument's 2 decimals.
    assert page.locator("#status-details").inner_text().count(f"{trade.entry_price:,.2f}") == 1


def test_blocked_socket_falls_back_to_polling_and_back(stack, feed, page_factory, request):
    user = funded_user()
    page = page_factory()
    login_session(page, stack, user)
    blocked = {"on": False}
    live_routes: list = []

    def route(ws):
        if blocked["on"]:
            ws.close(code=4999, reason="blocked by the test")
            return
        live_routes.append(ws)
        ws.connect_to_server()

    page.route_web_socket(re.compile(r"/ws/stream/(\?.*)?$"), route)
    polls: list[str] = []
    page.on("request", lambda r: STATUS_API in r.url and polls.append(r.url))

    submit_trade(page, stack)
    section = status_section(page)
    mode = page.get_by_test_id("status-mode")
    expect(mode).to_have_attribute("data-mode", "socket")
    expect(section).to_have_attribute("data-status", "queued")
    assert polls == []

    # The socket drops and cannot come back: polling within a few seconds.
    # (The activity list may already hold `trade.queued`, depending on
    # whether the form page or this one received it first.)
    listed_before_block = page.locator("#status-events li").count()
    blocked["on"] = True
    for ws in live_routes:
        ws.close(code=4999, reason="blocked by the test")
    expect(mode).to_have_attribute("data-mode", "polling", timeout=15_000)
    expect(mode).to_contain_text("checking every 2 s")
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "polling")
    shot(page, "status-polling")

    request.getfixturevalue("worker")
    expect(section).to_have_attribute("data-status", "open", timeout=30_000)
    trade = Trade.objects.get(user=user)
    settle_now(trade)
    expect(section).to_have_attribute("data-status", "settled", timeout=60_000)
    expect(page.locator('.step[data-step="settled"]')).to_have_attribute("data-state", "done")
    assert len(polls) >= 2
    # Polled states move the stepper but are not events: nothing is listed.
    assert page.locator("#status-events li").count() == listed_before_block
    shot(page, "status-settled-by-polling")

    # The socket is allowed again: the page returns to it and the stream's
    # resume delivers the events it missed, each exactly once.
    polls_before = len(polls)
    blocked["on"] = False
    # Polls no longer hurry the socket: the next attempt comes when its
    # back-off says (full jitter, at most 30 s after the last one).
    expect(mode).to_have_attribute("data-mode", "socket", timeout=45_000)
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "live")
    events = page.locator("#status-events li")
    expect(events.filter(has_text="Settled at")).to_have_count(1, timeout=15_000)
    expect(events.filter(has_text="Opened at")).to_have_count(1)
    seqs = [int(s) for s in events.evaluate_all("nodes => nodes.map(n => n.dataset.seq)")]
    assert seqs == sorted(set(seqs))  # each event once, in order
    # It resumed through the URL (the server replays before any live event),
    # from a seq it had handled before the block and before what it missed.
    resumed_from = int(live_routes[-1].url.rsplit("?since=", 1)[1])
    log = dict(Event.objects.filter(user=user).values_list("event", "seq"))
    assert log["trade.queued"] <= resumed_from < log["trade.settled"]
    expect(page.locator(".toast", has_text="Trade settled")).to_have_count(1)
    page.wait_for_timeout(2500)  # a poll would have happened by now
    assert len(polls) == polls_before
    shot(page, "status-back-on-socket")

    trade.refresh_from_db()
    assert trade.status == "settled"


def test_settlement_shows_a_toast_and_the_new_balance(stack, feed, worker, page_factory):
    user = funded_user("1000.00")
    page = page_factory()
    login_session(page, stack, user)
    submit_trade(page, stack, stake="100.00")
    expect(status_section(page)).to_have_attribute("data-status", "open", timeout=30_000)
    trade = Trade.objects.get(user=user)

    page.goto(f"{stack.url}/")
    available = page.locator('#balances [data-balance="available"]')
    reserved = page.locator('#balances [data-balance="reserved"]')
    expect(reserved).to_have_text("100.00 USD")
    before = Decimal(1000) - Decimal(100) - trade.fee
    expect(available).to_have_text(f"{before:,.2f} USD")
    row = page.locator(f'#open-trades tr[data-trade-id="{trade.pk}"]')
    expect(row).to_contain_text("BTC-USD")
    # The open trade's net result at the mark (after both fees), its P&L and fees beside it.
    expect(row.get_by_test_id("net-pnl")).to_have_text(re.compile(r"^[↑↓→] [+-]?\d"))
    expect(row.get_by_test_id("pnl")).to_have_text(re.compile(r"^P&L [+-]?\d[\d,]*\.\d\d · fees \d+\.\d\d$"))
    shot(page, "dashboard-open-trade")

    settle_now(trade)
    toast = page.locator(".toast", has_text="Trade settled")
    expect(toast).to_be_visible(timeout=60_000)
    trade.refresh_from_db()
    assert trade.status == "settled"
    after = Decimal(1000) - trade.fee + trade.pnl  # the stake came back with its P&L, less both fees
    expect(available).to_have_text(f"{after:,.2f} USD")
    expect(reserved).to_have_text("0.00 USD")
    # The toast leads with the net result (P&L less both fees), coloured by it.
    net = trade.pnl - trade.fee
    arrow = "↑" if net > 0 else "↓" if net < 0 else "→"
    expect(toast).to_contain_text(
        f"Net result {arrow} {signed(net)} USD (P&L {signed(trade.pnl)} · fees {trade.fee:,.2f})"
    )
    expect(toast).to_have_attribute("data-kind", "success" if net > 0 else "loss" if net < 0 else "info")
    expect(row).to_have_count(0)
    expect(page.get_by_test_id("notifications")).to_contain_text("Trade settled")
    shot(page, "dashboard-settled-toast")

    # The trade's page: its settled state and its timeline, each event once.
    page.goto(f"{stack.url}/trades/{trade.pk}/")
    expect(page.get_by_test_id("trade-status")).to_have_text("Settled")
    timeline = page.get_by_test_id("timeline")
    for words in ("Queued", "Opened at", "Settled at"):
        expect(timeline.locator("li", has_text=words)).to_have_count(1)
    expect(timeline).to_contain_text(f"Settled at {trade.exit_price:,.2f}")
    expect(page.locator('[data-field="pnl"]')).to_contain_text(f"{signed(trade.pnl)} USD")
    result = page.get_by_test_id("trade-result")
    expect(result).to_contain_text(f"Net result {arrow} {signed(net)} USD")
    expect(result).to_have_class(re.compile("up" if net > 0 else "down" if net < 0 else "flat"))
    expect(timeline.locator("li", has_text="Settled at")).to_contain_text(f"net {arrow} {signed(net)} USD")
    shot(page, "trade-detail-settled")

    # The trades list with its status filter.
    page.goto(f"{stack.url}/trades/")
    expect(page.locator(f'#trade-rows tr[data-trade-id="{trade.pk}"]')).to_contain_text("Settled")
    page.select_option("#filter-status", "open")
    expect(page.locator("#trade-rows tr.empty")).to_have_text("No trades match.")


def test_refused_trade_shows_the_reason_in_plain_words(stack, feed, page_factory, request, monkeypatch):
    user = funded_user("40.00")
    page = page_factory()
    login_session(page, stack, user)
    # More than the wallet holds: refused at once, beside the stake, nothing written.
    submit_trade(page, stack, stake="50.00")
    assert page.url == f"{stack.url}/trade/new/"
    stake_field = page.locator(".field", has=page.locator('input[name="stake"]'))
    expect(stake_field.locator(".form-error")).to_have_text(
        "Not enough available balance: the stake 50.00 and its opening fee 0.05 need 50.05 USD."
    )
    assert not Trade.objects.filter(user=user).exists()

    # A refusal when it opens: this worker allows no open trade.
    submit_trade(page, stack, stake="30.00")
    section = status_section(page)
    expect(section).to_have_attribute("data-status", "queued")
    expect(page.get_by_test_id("held")).to_have_text(" · 30.03 USD held (stake + fee) until it opens")
    expect(page.get_by_test_id("status-mode")).to_have_attribute("data-mode", "socket")
    # The worker starts once the page is live, so the refusal arrives as a
    # live event (a refusal before the page loads is rendered, not toasted).
    monkeypatch.setenv("MAX_OPEN_TRADES", "0")
    request.getfixturevalue("worker")
    expect(section).to_have_attribute("data-status", "rejected", timeout=30_000)
    expect(page.locator('.step[data-step="opening"]')).to_have_attribute("data-state", "error")
    expect(page.get_by_test_id("reason")).to_have_text("At most 0 open trades at a time.")
    expect(page.locator(".toast", has_text="Trade refused")).to_have_count(1)
    shot(page, "status-refused")
    trade = Trade.objects.get(user=user)
    assert (trade.status, trade.failure_code) == ("rejected", "max_open_trades")
    expect(page.get_by_test_id("held")).to_be_hidden()
    assert balance(user) == (D("40.00"), D("0.00"))  # the hold went back


def test_form_errors_show_beside_their_field(stack, page_factory):
    user = funded_user()
    page = page_factory()
    login_session(page, stack, user)

    # The order ticket: a stake with three decimals is refused by the quote
    # (the request's own validation) beside the stake, and no review shows.
    submit_trade(page, stack, stake="10.005", confirm=False)
    assert page.url == f"{stack.url}/trade/new/"
    stake_field = page.locator(".field", has=page.locator('input[name="stake"]'))
    expect(stake_field.locator(".quote-error")).to_be_visible()
    expect(page.locator("#trade-ticket")).to_have_attribute("data-state", "edit")
    expect(stake_field.locator(".quote-error")).to_contain_text("decimal places")
    # The client-side hints for the chosen instrument sit beside their fields too.
    expect(stake_field.locator("#stake-hint")).to_contain_text("Between 1.00 and")
    expect(page.locator("#instrument-hint")).to_contain_text("Market open")
    side_field = page.locator(".side-toggle")
    expect(side_field.locator(".form-error")).to_have_count(0)
    shot(page, "trade-form-error")
    assert not Trade.objects.filter(user=user).exists()

    # The wallet page's JSON form: the API's field error lands under the field.
    page.goto(f"{stack.url}/wallet/")
    page.fill("#deposit-amount", "1.234")
    page.click("#deposit-form button[type=submit]")
    error = page.locator("#deposit-amount-error")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(page.locator("#deposit-amount")).to_have_attribute("aria-invalid", "true")
    shot(page, "wallet-form-error")
