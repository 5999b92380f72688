"""The server enforces exactly what the OpenAPI schema states (issue 11):
each regex the schema carries is held equal to the code that decides, on
generated input, and DRF's lenient readings are refused where the schema
refuses them."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.http import QueryDict
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.errors import DomainError, InputInvalid
from core.filters import BadValue, parse_date, parse_date_time, parse_id
from core.idempotency import HEADER_PATTERN, header_key_is_valid, request_key
from core.openapi import NOT_BLANK_TEXT_PATTERN, TEXT_PATTERN
from core.pagination import query_int
from core.serializers import DecimalTextField, StrictSerializer, decimal_pattern
from wallets.errors import InvalidAmount
from wallets.money import amount_pattern, parse_amount

DECIMAL_TEXT = st.text(alphabet="0123456789.", max_size=16) | st.decimals(
    min_value=-1, max_value=10**13, allow_nan=False, allow_infinity=False
).map(str)


def _in_range(text: str, *, places: int, maximum: Decimal, exclusive: bool) -> bool:
    match = re.fullmatch(r"[0-9]+(?:\.([0-9]+))?", text)
    if match is None or len(match.group(1) or "") > places:
        return False
    value = Decimal(text)
    return value > 0 and (value < maximum if exclusive else value <= maximum)


@pytest.mark.parametrize(
    ("places", "maximum", "exclusive"),
    [
        (2, Decimal("10000000.00"), False),
        (4, Decimal(1), False),
        (8, Decimal(10**12), True),
        (2, Decimal("123.45"), False),
        (0, Decimal(5), False),
    ],
)
@settings(max_examples=400, deadline=None)
@given(text=DECIMAL_TEXT)
def test_decimal_pattern_is_the_range_and_the_places(places, maximum, exclusive, text):
    pattern = re.compile(decimal_pattern(places=places, maximum=maximum, exclusive=exclusive))
    expected = _in_range(text, places=places, maximum=maximum, exclusive=exclusive)
    assert (pattern.fullmatch(text) is not None) == expected, text


@settings(max_examples=500, deadline=None)
@given(text=DECIMAL_TEXT | st.text(max_size=12))
def test_the_schemas_amount_pattern_is_parse_amount(text):
    try:
        parse_amount(text, field="amount", currency="USD")
        accepted = True
    except InvalidAmount:
        accepted = False
    assert (re.fullmatch(amount_pattern(), text) is not None) == accepted, text


def test_decimal_text_field_reads_json_numbers_by_their_text():
    field = DecimalTextField(places=4, maximum=Decimal(1))
    assert field.to_internal_value(Decimal("0.5")) == Decimal("0.5")
    assert field.to_internal_value(1) == Decimal(1)
    assert field.to_internal_value(Decimal("5E-1")) == Decimal("0.5")  # the JSON number 0.5
    for bad in (Decimal("1E+1"), "0.00005", " 0.5", "+0.5", "1.0001", "5E-1", True, 0.5, "5\n"):
        with pytest.raises(ValidationError):
            field.to_internal_value(bad)


@settings(max_examples=300, deadline=None)
@given(key=st.text(alphabet=st.characters(codec="latin-1"), min_size=0, max_size=120))
def test_the_header_pattern_is_the_header_rule(key):
    stated = re.fullmatch(HEADER_PATTERN, key) is not None and 1 <= len(key) <= 100
    assert header_key_is_valid(key) == stated


@pytest.mark.parametrize("key", ["ключ", "tab\tkey", "   ", "k" * 101])
def test_request_key_refuses_what_the_pattern_refuses(key):
    request = Request(APIRequestFactory().post("/", HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1")))
    with pytest.raises(ValidationError):
        request_key(request)


class _Texts(StrictSerializer):
    trimmed = serializers.CharField(max_length=5, required=False)
    kept = serializers.CharField(max_length=5, required=False, trim_whitespace=False)
    number = serializers.IntegerField(required=False)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=6))
def test_text_patterns_are_what_a_strict_text_field_takes(text):
    for name, pattern in (("trimmed", NOT_BLANK_TEXT_PATTERN), ("kept", TEXT_PATTERN)):
        blank_refused = name == "trimmed" or text != ""  # "kept": DRF still refuses ""
        stated = re.fullmatch(pattern, text) is not None and len(text) <= 5 and blank_refused
        assert _Texts(data={name: text}).is_valid() == stated, (name, text)


@pytest.mark.parametrize(
    "data",
    [{"trimmed": 5}, {"kept": ["a"]}, {"number": "5"}, {"number": True}, {"number": Decimal("5.5")}],
)
def test_a_json_body_gets_no_type_coercion(data):
    assert not _Texts(data=data).is_valid()


def test_a_json_body_takes_integral_numbers_and_counts_text_as_sent():
    assert _Texts(data={"number": Decimal("5.0")}).is_valid()
    assert not _Texts(data={"trimmed": "a     "}).is_valid()  # 6 characters sent


@pytest.mark.parametrize(
    ("text", "valid"), [("5", True), ("-5", True), ("", True), (" 5", False), ("5.0", False)]
)
def test_text_input_takes_plain_digits_for_integers(text, valid):
    assert _Texts(data=QueryDict(f"number={text.replace(' ', '%20')}")).is_valid() == valid


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", None),
        ("0", 0),
        ("200", 200),
        ("201", "error"),
        ("-1", "error"),
        ("+1", "error"),
        ("1.0", "error"),
    ],
)
def test_query_int_takes_plain_digits_in_range(raw, expected):
    request = Request(APIRequestFactory().get("/", {"n": raw}))
    if expected == "error":
        with pytest.raises(ValidationError) as info:
            query_int(request, "n", low=0, high=200)
        assert "n" in info.value.detail
    else:
        assert query_int(request, "n", low=0, high=200) == expected


def test_query_values_are_strict():
    assert parse_id("007") == 7
    assert parse_date("2026-02-28") == date(2026, 2, 28)
    expected = datetime(2026, 2, 28, 10, 0, 0, 123456, tzinfo=UTC)
    assert parse_date_time("2026-02-28t10:00:00.1234567z") == expected
    assert parse_date_time("2026-02-28T10:00:00+18:36") == datetime(2026, 2, 27, 15, 24, tzinfo=UTC)
    # Beyond what a datetime holds once in UTC: the first or last instant.
    assert parse_date_time("0001-01-01T00:00:00+01:00") == datetime.min.replace(tzinfo=UTC)
    assert parse_date_time("9999-12-31T23:59:59-01:00") == datetime.max.replace(tzinfo=UTC)
    for parse, text in [
        (parse_id, " 1"),
        (parse_id, "1" * 19),
        (parse_date, "2026-2-28"),
        (parse_date, "20260228"),
        (parse_date, "2026-02-30"),
        (parse_date_time, "2026-02-28T10:00:00"),
        (parse_date_time, "2026-02-28 10:00:00Z"),
        (parse_date_time, "2026-02-28T10:00:00+24:00"),
    ]:
        with pytest.raises(BadValue):
            parse(text)


def test_a_business_rule_is_422_and_a_restated_schema_rule_400():
    assert DomainError.http_status == 422
    assert InputInvalid.http_status == 400
    assert InvalidAmount.http_status == 400
