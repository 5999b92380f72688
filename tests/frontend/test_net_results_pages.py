"""The pages lead with a trade's net result (P&L less both fees), coloured
by it, the P&L before fees and the fees beside it, as the server renders
them (the scripts keep them current: tests/e2e/test_net_results.py); an
open trade past its expiry offers no "Close now"."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.trading.test_net_results import settled_at
from tests.trading.trades_support import fund, make_instrument, quote
from trading.trades.models import Trade
from trading.trades.services import trade_open, trade_request

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def inst():
    return make_instrument("NET-USD", fee_bps=10, price_scale=2)


def test_the_trade_page_leads_with_the_net_result_coloured_by_it(user, inst, client):
    trade = settled_at(user, inst, "100.03")
    client.force_login(user)
    html = client.get(f"/trades/{trade.pk}/").content.decode()
    assert 'class="result down" id="trade-result"' in html
    assert '<span class="result-net" data-part="net">↓ -0.17 USD</span>' in html
    assert "P&amp;L +0.03 · fees 0.20" in html
    assert html.index("Net result") < html.index("P&amp;L before fees") < html.index("Fees")
    assert '<dd data-field="pnl">+0.03 USD</dd>' in html


def test_a_winning_trade_page_is_green_and_an_open_one_has_no_result_yet(user, inst, client):
    won = settled_at(user, inst, "110.00", key="w")  # +10.00 before fees, +9.80 after
    client.force_login(user)
    html = client.get(f"/trades/{won.pk}/").content.decode()
    assert 'class="result up" id="trade-result"' in html and "↑ +9.80 USD" in html
    quote(inst, "100.00")
    opened = trade_open(
        trade_id=trade_request(
            user=user, instrument=inst.symbol, side="buy", stake=D("10.00"), idempotency_key="o"
        ).trade.pk
    )
    html = client.get(f"/trades/{opened.pk}/").content.decode()
    assert 'id="trade-result" data-testid="trade-result" hidden' in html


def test_an_expired_open_trade_page_offers_no_close(user, inst, client):
    fund(user, "1000.00")
    quote(inst, "100.00")
    trade = trade_open(
        trade_id=trade_request(
            user=user, instrument=inst.symbol, side="buy", stake=D("10.00"), idempotency_key="e"
        ).trade.pk
    )
    client.force_login(user)
    assert (
        '<button type="button" class="danger" id="trade-close">'
        in client.get(f"/trades/{trade.pk}/").content.decode()
    )
    expires = timezone.now().replace(microsecond=0) - timedelta(seconds=2)
    Trade.objects.filter(pk=trade.pk).update(expires_at=expires)
    html = client.get(f"/trades/{trade.pk}/").content.decode()
    assert '<button type="button" class="danger" id="trade-close" hidden>' in html
    # The instant as ISO for the browser to write in local time, UTC without scripts.
    assert (
        f'This trade expired at <time datetime="{expires.isoformat()}" data-format="clock">'
        f"{expires:%H:%M:%S} UTC</time> and is being settled at the expiry price."
    ) in html


def test_the_status_page_shows_the_net_result_first(user, inst, client):
    trade = settled_at(user, inst, "100.03")
    client.force_login(user)
    session = client.session
    session["tracked_trade"] = {"trade_id": trade.pk, "task_id": trade.task_id}
    session.save()
    html = client.get("/trade-status/").content.decode()
    assert '<dd class="down" data-testid="net-result">↓ -0.17 USD</dd>' in html
    assert html.index("Net result") < html.index("P&amp;L before fees") < html.index("Fees")


def test_the_trades_list_has_net_pnl_and_fees_columns(user, client):
    client.force_login(user)
    html = client.get("/trades/").content.decode()
    # The headline right after the trade (on a phone the rest scrolls), the breakdown after the prices.
    headers = ["Trade", "Net result", "Status", "Exit", "P&amp;L before fees", "Fees", "Created"]
    positions = [html.index(f">{h}</th>") for h in headers]
    assert positions == sorted(positions)
