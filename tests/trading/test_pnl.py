"""The trade arithmetic to the cent, with the worked example of docs/trading.md."""

from decimal import Decimal

import pytest

from trading.pnl import (
    Side,
    closing_fee,
    liquidation_price,
    price_hits,
    trade_fee,
    trade_pnl,
    trade_quantity,
    trade_settlement,
)

D = Decimal
STAKE = D("1000.00")
ENTRY = D("65000.00")
QTY = D("0.01538461")  # 1000 / 65000 = 0.0153846153..., rounded down at 8 places


def test_quantity_rounds_down_at_the_quantity_scale():
    assert trade_quantity(stake=STAKE, entry=ENTRY, quantity_scale=8) == QTY
    # Rounded down even when the next digit would round up.
    assert trade_quantity(stake=D("2.00"), entry=D("3"), quantity_scale=2) == D("0.66")
    assert trade_quantity(stake=D("10.00"), entry=D("1.08420"), quantity_scale=2) == D("9.22")


def test_quantity_refuses_a_non_positive_entry():
    with pytest.raises(ValueError, match="entry"):
        trade_quantity(stake=STAKE, entry=D("0"), quantity_scale=8)


def test_fee_is_the_rate_times_the_stake_rounded_half_up():
    assert trade_fee(stake=STAKE, fee_bps=10, money_scale=2) == D("1.00")
    assert trade_fee(stake=D("5.00"), fee_bps=10, money_scale=2) == D("0.01")  # 0.005 -> 0.01
    assert trade_fee(stake=D("4.99"), fee_bps=10, money_scale=2) == D("0.00")  # 0.00499 -> 0.00
    assert trade_fee(stake=D("123.45"), fee_bps=25, money_scale=2) == D("0.31")  # 0.3086...


@pytest.mark.parametrize(
    ("side", "exit_price", "expected"),
    [
        (Side.BUY, D("66300.00"), D("20.00")),  # 0.01538461 x 1300 = 19.999993
        (Side.SELL, D("66300.00"), D("-20.00")),
        (Side.BUY, D("64350.50"), D("-9.99")),  # 0.01538461 x -649.50 = -9.992304195
        (Side.SELL, D("64350.50"), D("9.99")),
        (Side.BUY, ENTRY, D("0.00")),
    ],
)
def test_pnl_long_and_short_profit_and_loss(side, exit_price, expected):
    pnl = trade_pnl(side=side, quantity=QTY, entry=ENTRY, exit=exit_price, stake=STAKE, money_scale=2)
    assert pnl == expected
    assert pnl.as_tuple().exponent == -2


def half_even(exit_price: str) -> Decimal:
    return trade_pnl(side="buy", quantity=D(1), entry=D(1), exit=D(exit_price), stake=D(10), money_scale=2)


def test_pnl_rounds_half_to_even():
    # 1 x 0.125 = 0.125 -> 0.12 (even), 1 x 0.135 -> 0.14
    assert trade_pnl(
        side="buy", quantity=D(1), entry=D("1"), exit=D("1.125"), stake=D(10), money_scale=2
    ) == D("0.12")
    assert trade_pnl(
        side="buy", quantity=D(1), entry=D("1"), exit=D("1.135"), stake=D(10), money_scale=2
    ) == D("0.14")


def test_a_loss_never_exceeds_the_stake():
    # A short whose price triples would lose twice its stake without the floor.
    pnl = trade_pnl(
        side=Side.SELL, quantity=QTY, entry=ENTRY, exit=D("195000.00"), stake=STAKE, money_scale=2
    )
    assert pnl == -STAKE


def test_closing_fee_is_capped_at_what_the_trade_still_holds():
    assert closing_fee(stake=STAKE, pnl=D("-999.50"), fee_bps=10, money_scale=2) == D("0.50")
    assert closing_fee(stake=STAKE, pnl=-STAKE, fee_bps=10, money_scale=2) == D("0.00")
    assert closing_fee(stake=STAKE, pnl=D("20.00"), fee_bps=10, money_scale=2) == D("1.00")


def test_liquidation_price_short_is_about_twice_the_entry_and_loses_exactly_the_stake():
    liq = liquidation_price(side=Side.SELL, quantity=QTY, entry=ENTRY, stake=STAKE, price_scale=2)
    # 65000 + 1000 / 0.01538461 = 130000.0227..., rounded down towards the entry.
    assert liq == D("130000.02")
    settlement = trade_settlement(
        side=Side.SELL, quantity=QTY, entry=ENTRY, exit=liq, stake=STAKE, fee_bps=10, money_scale=2
    )
    assert settlement.pnl == D("-1000.00")
    assert settlement.fee == D("0.00")
    assert STAKE + settlement.pnl - settlement.fee == D("0.00")


def test_liquidation_price_long_is_floored_at_zero():
    assert liquidation_price(side=Side.BUY, quantity=QTY, entry=ENTRY, stake=STAKE, price_scale=2) == D("0")
    # A long whose quantity is worth more than its stake has a positive level.
    liq = liquidation_price(side=Side.BUY, quantity=D("2"), entry=D("10"), stake=D("10"), price_scale=2)
    assert liq == D("5.00")


def test_worked_example_of_the_docs_to_the_cent():
    """docs/trading.md: 1,000.00 USD long BTC-USD at 65,000.00, 10 bps, closed at 66,300.00."""
    open_fee = trade_fee(stake=STAKE, fee_bps=10, money_scale=2)
    settlement = trade_settlement(
        side="buy", quantity=QTY, entry=ENTRY, exit=D("66300.00"), stake=STAKE, fee_bps=10, money_scale=2
    )
    assert (open_fee, settlement.pnl, settlement.fee) == (D("1.00"), D("20.00"), D("1.00"))
    balance = D("5000.00")
    after_open = balance - STAKE - open_fee
    after_close = after_open + STAKE + settlement.pnl - settlement.fee
    assert after_open == D("3999.00")
    assert after_close == D("5018.00")


@pytest.mark.parametrize(
    ("side", "price", "expected"),
    [
        (Side.BUY, D("110"), ("take_profit", D("110"))),
        (Side.BUY, D("111"), ("take_profit", D("110"))),
        (Side.BUY, D("90"), ("stop_loss", D("90"))),
        (Side.BUY, D("100"), None),
        (Side.SELL, D("90"), ("take_profit", D("90"))),
        (Side.SELL, D("110"), ("stop_loss", D("110"))),
        (Side.SELL, D("250"), ("liquidation", D("200"))),
    ],
)
def test_price_hits(side, price, expected):
    tp, sl = (D("110"), D("90")) if side is Side.BUY else (D("90"), D("110"))
    liq = D("0") if side is Side.BUY else D("200")
    assert price_hits(side=side, price=price, take_profit=tp, stop_loss=sl, liquidation=liq) == expected


def test_price_hits_without_levels_is_none():
    assert price_hits(side="buy", price=D("1"), take_profit=None, stop_loss=None, liquidation=None) is None


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_a_move_that_rounds_to_nothing_is_zero_not_negative_zero(side):
    """A tiny loss rounds to -0.00 in `Decimal`; as text (events, e-mails) that
    reads as a loss of nothing. The trade's figures say 0.00."""
    adverse = D("1.10000") if side == "buy" else D("1.10002")
    exit_price = D("1.09999") if side == "buy" else D("1.10003")
    pnl = trade_pnl(
        side=side, quantity=D("1.00"), entry=adverse, exit=exit_price, stake=D("10.00"), money_scale=2
    )
    assert str(pnl) == "0.00"
    assert str(pnl - D("0.00")) == "0.00"  # net_pnl with no fee
