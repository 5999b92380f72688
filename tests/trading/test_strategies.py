"""Strategy decisions on fixed closes: deterministic and pure."""

from decimal import Decimal

import pytest

from trading.plans.strategies import BARS_NEEDED, dca, mean_reversion, momentum, strategy_signal
from trading.pnl import Side

D = Decimal


def flat(n: int, price: str = "100") -> list[Decimal]:
    return [D(price)] * n


def test_momentum_buys_a_rise_sells_a_fall_and_ignores_noise():
    rising = [*flat(60, "100"), D("100.21")]  # +21 bps over 60 bars
    falling = [*flat(60, "100"), D("99.79")]
    noise = [*flat(60, "100"), D("100.20")]  # exactly the threshold: no trade
    assert momentum(rising) is Side.BUY
    assert momentum(falling) is Side.SELL
    assert momentum(noise) is None


def test_momentum_compares_with_the_close_lookback_bars_earlier():
    closes = [D("50"), *flat(59, "100"), D("100")]  # 61 closes, the 61st-from-last is 50
    assert momentum(closes) is Side.BUY
    assert momentum(closes, lookback=10) is None


def test_mean_reversion_buys_below_the_band_and_sells_above():
    base = [D("100"), D("101")] * 30  # mean 100.5, sd 0.5
    assert mean_reversion([*base[1:], D("98")]) is Side.BUY
    assert mean_reversion([*base[1:], D("103")]) is Side.SELL
    assert mean_reversion(base) is None


def test_mean_reversion_flat_window_gives_no_trade():
    assert mean_reversion(flat(60)) is None


def test_dca_always_buys_when_there_is_a_price():
    assert dca([D("1")]) is Side.BUY
    assert dca([]) is None


@pytest.mark.parametrize("name", ["momentum", "mean_reversion"])
def test_too_few_closes_give_no_trade(name):
    assert strategy_signal(name, flat(10)) is None


def test_same_closes_same_answer():
    closes = [D(100) + D(i % 7) / 10 for i in range(BARS_NEEDED)] + [D("90")]
    answers = {(strategy_signal(n, closes)) for n in ("mean_reversion",) for _ in range(5)}
    assert answers == {Side.BUY}


def test_unknown_strategy_is_a_key_error():
    with pytest.raises(KeyError):
        strategy_signal("martingale", flat(100))
