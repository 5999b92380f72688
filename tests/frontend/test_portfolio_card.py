"""The dashboard renders the portfolio card with the server's figures; the
trades page offers the new filters, the sort and the CSV link."""

from decimal import Decimal

import pytest
from django.test import Client

from tests.factories import PASSWORD
from tests.trading.portfolio_support import build_book


@pytest.fixture
def browser(user):
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _text(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[html.index(">", start) + 1 : html.index("</dd>", start)].strip()


@pytest.mark.django_db
def test_dashboard_renders_the_portfolio_card(browser, user):
    build_book(user)
    html = browser.get("/").content.decode()
    assert _text(html, "portfolio-equity") == "10,105.00"
    assert _text(html, "portfolio-available") == "8,075.00"
    assert _text(html, "portfolio-reserved") == "2,000.00"
    assert _text(html, "portfolio-unrealised") == "↑ +28.00"
    assert _text(html, "portfolio-realised-today") == "↓ -21.00"
    assert _text(html, "portfolio-fees-today") == "3.00"
    assert _text(html, "portfolio-open-trades") == "1"
    assert 'data-open-pnl="30.00"' in html and 'data-equity="10105.00"' in html
    assert 'id="equity-chart"' in html


@pytest.mark.django_db
def test_dashboard_card_of_a_user_without_money(browser):
    html = browser.get("/").content.decode()
    assert _text(html, "portfolio-equity") == "0.00"
    assert _text(html, "portfolio-unrealised") == "→ 0.00"


@pytest.mark.django_db
def test_trades_page_has_side_sort_range_and_csv_link(browser):
    html = browser.get("/trades/").content.decode()
    for needle in (
        'name="side"',
        'name="ordering"',
        'name="created_after"',
        'name="created_before"',
        'href="/trades/export.csv"',
        'data-testid="trades-count"',
        '<th scope="col">Closed</th>',
    ):
        assert needle in html, needle


@pytest.mark.django_db
def test_amounts_on_the_trade_pages_are_grouped(browser, user):
    """ "Stake 1,234.56 USD" as everywhere else, not the stored "1234.56"."""
    from tests.trading.portfolio_support import open_trade
    from tests.trading.trades_support import fund, make_instrument, quote

    inst = make_instrument("GRP-USD", fee_bps=10, price_scale=2, max_stake=Decimal("5000.00"))
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = open_trade(user, inst, side="buy", stake="1234.56")
    page = browser.get(f"/trades/{trade.pk}/").content.decode()
    assert "1,234.56 USD" in page and "1234.56 USD" not in page
    assert "1.23 USD" in page  # its fee, at two places
