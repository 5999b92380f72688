"""The wallet API over HTTP: money input refused with a 400 naming the field and
nothing written, idempotency, owner isolation (404), staff powers, paging."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from realtime.models import Event
from tests.wallets.helpers import balance, ledger_invariants
from wallets import services
from wallets.models import Account, Entry, LedgerTransaction, WithdrawalRequest

pytestmark = pytest.mark.django_db
D = Decimal
DEPOSITS = "/api/v1/wallets/deposits/"
WITHDRAWALS = "/api/v1/wallets/withdrawals/"


def post(client, url, body, key="k-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, body, content_type="application/json", **headers)


def counts():
    return (
        LedgerTransaction.objects.count(),
        Entry.objects.count(),
        Account.objects.count(),
        WithdrawalRequest.objects.count(),
        Event.objects.count(),
    )


def funded(user, amount="500.00"):
    services.wallet_deposit(user=user, amount=D(amount), currency="USD", idempotency_key=f"seed-{user.pk}")


def test_deposit_over_the_api(auth_client, user):
    response = post(auth_client, DEPOSITS, '{"amount": "12.50", "currency": "USD"}')
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "12.50"
    assert response.json()["kind"] == "deposit"
    assert balance(user) == D("12.50")
    wallets = auth_client.get("/api/v1/wallets/").json()
    assert wallets == [{"currency": "USD", "available": "12.50", "reserved": "0.00"}]


def test_json_number_amount_is_exact(auth_client, user):
    response = post(auth_client, DEPOSITS, '{"amount": 0.10, "currency": "USD"}')
    assert response.status_code == 201, response.content
    assert balance(user) == D("0.10")


BAD_AMOUNTS = [
    '"-5.00"',
    "-5",
    '"0"',
    "0",
    '"0.00"',
    '"-0"',
    "-0",
    '"1.005"',
    "1.005",
    '"1e5"',  # a string is text: no exponent
    "1.0005e1",  # a number is its value: 10.005 has three places
    "1e8",  # 100,000,000: beyond the most
    '"1_000"',
    '"١٢"',
    '" 10"',
    '"10 "',
    '"NaN"',
    '"nan"',
    '"Infinity"',
    '"-inf"',
    '"sNaN"',
    '"10000000.01"',
    "10000000.01",
    "true",
    "null",
    '""',
    '"+5"',
    '"0x10"',
    "[1]",
]


@pytest.mark.parametrize(
    ("raw", "amount"), [("1e2", "100.00"), ("1.0e1", "10.00"), ("2.5E-1", "0.25"), ("1.5e0", "1.50")]
)
def test_a_json_number_is_its_value_whatever_its_notation(auth_client, user, raw, amount):
    response = post(auth_client, DEPOSITS, f'{{"amount": {raw}, "currency": "USD"}}')
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == amount
    assert balance(user) == D(amount)


@pytest.mark.parametrize("raw", BAD_AMOUNTS)
@pytest.mark.parametrize("url", [DEPOSITS, WITHDRAWALS])
def test_bad_amount_is_a_400_naming_the_field_and_writes_nothing(auth_client, user, raw, url):
    funded(user)
    before = counts()
    response = post(auth_client, url, f'{{"amount": {raw}, "currency": "USD"}}')
    assert response.status_code == 400, response.content
    assert "amount" in response.json()
    assert counts() == before
    assert balance(user) == D("500.00")


@pytest.mark.parametrize(
    "body",
    [
        '{"amount": NaN, "currency": "USD"}',
        '{"amount": Infinity, "currency": "USD"}',
        '{"amount": -Infinity}',
    ],
)
def test_non_finite_json_literals_are_refused(auth_client, body):
    before = counts()
    response = post(auth_client, DEPOSITS, body)
    assert response.status_code == 400
    assert counts() == before


def test_duplicate_json_keys_are_refused(auth_client):
    before = counts()
    response = post(auth_client, DEPOSITS, '{"amount": "1.00", "amount": "1000.00", "currency": "USD"}')
    assert response.status_code == 400
    assert response.json() == {"amount": ["duplicate key"]}
    assert counts() == before


@pytest.mark.parametrize("url", [DEPOSITS, WITHDRAWALS])
def test_a_body_over_the_upload_limit_is_refused_and_writes_nothing(auth_client, user, settings, url):
    funded(user)
    before = counts()
    padding = "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # alone over 256 KiB
    body = f'{{"amount": "1.00", "currency": "USD", "memo": "{padding}"}}'
    assert len(body.encode()) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 256 * 1024
    response = post(auth_client, url, body)
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert counts() == before
    assert balance(user) == D("500.00")


def test_unknown_currency_names_the_field(auth_client):
    before = counts()
    response = post(auth_client, DEPOSITS, '{"amount": "1.00", "currency": "XXX"}')
    assert response.status_code == 400
    assert "currency" in response.json()
    assert counts() == before


def test_missing_idempotency_key_is_a_400_naming_the_header(auth_client):
    before = counts()
    response = post(auth_client, DEPOSITS, '{"amount": "1.00", "currency": "USD"}', key=None)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert counts() == before


def test_same_key_replays_and_other_parameters_get_422(auth_client, user):
    first = post(auth_client, DEPOSITS, '{"amount": "5.00", "currency": "USD"}', key="same")
    again = post(auth_client, DEPOSITS, '{"amount": "5.00", "currency": "USD"}', key="same")
    assert again.json()["id"] == first.json()["id"]
    other = post(auth_client, DEPOSITS, '{"amount": "6.00", "currency": "USD"}', key="same")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert balance(user) == D("5.00")


def test_insufficient_funds_over_the_api(auth_client, user):
    funded(user, "10.00")
    before = counts()
    response = post(auth_client, WITHDRAWALS, '{"amount": "10.01", "currency": "USD"}')
    assert response.status_code == 422  # well formed; the balance refuses it
    assert response.json()["code"] == "insufficient_funds"
    # In the user's words: no internal account id.
    assert response.json()["amount"] == ["Insufficient funds: the available balance is less than 10.01 USD."]
    assert counts() == before


def test_login_required(api_client):
    assert api_client.get("/api/v1/wallets/").status_code == 401
    assert post(api_client, DEPOSITS, '{"amount": "1.00", "currency": "USD"}').status_code == 401


def test_another_users_objects_are_404(user, other_user):
    funded(user)
    withdrawal = services.wallet_withdrawal_request(
        user=user, amount=D("5.00"), currency="USD", idempotency_key="w"
    )
    account = Account.objects.get(owner=user, kind="available")
    entry = Entry.objects.filter(account=account).first()
    intruder = APIClient()
    intruder.force_authenticate(other_user)
    for url in (
        f"/api/v1/wallets/accounts/{account.pk}/",
        f"/api/v1/wallets/entries/{entry.pk}/",
        f"/api/v1/wallets/withdrawals/{withdrawal.pk}/",
    ):
        assert intruder.get(url).status_code == 404, url
    # Lists hold only the caller's own objects; ?user= is ignored for non-staff.
    assert intruder.get(f"/api/v1/wallets/entries/?user={user.pk}").json()["results"] == []
    assert intruder.get(f"/api/v1/wallets/withdrawals/?user={user.pk}").json()["results"] == []
    assert intruder.get(f"/api/v1/wallets/?user={user.pk}").json() == []
    # Approving is staff-only, and a non-staff user cannot even see the request.
    response = post(intruder, f"/api/v1/wallets/withdrawals/{withdrawal.pk}/approve/", "{}", key="a")
    assert response.status_code == 403
    assert WithdrawalRequest.objects.get(pk=withdrawal.pk).status == "pending"


def test_staff_sees_and_filters_every_users_objects_and_decides_withdrawals(user, staff_user):
    funded(user)
    withdrawal = services.wallet_withdrawal_request(
        user=user, amount=D("5.00"), currency="USD", idempotency_key="w"
    )
    staff = APIClient()
    staff.force_authenticate(staff_user)
    assert staff.get(f"/api/v1/wallets/?user={user.pk}").json()[0]["reserved"] == "5.00"
    entries = staff.get(f"/api/v1/wallets/entries/?user={user.pk}").json()["results"]
    assert {e["account"] for e in entries} <= set(
        Account.objects.filter(owner=user).values_list("pk", flat=True)
    )
    assert len(entries) == 3  # deposit leg, withdrawal-request legs (available, reserved)
    response = post(
        staff, f"/api/v1/wallets/withdrawals/{withdrawal.pk}/approve/", '{"reason": "ok"}', key="a"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    assert balance(user, "reserved") == D("0.00")
    ledger_invariants()


def test_staff_adjustment_requires_reason_and_staff(user, staff_user, auth_client):
    body = f'{{"user": {user.pk}, "amount": "3.00", "currency": "USD", "direction": "credit", "reason": ""}}'
    assert post(auth_client, "/api/v1/wallets/adjustments/", body).status_code == 403
    staff = APIClient()
    staff.force_authenticate(staff_user)
    response = post(staff, "/api/v1/wallets/adjustments/", body)
    assert response.status_code == 400
    assert "reason" in response.json()
    good = body.replace('"reason": ""', '"reason": "goodwill"')
    # A user id that is well formed and names nobody: 422, nothing written.
    nobody = good.replace(f'"user": {user.pk}', '"user": 999999999')
    refused = post(staff, "/api/v1/wallets/adjustments/", nobody, key="nobody")
    assert (refused.status_code, refused.json()["code"], "user" in refused.json()) == (422, "invalid", True)
    assert post(staff, "/api/v1/wallets/adjustments/", good).status_code == 201
    assert balance(user) == D("3.00")


def test_entries_cursor_pagination_and_date_filters(auth_client, user):
    for i in range(5):
        services.wallet_deposit(user=user, amount=D("1.00"), currency="USD", idempotency_key=f"d{i}")
    page = auth_client.get("/api/v1/wallets/entries/?page_size=2").json()
    assert len(page["results"]) == 2
    second = auth_client.get(page["next"]).json()
    assert len(second["results"]) == 2
    assert page["results"][0]["id"] > second["results"][-1]["id"]
    assert (
        auth_client.get("/api/v1/wallets/entries/?created_after=2999-01-01T00:00:00Z").json()["results"] == []
    )
    assert (
        len(auth_client.get("/api/v1/wallets/entries/?created_before=2999-01-01T00:00:00Z").json()["results"])
        == 5
    )
    bad = auth_client.get("/api/v1/wallets/entries/?created_after=yesterday")
    assert bad.status_code == 400
    assert "created_after" in bad.json()


def test_money_posts_are_throttled(settings, user):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "money": "2/min"},
    }
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        cache.clear()
        client = APIClient()
        client.force_authenticate(user)
        codes = [
            post(client, DEPOSITS, '{"amount": "1.00", "currency": "USD"}', key=f"t{i}").status_code
            for i in range(3)
        ]
        assert codes == [201, 201, 429]
        assert client.get("/api/v1/wallets/").status_code == 200  # reads are not counted
        assert balance(user) == D("2.00")
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original


def test_openapi_schema_describes_the_wallet_api(auth_client):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    deposit = schema["paths"]["/api/v1/wallets/deposits/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in deposit["parameters"])
    assert "201" in deposit["responses"]
    assert "/api/v1/wallets/entries/" in schema["paths"]


def test_browsable_api_shows_the_wallet_to_a_logged_in_user(user):
    from django.test import Client

    funded(user, "10000.00")
    client = Client()
    client.force_login(user)
    pages = {"/api/v1/wallets/": 200, "/api/v1/wallets/entries/": 200, WITHDRAWALS: 200, DEPOSITS: 405}
    for url, code in pages.items():  # the deposit page is a POST form only
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == code, url
        assert response["Content-Type"].startswith("text/html"), url
    page = client.get("/api/v1/wallets/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert b"10000.00" in page.content
