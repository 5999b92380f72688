"""GET /api/v1/portfolio/ and /api/v1/portfolio/equity/: exact figures on a
constructed book (tests/trading/portfolio_support.py), owner scoping, a
query count that does not grow with the trades, strict query parameters."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.trading.portfolio_support import EXPECTED, build_book, open_trade
from tests.trading.trades_support import fund, make_instrument, quote
from trading.portfolio.models import EquitySnapshot

D = Decimal
URL = "/api/v1/portfolio/"
EQUITY_URL = "/api/v1/portfolio/equity/"


@pytest.mark.django_db
def test_every_figure_to_the_cent(auth_client, user):
    build_book(user)
    response = auth_client.get(URL)
    assert response.status_code == 200
    data = response.json()
    as_of = data.pop("as_of")
    assert data == EXPECTED
    assert abs(timezone.now() - timezone.datetime.fromisoformat(as_of.replace("Z", "+00:00"))) < timedelta(
        seconds=30
    )


@pytest.mark.django_db
def test_another_users_trades_and_money_are_never_counted(auth_client, user, other_user):
    build_book(user)
    # The other user trades the same instrument; none of it may show up.
    fund(other_user, "777.00")
    inst = make_instrument("PF-USD")
    quote(inst, "100.00")
    open_trade(other_user, inst, side="buy", stake="300.00")
    quote(inst, "101.50")
    data = auth_client.get(URL).json()
    data.pop("as_of")
    assert data == EXPECTED
    other = APIClient()
    other.force_authenticate(other_user)
    theirs = other.get(URL).json()
    # 777 - 300.30 = 476.70 available; 300 reserved; qty 3 x 1.50 = 4.50 at the mark.
    assert (theirs["available"], theirs["reserved"], theirs["equity"]) == ("476.70", "300.00", "781.20")
    assert (theirs["unrealised_pnl"], theirs["fees_paid_all_time"]) == ("4.20", "0.30")
    assert theirs["open_trades"] == 1
    assert theirs["realised_pnl_all_time"] == "0.00"


@pytest.mark.django_db
def test_a_user_without_a_wallet_has_zeros(auth_client):
    data = auth_client.get(URL).json()
    assert {k: data[k] for k in ("equity", "available", "reserved", "unrealised_pnl", "fees_paid_today")} == {
        "equity": "0.00",
        "available": "0.00",
        "reserved": "0.00",
        "unrealised_pnl": "0.00",
        "fees_paid_today": "0.00",
    }
    assert data["open_trades"] == 0


@pytest.mark.django_db
def test_a_missing_mark_counts_the_trade_at_its_entry_and_says_so(auth_client, user):
    build_book(user)
    from django.core.cache import cache

    cache.clear()  # no latest price at all
    data = auth_client.get(URL).json()
    assert data["marks_stale"] is True
    # C at its entry: P&L 0, less its 2.00 opening fee.
    assert (data["unrealised_pnl"], data["equity"]) == ("-2.00", "10075.00")


@pytest.mark.django_db
def test_anonymous_token_client_is_401(api_client):
    assert api_client.get(URL).status_code == 401
    assert api_client.get(EQUITY_URL).status_code == 401


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_number_of_trades(auth_client, user):
    inst = make_instrument("PFQ-USD", fee_bps=10, price_scale=2, max_stake=D("5000.00"))
    other = make_instrument("PFQ2-USD", fee_bps=10, price_scale=2, max_stake=D("5000.00"))
    fund(user, "100000.00")
    quote(inst, "100.00")
    quote(other, "50.00")
    open_trade(user, inst, side="buy", stake="100.00")
    few = _queries(auth_client)
    for n in range(6):
        trade = open_trade(user, inst if n % 2 else other, side="sell" if n % 3 else "buy", stake="100.00")
        if n % 2:
            from trading.trades.services import trade_close

            trade_close(user=user, trade_id=trade.pk)
    many = _queries(auth_client)
    assert auth_client.get(URL).json()["open_trades"] == 4
    assert many == few
    # accounts, open trades, realised sums, fees sums; nothing per trade
    assert 4 <= many <= 5, many


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["0", "367", "abc", "-1", "1.5", " 3"])
def test_equity_days_out_of_range_is_400_naming_days(auth_client, value):
    response = auth_client.get(EQUITY_URL, {"days": value})
    assert response.status_code == 400
    assert "days" in response.json()


@pytest.mark.django_db
def test_portfolio_unknown_currency_is_400_naming_it(auth_client):
    response = auth_client.get(URL, {"currency": "EUR"})
    assert response.status_code == 400
    assert "currency" in response.json()


def _snapshot(user, day, equity):
    return EquitySnapshot.objects.create(
        user=user,
        day=day,
        currency="USD",
        equity=D(equity),
        available=D(equity),
        reserved=D("0"),
        unrealised=D("0"),
        realised_to_date=D("0"),
        fees_to_date=D("0"),
        taken_at=timezone.now(),
    )


@pytest.mark.django_db
def test_equity_series_is_the_users_last_n_days_oldest_first(auth_client, user, other_user):
    today = timezone.now().date()
    _snapshot(user, today - timedelta(days=40), "1.00")
    _snapshot(user, today - timedelta(days=2), "100.00")
    _snapshot(user, today - timedelta(days=1), "101.50")
    _snapshot(user, today, "99.99")
    _snapshot(other_user, today, "5000.00")
    data = auth_client.get(EQUITY_URL, {"days": "3"}).json()
    assert data["currency"] == "USD" and data["days"] == 3
    assert [(p["day"], p["equity"]) for p in data["points"]] == [
        (str(today - timedelta(days=2)), "100.00"),
        (str(today - timedelta(days=1)), "101.50"),
        (str(today), "99.99"),
    ]
    assert set(data["points"][0]) == {
        "day",
        "equity",
        "available",
        "reserved",
        "unrealised",
        "realised_to_date",
        "fees_to_date",
    }
    default = auth_client.get(EQUITY_URL).json()
    assert default["days"] == 30 and len(default["points"]) == 3  # the 40-day-old one is outside
    assert len(auth_client.get(EQUITY_URL, {"days": "366"}).json()["points"]) == 4


@pytest.mark.django_db
def test_another_users_series_is_empty_for_them(user, other_user):
    _snapshot(user, timezone.now().date(), "10.00")
    client = APIClient()
    client.force_authenticate(UserFactory())
    assert client.get(EQUITY_URL).json()["points"] == []


@pytest.mark.django_db(transaction=True)
def test_the_figures_are_read_in_one_snapshot(user):
    """Balances, open trades, realised P&L and fees are four reads; a
    settlement committing between two of them made equity off by its
    closing fee (seen once in 403 polls). They run in one REPEATABLE READ
    transaction: the first statement says so, and nothing is written."""
    from trading.portfolio.selectors import portfolio_of

    fund(user, "100.00")
    with CaptureQueriesContext(connection) as ctx:
        portfolio_of(user_id=user.pk, currency="USD")
    statements = [q["sql"] for q in ctx.captured_queries]
    assert statements[:2] == ["BEGIN", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"]
    assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for s in statements)
