"""The trades list's filters, sort orders and count (API), and the CSV export
of the same query (/trades/export.csv): exact rows, owner-filtered."""

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client

from tests.factories import PASSWORD
from tests.trading.portfolio_support import build_book, open_trade
from tests.trading.trades_support import fund, make_instrument, quote
from trading.trades.exports import CSV_HEADER

D = Decimal
URL = "/api/v1/trades/"
CSV_URL = "/trades/export.csv"


@pytest.fixture
def book(user):
    return build_book(user)


@pytest.fixture
def theirs(other_user):
    inst = make_instrument("OTH-USD", fee_bps=10, price_scale=2, max_stake=D("5000.00"))
    fund(other_user, "1000.00")
    quote(inst, "10.00")
    return open_trade(other_user, inst, side="sell", stake="100.00")


def ids(response):
    assert response.status_code == 200, response.content
    return [t["id"] for t in response.json()["results"]]


@pytest.mark.django_db
def test_side_status_and_instrument_filters_and_the_count(auth_client, book, theirs):
    a, b, c = book["a"].pk, book["b"].pk, book["c"].pk
    assert ids(auth_client.get(URL, {"side": "buy"})) == [c, a]
    assert ids(auth_client.get(URL, {"side": "sell"})) == [b]
    assert ids(auth_client.get(URL, {"side": "buy", "status": "settled"})) == [a]
    assert ids(auth_client.get(URL, {"instrument": "OTH-USD"})) == []  # another user's trade
    page = auth_client.get(URL, {"page_size": 1}).json()
    assert page["count"] == 3 and len(page["results"]) == 1 and page["next"]
    assert auth_client.get(URL, {"status": "open"}).json()["count"] == 1


@pytest.mark.django_db
def test_sort_orders_page_through_every_trade_once(auth_client, book):
    a, b, c = book["a"].pk, book["b"].pk, book["c"].pk
    assert ids(auth_client.get(URL, {"ordering": "created_at"})) == [a, b, c]
    assert ids(auth_client.get(URL, {"ordering": "-created_at"})) == [c, b, a]
    assert ids(auth_client.get(URL, {"ordering": "stake"})) == [b, a, c]
    assert ids(auth_client.get(URL, {"ordering": "-stake"})) == [c, a, b]
    seen, url, params = [], URL, {"ordering": "stake", "page_size": 1}
    while url:
        data = auth_client.get(url, params).json()
        seen += [t["id"] for t in data["results"]]
        url, params = data["next"], None
    assert seen == [b, a, c]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "value"), [("side", "long"), ("ordering", "pnl"), ("created_after", "x")])
def test_bad_filter_values_are_400_naming_them(auth_client, name, value):
    response = auth_client.get(URL, {name: value})
    assert response.status_code == 400
    assert name in response.json()


@pytest.fixture
def browser(user):
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def rows_of(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="trades-')
    return list(csv.reader(io.StringIO(response.content.decode())))


def _iso(instant):
    return instant.isoformat().replace("+00:00", "Z")


@pytest.mark.django_db
def test_csv_has_exact_rows_of_the_filtered_sorted_list(browser, book, theirs):
    a, b = book["a"], book["b"]
    rows = rows_of(browser.get(CSV_URL, {"status": "settled", "ordering": "created_at"}))
    assert rows[0] == CSV_HEADER
    assert rows[1:] == [
        [str(a.pk), _iso(a.created_at), "PF-USD", "buy", "settled", "USD", "1000.00", "100.00000000",
         "110.00000000", _iso(a.opened_at), _iso(a.closed_at), "user", "2.00", "100.00", "98.00"],
        [str(b.pk), _iso(b.created_at), "PF-USD", "sell", "settled", "USD", "500.00", "100.00000000",
         "104.00000000", _iso(b.opened_at), _iso(b.closed_at), "user", "1.00", "-20.00", "-21.00"],
    ]  # fmt: skip


@pytest.mark.django_db
def test_csv_is_the_users_own_whatever_the_query_says(browser, book, theirs, other_user):
    rows = rows_of(browser.get(CSV_URL, {"user": str(other_user.pk)}))
    assert len(rows) == 1  # the header: a `user` filter can only narrow the caller's own rows
    everything = rows_of(browser.get(CSV_URL))
    assert sorted(int(r[0]) for r in everything[1:]) == sorted([book["a"].pk, book["b"].pk, book["c"].pk])
    open_row = next(r for r in everything[1:] if int(r[0]) == book["c"].pk)
    assert open_row[8:] == ["", _iso(book["c"].opened_at), "", "", "2.00", "", ""]


@pytest.mark.django_db
def test_csv_bad_filter_is_400_and_anonymous_is_sent_to_log_in(browser, book):
    response = browser.get(CSV_URL, {"side": "long"})
    assert response.status_code == 400
    assert "side" in response.json()
    anonymous = Client().get(CSV_URL)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


@pytest.mark.django_db
def test_csv_is_bounded(browser, book, monkeypatch):
    from trading.trades import exports

    monkeypatch.setattr(exports.trades_csv, "__kwdefaults__", {"limit": 2})
    response = browser.get(CSV_URL, {"ordering": "created_at"})
    rows = rows_of(response)
    assert [int(r[0]) for r in rows[1:]] == [book["a"].pk, book["b"].pk]
    assert response["X-Export-Truncated"] == "1"


@pytest.mark.django_db
def test_csv_exports_are_throttled_per_user(browser, user, settings):
    settings.TRADE_EXPORT_RATE = "2/min"
    assert browser.get(CSV_URL).status_code == 200
    assert browser.get(CSV_URL).status_code == 200
    refused = browser.get(CSV_URL)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tz", "day", "found"),
    [
        # Created 2026-12-07 03:30 UTC: Dec 7 in UTC, Dec 6 in Los Angeles (19:30), Dec 7 in Tokyo.
        ("UTC", "2026-12-07", True),
        ("UTC", "2026-12-06", False),
        ("America/Los_Angeles", "2026-12-06", True),
        ("America/Los_Angeles", "2026-12-07", False),
        ("Asia/Tokyo", "2026-12-07", True),
        ("Pacific/Kiritimati", "2026-12-07", True),  # +14:00: 17:30 on Dec 7
    ],
)
def test_the_date_filters_name_days_of_the_callers_zone(auth_client, user, tz, day, found):
    """A trader's "Dec 6 to Dec 6" is their Dec 6 (the page sends the
    browser's zone); without `tz` the days are UTC's."""
    from datetime import UTC, datetime

    from trading.trades.models import Trade

    inst = make_instrument("TZ-USD", fee_bps=10, price_scale=2)
    fund(user, "100.00")
    quote(inst, "100.00")
    trade = open_trade(user, inst, side="buy", stake="10.00")
    Trade.objects.filter(pk=trade.pk).update(created_at=datetime(2026, 12, 7, 3, 30, tzinfo=UTC))
    query = {"created_after": day, "created_before": day, "tz": tz}
    listed = auth_client.get("/api/v1/trades/", query).json()
    assert (listed["count"] == 1) is found
    exported = auth_client.get("/api/v1/trades/", {**query, "tz": "Not/AZone"})
    assert exported.status_code == 400 and "tz" in exported.json()


@pytest.mark.django_db
def test_the_ends_of_the_calendar_in_any_zone_are_no_error(auth_client):
    for day in ("0001-01-01", "9999-12-31"):
        response = auth_client.get(
            "/api/v1/trades/", {"created_after": day, "created_before": day, "tz": "Pacific/Kiritimati"}
        )
        assert response.status_code == 200, response.content
