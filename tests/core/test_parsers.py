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
