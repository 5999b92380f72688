"""Admin: instruments editable with their feed parameters checked; bars read-only."""

import pytest
from django.test import Client

from market.models import Bar, Instrument

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db) -> Client:
    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def form(**overrides):
    data = {
        "symbol": "ADM-USD",
        "name": "Admin test",
        "asset_class": "crypto",
        "quote_currency": "USD",
        "price_scale": "2",
        "quantity_scale": "8",
        "fee_bps": "10",
        "min_stake": "1.00",
        "max_stake": "100.00",
        "max_trade_duration": "1 00:00:00",
        "active": "on",
        "calendar": "always",
        "feed_source": "random_walk",
        "feed_params": '{"start_price": "10.00", "volatility": "0.5"}',
    }
    data.update(overrides)
    return data


def test_an_instrument_can_be_added_in_the_admin(admin_client):
    response = admin_client.post("/admin/market/instrument/add/", form())
    assert response.status_code == 302
    assert Instrument.objects.get(symbol="ADM-USD").feed_params == {
        "start_price": "10.00",
        "volatility": "0.5",
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"feed_params": '{"volatility": "0.5"}'}, "start_price"),
        ({"feed_source": "replay", "feed_params": '{"file": "NOPE.csv"}'}, "no replay data file"),
        ({"feed_params": "[1, 2]"}, "must be a JSON object"),
    ],
)
def test_bad_feed_parameters_are_a_form_error(admin_client, overrides, message):
    response = admin_client.post("/admin/market/instrument/add/", form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Instrument.objects.filter(symbol="ADM-USD").exists()


def test_bars_are_read_only(admin_client):
    assert admin_client.get("/admin/market/bar/").status_code == 200
    assert admin_client.get("/admin/market/bar/add/").status_code == 403
    assert not Bar.objects.exists()


@pytest.mark.parametrize("field", ["price_scale", "quantity_scale", "fee_bps"])
@pytest.mark.parametrize("typed", ["２", "٢", "+2", "2.", "2_0", "-0"])
def test_the_instrument_admin_form_takes_plain_digits_only(admin_client, field, typed):
    response = admin_client.post("/admin/market/instrument/add/", form(**{field: typed}))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        field: ["Enter a whole number using the digits 0 to 9, e.g. 15."]
    }
    assert not Instrument.objects.filter(symbol="ADM-USD").exists()
