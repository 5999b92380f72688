"""`manage.py run_market_feed`: options, and refusing bad ones before starting."""

import pytest
from django.core.management import CommandError, call_command

from market.models import Bar
from market.prices import price_latest

pytestmark = pytest.mark.django_db


def test_runs_the_given_symbols_for_the_given_steps():
    call_command("run_market_feed", "--symbols", "BTC-USD,ETH-USD", "--steps", "5", "--seed", "7")
    assert price_latest("BTC-USD").price is not None and price_latest("ETH-USD").price is not None
    assert price_latest("AAPL").price is None
    assert set(Bar.objects.values_list("instrument__symbol", flat=True)) == {"BTC-USD", "ETH-USD"}


def test_unknown_symbol_is_refused():
    with pytest.raises(CommandError, match="unknown or inactive symbols: NOPE"):
        call_command("run_market_feed", "--symbols", "BTC-USD,NOPE", "--steps", "1")
    assert not Bar.objects.exists()


@pytest.mark.parametrize("speed", ["0", "-1", "NaN", "fast"])
def test_bad_speed_is_refused(speed):
    with pytest.raises(CommandError, match="--speed"):
        call_command("run_market_feed", "--speed", speed, "--steps", "1")


def test_bad_source_parameters_stop_the_command(settings):
    settings.MARKET_FEED_SOURCES = {"ETH-USD": "replay"}  # ETH-USD has no replay file
    with pytest.raises(CommandError, match="ETH-USD: a replay needs feed parameter 'file'"):
        call_command("run_market_feed", "--symbols", "ETH-USD", "--steps", "1")
