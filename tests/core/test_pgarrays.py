"""Array literals read back exactly by PostgreSQL, and only of their own type."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import connection

from core.pgarrays import decimal_array, int_array, text_array, timestamp_array

D = Decimal


def _read(sql: str, literal: str):
    with connection.cursor() as cursor:
        cursor.execute(sql, [literal])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_text_elements_come_back_exactly():
    texts = [
        'say "hi"',
        "back\\slash",
        '\\"',
        "it's",
        "a,b",
        "{braces}",
        " spaced ",
        "NULL",
        "",
        "line\nbreak\ttab",
        "naïve ✓ ١٢",
        "%s %(x)s",
        None,
    ]
    assert _read("SELECT %s::text[]", text_array(texts)) == texts


@pytest.mark.django_db
def test_numbers_and_times_come_back_exactly():
    ints = [0, -1, 2**62, None]
    decimals = [D("0.10"), D("-12.34"), D("1E+5"), D("-0.00"), D("123456789012345678.12345678"), None]
    times = [
        datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        None,
    ]
    assert _read("SELECT %s::bigint[]", int_array(ints)) == ints
    assert _read("SELECT %s::numeric[]", decimal_array(decimals)) == decimals
    assert _read("SELECT %s::timestamptz[]", timestamp_array(times)) == times
    assert _read("SELECT %s::bigint[]", int_array([])) == []


@pytest.mark.parametrize(
    ("build", "value"),
    [
        (int_array, True),
        (int_array, 1.0),
        (int_array, "1"),
        (decimal_array, 1),
        (decimal_array, 0.1),
        (decimal_array, D("NaN")),
        (decimal_array, D("Infinity")),
        (text_array, 1),
        (text_array, b"bytes"),
        (timestamp_array, datetime(2026, 1, 1)),  # naive
        (timestamp_array, "2026-01-01"),
    ],
)
def test_an_element_of_another_type_is_refused(build, value):
    with pytest.raises(TypeError):
        build([value])
