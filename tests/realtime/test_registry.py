import pytest

from realtime import registry


@pytest.fixture
def lookup(monkeypatch):
    monkeypatch.setattr(registry, "_symbol_lookup", None)
    registry.register_symbol_lookup(lambda s: s in {"BTC-USD", "GOOG"})


def test_known_symbols_are_valid(lookup):
    assert registry.symbol_is_valid("BTC-USD") is True
    assert registry.symbol_is_valid("GOOG") is True


@pytest.mark.parametrize("symbol", ["ETH-USD", "btc-usd", "user.1", "", "A" * 40, 5, None, "BTC USD"])
def test_unknown_or_malformed_symbols_are_refused(lookup, symbol):
    assert registry.symbol_is_valid(symbol) is False


def test_nothing_is_valid_without_a_lookup(monkeypatch):
    monkeypatch.setattr(registry, "_symbol_lookup", None)
    assert registry.symbol_is_valid("BTC-USD") is False
