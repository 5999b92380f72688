"""The strict JSON parser: pure logic, no database."""

from decimal import Decimal

import pytest

from core.parsers import loads_strict


def test_numbers_become_exact_decimals():
    assert loads_strict('{"amount": 0.1, "n": 3}') == {"amount": Decimal("0.1"), "n": Decimal(3)}


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}'])
def test_non_finite_literals_are_refused(text):
    with pytest.raises(ValueError, match="not allowed"):
        loads_strict(text)


def test_duplicate_keys_are_refused():
    with pytest.raises(ValueError, match="duplicate key 'amount'"):
        loads_strict('{"amount": "1", "amount": "1000"}')


def test_the_parser_names_the_duplicated_field():
    import io

    from rest_framework.exceptions import ParseError

    from core.parsers import StrictJSONParser

    with pytest.raises(ParseError) as error:
        StrictJSONParser().parse(io.BytesIO(b'{"currency": "USD", "amount": "1", "amount": "1000"}'))
    assert error.value.detail == {"amount": ["duplicate key"]}


@pytest.mark.parametrize(
    ("literal", "text"),
    [
        ("1.0e1", "10"),
        ("1e2", "100"),
        ("1E+2", "100"),
        ("2e-05", "0.00002"),  # how Python's encoder writes 0.00002
        ("1.234e1", "12.34"),
        ("1.500", "1.500"),  # places as written: the validators count them
        ("12", "12"),
        ("1e999999", "1E+999999"),  # beyond 40 places: not written out, refused by every validator
        ("1e-999999", "1E-999999"),
    ],
)
def test_a_number_is_read_by_its_value_in_plain_notation(literal, text):
    value = loads_strict(f'{{"a": {literal}}}')["a"]
    assert str(value) == text
    assert value == Decimal(literal)


@pytest.mark.parametrize(
    ("text", "field"),
    [('{"side": "\\ud800"}', "side"), ('{"a": ["ok", "\\udfff"]}', "a"), ('{"\\ud800": 1}', None)],
)
def test_a_lone_surrogate_is_refused_naming_the_field_it_is_the_value_of(text, field):
    from core.parsers import LoneSurrogate

    with pytest.raises(LoneSurrogate) as refused:
        loads_strict(text)
    assert refused.value.field == field
