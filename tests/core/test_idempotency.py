"""The one idempotency module: one key rule, one fingerprint, one answer to
a reused key."""

import hashlib
import json
from decimal import Decimal

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIRequestFactory

from core.errors import IdempotencyMismatch
from core.idempotency import (
    HEADER,
    KEY_MAX_LENGTH,
    IdempotencyKeyInvalid,
    fingerprint,
    key_check,
    replay_check,
    request_key,
)


def _request(key: str | None):
    from rest_framework.request import Request

    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return Request(APIRequestFactory().post("/", **headers))


def test_fingerprint_writes_none_as_null_and_other_values_as_their_text():
    # The stored fingerprints of trades (None as null), plans and wallets (no
    # None passed) were computed so; a change here would turn retries into 422s.
    expected = json.dumps({"a": "1.50", "b": None, "c": "buy"}, sort_keys=True)
    assert fingerprint(c="buy", a=Decimal("1.50"), b=None) == hashlib.sha256(expected.encode()).hexdigest()
    assert fingerprint(a=None) != fingerprint(a="None")


@pytest.mark.parametrize("key", [None, "", "x" * (KEY_MAX_LENGTH + 1), "tab\tkey", 7])
def test_key_check_refuses_a_missing_long_or_unprintable_key(key):
    with pytest.raises(IdempotencyKeyInvalid) as info:
        key_check(key)
    assert info.value.field == "idempotency_key"


def test_key_check_takes_the_longest_printable_key():
    key = "k" * KEY_MAX_LENGTH
    assert key_check(key) == key


def test_request_key_keeps_room_for_a_suffix():
    key = "k" * (KEY_MAX_LENGTH - 2)
    assert request_key(_request(key), suffix_length=2) == key
    with pytest.raises(ValidationError) as info:
        request_key(_request(key), suffix_length=3)
    assert HEADER in info.value.detail


def test_request_key_is_required():
    with pytest.raises(ValidationError):
        request_key(_request(None))


def test_replay_check_passes_a_retry_and_refuses_a_reuse():
    replay_check(stored="f", fingerprint="f", what="a trade")
    with pytest.raises(IdempotencyMismatch, match="for a trade with other parameters"):
        replay_check(stored="f", fingerprint="g", what="a trade")
