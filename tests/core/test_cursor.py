"""A cursor the server did not make is a 404 naming `cursor` (never read as
no cursor at all); the cursors it makes still work."""

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/trades/", "/api/v1/plans/", "/api/v1/wallets/entries/"]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    "cursor",
    # Not base64; base64 of no query string DRF reads (o=-1, r=x); too long.
    ["abc", "*", "?", "[]", "{}", "\x00", "\n", "@@@@", "bz0tMQ==", "cj14", "cD0x" * 200],
)
def test_a_cursor_the_server_did_not_make_is_a_404_naming_it(url, cursor):
    client = APIClient()
    client.force_authenticate(UserFactory())
    response = client.get(url, {"cursor": cursor})
    assert response.status_code == 404, response.content[:200]
    assert response.json()["cursor"] == [
        "Not a cursor of this list: follow a page's `next` or `previous` link."
    ]


def test_the_next_link_of_a_page_works_and_an_empty_cursor_is_none():
    from decimal import Decimal

    from wallets.services import wallet_deposit

    user = UserFactory()
    for i in range(3):
        wallet_deposit(user=user, amount=Decimal("1.00"), currency="USD", idempotency_key=f"c{i}")
    client = APIClient()
    client.force_authenticate(user)
    first = client.get("/api/v1/wallets/entries/?page_size=2").json()
    assert first["next"]
    second = client.get(first["next"])
    assert second.status_code == 200
    assert len(first["results"]) + len(second.json()["results"]) == 3
    empty = client.get("/api/v1/wallets/entries/?page_size=2&cursor=")
    assert (empty.status_code, empty.json()["results"]) == (200, first["results"])


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/trades/", "instrument"),
        ("/api/v1/wallets/entries/", "currency"),
        ("/api/v1/wallets/entries/", "kind"),
    ],
)
@pytest.mark.parametrize("value", ["a\x00b", "a\x12b", "\x7f", "\x85", "a b", "x" * 21, "{'a': {}}"])
def test_a_filter_refuses_what_no_row_can_have_as_its_schema_says(url, param, value):
    client = APIClient()
    client.force_authenticate(UserFactory())
    response = client.get(url, {param: value})
    assert response.status_code == 400, response.content[:200]
    assert param in response.json()


def test_the_filters_take_what_rows_have():
    client = APIClient()
    client.force_authenticate(UserFactory())
    assert client.get("/api/v1/trades/", {"instrument": "BTC-USD"}).status_code == 200
    assert client.get("/api/v1/wallets/entries/", {"currency": "USD", "kind": "deposit"}).status_code == 200
