"""The quote of a trade request (`POST /api/v1/trades/quote/`): the same
validation as the request, the exact hold the request then makes, nothing
written, the caller's own wallet only, a closed market flagged."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from realtime.models import Event
from tests.trading.test_trades_api import BAD_INPUTS, REFUSED_INPUTS, body, post
from tests.trading.trades_support import balance, fund, make_instrument, quote
from trading.trades.models import Trade
from trading.trades.quotes import trade_quote
from wallets.models import Entry

D = Decimal
QUOTE_URL = "/api/v1/trades/quote/"
SATURDAY = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


@pytest.fixture
def inst(db):
    # The instrument of tests/trading/test_trades_api.py, whose inputs these reuse.
    return make_instrument("API-USD", fee_bps=10, price_scale=2, max_stake=D("5000.00"))


def quote_of(client, data):
    return client.post(QUOTE_URL, data=json.dumps(data), content_type="application/json")


@pytest.mark.django_db
def test_the_quote_is_exactly_what_the_request_then_holds(auth_client, user, inst):
    fund(user, "5000.00")
    quote(inst, "65000.00")
    entries_before = Entry.objects.count()
    asked = body(stake="1000.00", take_profit="66300.00", stop_loss="64350.00", duration=3600)
    response = quote_of(auth_client, asked)
    assert response.status_code == 200, response.content
    q = response.json()
    # docs/trading.md's worked example, to the cent.
    assert q["price"] == "65000.00000000"
    assert q["quantity"] == "0.01538461"
    assert (q["fee"], q["closing_fee"], q["total"], q["max_loss"]) == ("1.00", "1.00", "1001.00", "1001.00")
    assert (q["available"], q["available_after"], q["funds_sufficient"]) == ("5000.00", "3999.00", True)
    assert q["market_open"] is True and q["next_open"] is None
    assert q["duration"] == 3600
    assert q["take_profit"] == {
        "price": "66300.00000000",
        "pnl": "20.00",
        "closing_fee": "1.00",
        "net_pnl": "18.00",
    }
    # 0.01538461 x -650 = -9.9999965 -> -10.00; net -10.00 - 1.00 - 1.00.
    assert q["stop_loss"]["pnl"] == "-10.00" and q["stop_loss"]["net_pnl"] == "-12.00"
    # Nothing written by the quote.
    assert Trade.objects.count() == 0
    assert Entry.objects.count() == entries_before
    assert not Event.objects.filter(event__startswith="trade").exists()

    placed = post(auth_client, asked, key="after-quote")
    assert placed.status_code == 202
    available, reserved = balance(user)
    assert reserved == D(q["total"])
    assert available == D(q["available_after"])
    assert placed.json()["held"] == q["total"] and placed.json()["fee"] == q["fee"]


@pytest.mark.django_db
def test_a_stake_the_wallet_cannot_pay_is_quoted_as_short_not_refused(auth_client, user, inst):
    fund(user, "100.09")
    quote(inst, "100.00")
    q = quote_of(auth_client, body()).json()
    assert (q["total"], q["available_after"], q["funds_sufficient"]) == ("100.10", "-0.01", False)
    # The request itself is then the 422 it always was.
    assert post(auth_client, body(), key="short").status_code == 422


@pytest.mark.django_db
@pytest.mark.parametrize(("over", "field"), BAD_INPUTS)
def test_bad_input_is_the_requests_400(auth_client, inst, over, field):
    quote(inst, "100.00")
    quoted = quote_of(auth_client, body(**over))
    requested = post(auth_client, body(**over), key="bad")
    assert quoted.status_code == requested.status_code == 400
    assert quoted.json() == requested.json()
    assert field in quoted.json()


@pytest.mark.django_db
@pytest.mark.parametrize(("over", "field"), REFUSED_INPUTS)
def test_refused_input_is_the_requests_422(auth_client, user, inst, over, field):
    fund(user, "10000.00")
    quote(inst, "100.00")
    quoted = quote_of(auth_client, body(**over))
    requested = post(auth_client, body(**over), key="refused")
    assert quoted.status_code == requested.status_code == 422
    assert quoted.json() == requested.json()
    assert field in quoted.json()
    assert Trade.objects.count() == 0


@pytest.mark.django_db
def test_an_unknown_field_is_400_like_the_request(auth_client, inst):
    quoted = quote_of(auth_client, body(take_proft="120.00"))
    assert quoted.status_code == 400
    assert quoted.json() == post(auth_client, body(take_proft="120.00"), key="x").json()


@pytest.mark.django_db
def test_only_the_callers_own_wallet_is_quoted(auth_client, user, other_user, inst):
    fund(other_user, "9000.00")
    fund(user, "200.00")
    quote(inst, "100.00")
    q = quote_of(auth_client, body()).json()
    assert (q["available"], q["available_after"]) == ("200.00", "99.90")


@pytest.mark.django_db
def test_login_is_required(api_client, inst):
    assert quote_of(api_client, body()).status_code in (401, 403)


@pytest.mark.django_db
def test_no_fresh_price_quotes_the_hold_without_a_quantity(auth_client, user, inst):
    fund(user, "500.00")
    q = quote_of(auth_client, body()).json()
    assert (q["price"], q["quantity"], q["total"]) == (None, None, "100.10")


@pytest.mark.django_db
def test_a_closed_market_is_flagged_with_its_next_open(user):
    stock = make_instrument("QSTK", asset_class="equity", calendar="xnys", max_stake=D("5000.00"))
    fund(user, "1000.00")
    quote(stock, "100.00", at=SATURDAY)
    q = trade_quote(user=user, instrument="QSTK", side="buy", stake=D("100.00"), now=SATURDAY)
    assert q.market_open is False
    # Monday 30 November 2026, 09:30 New York.
    assert q.next_open == datetime(2026, 11, 30, 14, 30, tzinfo=UTC)
    assert q.price == D("100.00") and q.total == D("100.10")


@pytest.mark.django_db
def test_the_api_flags_a_closed_market(auth_client, user, monkeypatch):
    make_instrument("QSTK", asset_class="equity", calendar="xnys", max_stake=D("5000.00"))
    fund(user, "1000.00")
    monkeypatch.setattr(timezone, "now", lambda: SATURDAY)
    q = quote_of(auth_client, body(instrument="QSTK")).json()
    assert q["market_open"] is False
    assert q["next_open"] == "2026-11-30T14:30:00Z"
