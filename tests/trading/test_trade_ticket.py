"""The HTML order ticket (/trade/new/): amounts with grouping separators,
messages a trader reads, levels as a percentage, and a closed market never
preselected. The API stays strict (a comma there is a 400)."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client

from market import calendars
from market.models import Instrument
from tests.factories import PASSWORD
from tests.trading.trades_support import balance, fund, make_instrument, quote
from trading.trades.forms import TradeForm
from trading.trades.models import Trade

D = Decimal
pytestmark = pytest.mark.django_db
SATURDAY = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


@pytest.fixture
def inst():
    return make_instrument("WEB-USD", fee_bps=10, price_scale=2, max_stake=D("5000.00"))


@pytest.fixture
def browser(user):
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def ticket(**over):
    data = {"instrument": "WEB-USD", "side": "buy", "stake": "100.00", "duration": "60"}
    data["form_token"] = "abc123"
    return TradeForm(data={**data, **over})


@pytest.mark.parametrize(
    ("typed", "stake"),
    [
        ("1,000", D("1000.00")),
        ("1,000.50", D("1000.50")),
        (" 12,345.6 ", D("12345.60")),
        ("999", D("999.00")),
    ],
)
def test_grouped_stakes_are_read_as_the_number_they_show(inst, typed, stake):
    form = ticket(stake=typed)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["stake"] == stake


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1,00", "Write the stake with commas only between groups of three digits, e.g. 1,000.50."),
        ("10,00.5", "Write the stake with commas only between groups of three digits, e.g. 1,000.50."),
        ("ten", "Enter the stake as a number, e.g. 1,000.50."),
        ("-5", "Enter the stake as a number, e.g. 1,000.50."),
        ("1,000.505", "At most 2 decimal places for USD."),
    ],
)
def test_a_stake_the_form_cannot_read_says_why_beside_the_stake(inst, typed, message):
    form = ticket(stake=typed)
    assert not form.is_valid()
    assert form.errors["stake"] == [message]


def test_levels_take_grouping_too(inst):
    form = ticket(take_profit="1,200.00", stop_loss="1,000")
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["take_profit"], form.cleaned_data["stop_loss"]) == ("1200.00", "1000")


def test_the_page_places_a_grouped_stake_and_holds_exactly_it(browser, user, inst):
    fund(user, "5000.00")
    page = browser.get("/trade/new/").content.decode()
    token = page.split('name="form_token" value="')[1].split('"')[0]
    response = browser.post(
        "/trade/new/",
        {"instrument": "WEB-USD", "side": "buy", "stake": "1,000.00", "duration": "60", "form_token": token},
    )
    assert response.status_code == 302
    trade = Trade.objects.get()
    assert (trade.stake, trade.held) == (D("1000.00"), D("1001.00"))
    assert balance(user) == (D("3999.00"), D("1001.00"))


def test_the_api_stays_strict_about_commas(auth_client, user, inst):
    fund(user, "5000.00")
    response = auth_client.post(
        "/api/v1/trades/",
        data=json.dumps({"instrument": "WEB-USD", "side": "buy", "stake": "1,000.00"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="comma",
    )
    assert response.status_code == 400 and "stake" in response.json()
    assert Trade.objects.count() == 0


@pytest.mark.parametrize(
    ("side", "take_profit", "stop_loss"),
    [("buy", D("102.50"), D("99.00")), ("sell", D("97.50"), D("101.00"))],
)
def test_levels_as_a_percentage_become_prices_on_the_sides_right_side(
    browser, user, inst, side, take_profit, stop_loss
):
    fund(user, "1000.00")
    quote(inst, "100.00")
    page = browser.get("/trade/new/").content.decode()
    token = page.split('name="form_token" value="')[1].split('"')[0]
    response = browser.post(
        "/trade/new/",
        {
            "instrument": "WEB-USD",
            "side": side,
            "stake": "100",
            "duration": "60",
            "take_profit": "2.5",
            "take_profit_unit": "percent",
            "stop_loss": "1",
            "stop_loss_unit": "percent",
            "form_token": token,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    trade = Trade.objects.get()
    assert (trade.take_profit, trade.stop_loss) == (take_profit, stop_loss)


def test_a_percentage_without_a_price_is_refused_beside_the_level(browser, user, inst):
    fund(user, "1000.00")
    page = browser.get("/trade/new/").content.decode()
    token = page.split('name="form_token" value="')[1].split('"')[0]
    response = browser.post(
        "/trade/new/",
        {
            "instrument": "WEB-USD",
            "side": "buy",
            "stake": "100",
            "duration": "60",
            "stop_loss": "150",
            "stop_loss_unit": "percent",
            "form_token": token,
        },
    )
    assert response.status_code == 422
    assert "A level below the price must be less than 100% away." in response.content.decode()
    assert Trade.objects.count() == 0


def test_a_closed_market_is_never_preselected_and_says_when_it_opens(db):
    # Seeded: AAPL and GOOG (xnys), BTC-USD and ETH-USD (always), EUR-USD (fx).
    form = TradeForm(now=SATURDAY)
    assert form.initial["instrument"] == "BTC-USD"  # AAPL sorts first, and is closed
    labels = dict(form.fields["instrument"].choices)
    assert labels["AAPL"].endswith("— Closed · opens Mon 09:30 EST")
    assert labels["EUR-USD"].endswith("— Closed · opens Sun 17:00 EST")
    assert "Closed" not in labels["BTC-USD"]
    assert form.all_closed is False


def test_when_every_market_is_closed_none_is_preselected(db):
    Instrument.objects.filter(calendar="always").update(active=False)
    form = TradeForm(now=SATURDAY)
    assert form.initial["instrument"] == ""
    assert form.all_closed is True
    assert form.fields["instrument"].choices[0] == ("", "Markets are closed: choose an instrument")


def test_the_page_preselects_an_open_market_now(browser):
    html = browser.get("/trade/new/").content.decode()
    selected = html.split(" selected>")[0].rsplit('<option value="', 1)[1].split('"')[0]
    instrument = Instrument.objects.get(symbol=selected)
    assert calendars.market_is_open(instrument, datetime.now(UTC))
    assert 'data-quote-url="/api/v1/trades/quote/"' in html
