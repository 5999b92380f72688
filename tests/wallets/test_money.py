"""parse_amount: the one validator of money input (pure logic, no database)."""

from decimal import Decimal

import pytest

from wallets.errors import InvalidAmount, UnknownCurrency
from wallets.money import parse_amount, quantize


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.5", Decimal("12.50")),
        ("0.01", Decimal("0.01")),
        (Decimal("7"), Decimal("7.00")),
        ("10000000.00", Decimal("10000000.00")),
    ],
)
def test_accepts_plain_positive_decimals_at_scale(value, expected):
    result = parse_amount(value, field="amount", currency="USD")
    assert result == expected
    assert str(result) == str(expected)


@pytest.mark.parametrize(
    "value",
    [
        "-1",
        "0",
        "0.00",
        "-0",
        "+1",
        "1.001",
        "1e5",
        "1E5",
        Decimal("1E+5"),
        Decimal("-0"),
        Decimal("0"),
        "1_000",
        "١٢",
        "１２",
        " 1",
        "1 ",
        "\t1",
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "inf",
        "-Infinity",
        Decimal("NaN"),
        Decimal("Infinity"),
        "10000000.01",
        "",
        ".5",
        "1.",
        "0x10",
        True,
        False,
        1.5,
        1,
        None,
    ],
)
def test_refuses_everything_else_naming_the_field(value):
    with pytest.raises(InvalidAmount) as info:
        parse_amount(value, field="stake", currency="USD")
    assert info.value.field == "stake"


def test_unknown_currency():
    with pytest.raises(UnknownCurrency):
        parse_amount("1", field="amount", currency="XYZ")


def test_quantize_pads_to_scale():
    assert str(quantize(Decimal("3"), "USD")) == "3.00"
