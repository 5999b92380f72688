"""Market data API: instruments, bars, calendar and clock; login required,
404 for unknown symbols, 400 naming the field for bad queries."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from market import calendars
from market.feed.rollup import bars_rollup
from market.models import Bar, Instrument
from market.prices import price_record
from tests.factories import InstrumentFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/instruments/",
        "/api/v1/instruments/BTC-USD/",
        "/api/v1/instruments/BTC-USD/bars/",
        "/api/v1/instruments/BTC-USD/calendar/",
        "/api/v1/clock/",
    ],
)
def test_login_required(api_client, url):
    assert api_client.get(url).status_code in (401, 403)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_read_only(auth_client, method):
    response = getattr(auth_client, method)("/api/v1/instruments/BTC-USD/", {}, format="json")
    assert response.status_code == 405
    assert Instrument.objects.filter(symbol="BTC-USD", active=True).exists()


class TestInstruments:
    def test_list_shows_the_seeded_instruments_with_quotes(self, auth_client):
        price_record(prices={"BTC-USD": (Decimal("65000.10"), timezone.now())})
        response = auth_client.get("/api/v1/instruments/")
        assert response.status_code == 200
        by_symbol = {row["symbol"]: row for row in response.json()}
        assert {"BTC-USD", "ETH-USD", "EUR-USD", "GOOG", "AAPL"} <= set(by_symbol)
        btc = by_symbol["BTC-USD"]
        assert (btc["calendar"], btc["price_scale"], btc["quantity_scale"], btc["quote_currency"]) == (
            "always",
            2,
            8,
            "USD",
        )
        assert btc["quote"]["price"] == "65000.10" and btc["quote"]["stale"] is False
        assert by_symbol["GOOG"]["quote"] == {"price": None, "at": None, "age_seconds": None, "stale": True}
        assert by_symbol["EUR-USD"]["calendar"] == "fx" and by_symbol["AAPL"]["calendar"] == "xnys"

    def test_inactive_instruments_are_hidden_and_404(self, auth_client):
        InstrumentFactory(symbol="OFF-USD", active=False)
        assert "OFF-USD" not in {row["symbol"] for row in auth_client.get("/api/v1/instruments/").json()}
        assert auth_client.get("/api/v1/instruments/OFF-USD/").status_code == 404

    def test_detail_has_price_age_staleness_and_open_state(self, auth_client):
        at = timezone.now() - timedelta(seconds=3)
        price_record(prices={"BTC-USD": (Decimal("65000.10"), at)})
        body = auth_client.get("/api/v1/instruments/BTC-USD/").json()
        assert body["quote"]["price"] == "65000.10"
        assert Decimal(body["quote"]["age_seconds"]) >= Decimal(3)
        assert body["quote"]["stale"] is False
        assert body["clock"] == {
            "symbol": "BTC-USD",
            "is_open": True,
            "next_open": None,
            "next_close": None,
            "zone": "UTC",
        }

    def test_stale_price_is_reported_stale(self, auth_client, settings):
        settings.PRICE_STALE_AFTER = 30
        price_record(prices={"BTC-USD": (Decimal("1.00"), timezone.now() - timedelta(seconds=31))})
        assert auth_client.get("/api/v1/instruments/BTC-USD/").json()["quote"]["stale"] is True

    @pytest.mark.parametrize(
        "url",
        [
            "/api/v1/instruments/NOPE/",
            "/api/v1/instruments/NOPE/bars/",
            "/api/v1/instruments/NOPE/calendar/",
            "/api/v1/instruments/btc-usd/",
        ],
    )
    def test_unknown_symbol_is_404(self, auth_client, url):
        response = auth_client.get(url)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


class TestBars:
    def test_1h_bars_over_the_api(self, auth_client):
        instrument = Instrument.objects.get(symbol="BTC-USD")
        Bar.objects.bulk_create(
            [
                Bar(
                    instrument=instrument,
                    start=T0,
                    open="1.00",
                    high="5.00",
                    low="1.00",
                    close="2.00",
                    volume=1,
                ),
                Bar(
                    instrument=instrument,
                    start=T0 + timedelta(minutes=1),
                    open="2.00",
                    high="3.00",
                    low="0.50",
                    close="2.50",
                    volume="0.5",
                ),
            ]
        )
        bars_rollup(instrument_id=instrument.pk, start=T0, end=T0 + timedelta(minutes=2))
        response = auth_client.get(
            "/api/v1/instruments/BTC-USD/bars/",
            {"interval": "1h", "start": "2026-11-30T15:00:00Z", "end": "2026-11-30T16:00:00Z"},
        )
        assert response.status_code == 200
        assert response.json() == {
            "symbol": "BTC-USD",
            "interval": "1h",
            "start": "2026-11-30T15:00:00Z",
            "end": "2026-11-30T16:00:00Z",
            "bars": [
                {
                    "start": "2026-11-30T15:00:00Z",
                    "open": "1.00",
                    "high": "5.00",
                    "low": "0.50",
                    "close": "2.50",
                    "volume": "1.50000000",
                }
            ],
        }

    def test_prices_at_the_instrument_scale_and_zero_volume_in_plain_digits(self, auth_client):
        instrument = Instrument.objects.get(symbol="EUR-USD")
        Bar.objects.create(
            instrument=instrument,
            start=T0,
            open="1.08",
            high="1.08512",
            low="1.07",
            close="1.0800001",
            volume=0,
        )
        response = auth_client.get(
            "/api/v1/instruments/EUR-USD/bars/",
            {"start": "2026-11-30T15:00:00Z", "end": "2026-11-30T15:01:00Z"},
        )
        assert response.json()["bars"] == [
            {
                "start": "2026-11-30T15:00:00Z",
                "open": "1.08000",
                "high": "1.08512",
                "low": "1.07000",
                "close": "1.08000",
                "volume": "0.00000000",
            }
        ]

    def test_defaults_to_the_last_500_minutes(self, auth_client):
        body = auth_client.get("/api/v1/instruments/BTC-USD/bars/").json()
        start = datetime.fromisoformat(body["start"])
        end = datetime.fromisoformat(body["end"])
        assert (body["interval"], end - start, body["bars"]) == ("1m", timedelta(minutes=500), [])

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"interval": "2h"}, "interval"),
            ({"interval": "1H"}, "interval"),
            ({"start": "yesterday"}, "start"),
            ({"end": "2026-13-01T00:00:00Z"}, "end"),
            ({"end": "2026-11-30T15:00:00"}, "end"),  # RFC 3339 needs an offset
            ({"end": "2026-11-30 15:00:00Z"}, "end"),
            ({"end": "2026-11-30T15:00:00+24:00"}, "end"),
        ],
    )
    def test_bad_queries_are_400_naming_the_field(self, auth_client, query, field):
        response = auth_client.get("/api/v1/instruments/BTC-USD/bars/", query)
        assert response.status_code == 400
        assert field in response.json()

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"start": "2026-11-30T16:00:00Z", "end": "2026-11-30T15:00:00Z"}, "end"),
            ({"start": "2026-11-30T15:00:00Z", "end": "2026-11-30T15:00:00Z"}, "end"),
            ({"interval": "1m", "start": "2026-01-01T00:00:00Z", "end": "2026-11-30T00:00:00Z"}, "start"),
        ],
    )
    def test_refused_ranges_are_422_naming_the_field(self, auth_client, query, field):
        response = auth_client.get("/api/v1/instruments/BTC-USD/bars/", query)
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_range" and field in response.json()

    @pytest.mark.parametrize(
        "query",
        [
            {"end": "0001-01-01T00:00:00+18:00"},  # before the first instant Python holds, in UTC
            {"start": "0001-01-01T00:00:00+18:00", "end": "0001-01-01T12:00:00Z"},
            {"end": "9999-12-31T23:59:59-18:00"},  # after the last
            {"start": "2026-11-30T15:00:00+18:36"},  # an offset PostgreSQL does not take
        ],
    )
    def test_extreme_instants_are_no_server_error(self, auth_client, query):
        response = auth_client.get("/api/v1/instruments/BTC-USD/bars/", query)
        assert response.status_code in (200, 400, 422), response.content


class TestCalendarAndClock:
    def test_goog_calendar_shows_the_thanksgiving_week(self, auth_client):
        response = auth_client.get(
            "/api/v1/instruments/GOOG/calendar/", {"start": "2026-11-25", "end": "2026-11-30"}
        )
        assert response.status_code == 200
        assert response.json() == [
            {"date": "2026-11-25", "open": "2026-11-25T14:30:00Z", "close": "2026-11-25T21:00:00Z"},
            {"date": "2026-11-27", "open": "2026-11-27T14:30:00Z", "close": "2026-11-27T18:00:00Z"},
            {"date": "2026-11-30", "open": "2026-11-30T14:30:00Z", "close": "2026-11-30T21:00:00Z"},
        ]

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"start": "2026-11-30", "end": "2026-11-01"}, "end"),
            ({"start": "2026-01-01", "end": "2027-06-01"}, "end"),
            ({"start": "not-a-date"}, "start"),
        ],
    )
    def test_bad_calendar_queries_are_400_or_422(self, auth_client, query, field):
        response = auth_client.get("/api/v1/instruments/GOOG/calendar/", query)
        # A malformed date is a 400; well-formed dates whose range is refused a 422.
        assert response.status_code == (400 if field == "start" else 422)
        assert field in response.json()

    @pytest.mark.parametrize("symbol", ["GOOG", "EUR-USD", "BTC-USD"])
    @pytest.mark.parametrize("query", [{"start": "9999-12-31"}, {"start": "0001-01-01", "end": "0001-01-01"}])
    def test_calendar_at_the_ends_of_time_is_no_server_error(self, auth_client, symbol, query):
        response = auth_client.get(f"/api/v1/instruments/{symbol}/calendar/", query)
        assert response.status_code in (200, 422), response.content

    def test_calendar_outside_the_exchange_data_is_422(self, auth_client):
        response = auth_client.get(
            "/api/v1/instruments/GOOG/calendar/", {"start": "1990-01-01", "end": "1990-01-31"}
        )
        assert response.status_code == 422
        assert response.json()["code"] == "calendar_out_of_range"

    def test_clock_agrees_with_the_calendars(self, auth_client):
        body = auth_client.get("/api/v1/clock/").json()
        at = datetime.fromisoformat(body["timestamp"])
        rows = {row["symbol"]: row for row in body["instruments"]}
        assert {"BTC-USD", "ETH-USD", "EUR-USD", "GOOG", "AAPL"} <= set(rows)
        for instrument in Instrument.objects.filter(symbol__in=rows):
            expected_open = calendars.next_open(instrument, at)
            expected_close = calendars.next_close(instrument, at)
            assert rows[instrument.symbol] == {
                "symbol": instrument.symbol,
                "is_open": calendars.market_is_open(instrument, at),
                "next_open": None
                if expected_open is None
                else expected_open.isoformat().replace("+00:00", "Z"),
                "next_close": None
                if expected_close is None
                else expected_close.isoformat().replace("+00:00", "Z"),
                # The zone its hours are stated (and shown) in.
                "zone": "UTC" if instrument.calendar == "always" else "America/New_York",
            }
        assert rows["BTC-USD"]["is_open"] is True

    @pytest.mark.parametrize(
        ("at", "expected"),
        [
            pytest.param(
                datetime(2026, 12, 25, 15, 0, tzinfo=UTC),
                {
                    "GOOG": (False, "2026-12-28T14:30:00Z", "2026-12-28T21:00:00Z"),
                    "AAPL": (False, "2026-12-28T14:30:00Z", "2026-12-28T21:00:00Z"),
                    "BTC-USD": (True, None, None),
                    "ETH-USD": (True, None, None),
                    # FX hours know no holidays: open on a Friday morning in New York.
                    "EUR-USD": (True, "2026-12-27T22:00:00Z", "2026-12-25T22:00:00Z"),
                },
                id="christmas-xnys-closed",
            ),
            pytest.param(
                datetime(2026, 11, 28, 15, 0, tzinfo=UTC),
                {
                    "GOOG": (False, "2026-11-30T14:30:00Z", "2026-11-30T21:00:00Z"),
                    "AAPL": (False, "2026-11-30T14:30:00Z", "2026-11-30T21:00:00Z"),
                    "BTC-USD": (True, None, None),
                    "ETH-USD": (True, None, None),
                    # Sunday 17:00 New York (EST) is 22:00 UTC.
                    "EUR-USD": (False, "2026-11-29T22:00:00Z", "2026-12-04T22:00:00Z"),
                },
                id="saturday-fx-closed",
            ),
            pytest.param(
                datetime(2026, 11, 27, 15, 0, tzinfo=UTC),
                {
                    # The day after Thanksgiving closes at 13:00 New York.
                    "GOOG": (True, "2026-11-30T14:30:00Z", "2026-11-27T18:00:00Z"),
                    "AAPL": (True, "2026-11-30T14:30:00Z", "2026-11-27T18:00:00Z"),
                    "BTC-USD": (True, None, None),
                    "ETH-USD": (True, None, None),
                    "EUR-USD": (True, "2026-11-29T22:00:00Z", "2026-11-27T22:00:00Z"),
                },
                id="half-day-early-close",
            ),
        ],
    )
    def test_clock_at_a_pinned_instant(self, auth_client, monkeypatch, at, expected):
        # Only the API module's clock moves: authentication keeps the real time.
        monkeypatch.setattr("market.api.timezone", SimpleNamespace(now=lambda: at))
        body = auth_client.get("/api/v1/clock/").json()
        assert body["timestamp"] == at.isoformat().replace("+00:00", "Z")
        rows = {row["symbol"]: row for row in body["instruments"] if row["symbol"] in expected}
        assert rows == {
            symbol: {
                "symbol": symbol,
                "is_open": is_open,
                "next_open": next_open,
                "next_close": next_close,
                "zone": "UTC" if symbol.endswith("-USD") and symbol != "EUR-USD" else "America/New_York",
            }
            for symbol, (is_open, next_open, next_close) in expected.items()
        }

    def test_schema_documents_the_market_endpoints(self, auth_client):
        response = auth_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        paths = response.json()["paths"]
        for path in [
            "/api/v1/instruments/",
            "/api/v1/instruments/{symbol}/",
            "/api/v1/instruments/{symbol}/bars/",
            "/api/v1/instruments/{symbol}/calendar/",
            "/api/v1/clock/",
        ]:
            assert "get" in paths[path]
        params = {p["name"] for p in paths["/api/v1/instruments/{symbol}/bars/"]["get"]["parameters"]}
        assert {"interval", "start", "end", "symbol"} <= params
