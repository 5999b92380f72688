"""The browsable API creates trades, plans and money movements (issue 11).

A browser's form cannot send the `Idempotency-Key` header; the renderer
(`core.renderers`) fills an `idempotency_key` field with a fresh value, and
the server takes it in place of the header from a logged-in session's
browsable request only (`core.idempotency.request_key`). Each test does what
a browser does: GET the page as HTML, read the form's CSRF token and key,
and submit the form (multipart, as DRF's HTML form is) or the raw-data form
(JSON with the CSRF header, as its script sends it), with CSRF checks on.
"""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import InstrumentFactory, UserFactory
from trading.plans.models import Plan
from trading.trades.models import Trade
from wallets.models import LedgerTransaction, WithdrawalRequest
from wallets.services import wallet_deposit, wallet_withdrawal_request

pytestmark = pytest.mark.django_db

HTML = "text/html"
# What DRF's ajax-form.js asks for when it sends the raw-data form.
RAW_ACCEPT = "text/html; q=1.0, */*"


def browser(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _input(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', page
    )
    assert match, f"no {name} in the page"
    return html.unescape(match.group(1))


def html_form(client: Client, url: str) -> dict[str, str]:
    """The CSRF token and the prefilled key of the page's POST form."""
    page = client.get(url, HTTP_ACCEPT=HTML)
    text = page.content.decode()
    return {
        "csrfmiddlewaretoken": _input(text, "csrfmiddlewaretoken"),
        "idempotency_key": _input(text, "idempotency_key"),
    }


def submit(client: Client, url: str, form: dict[str, str], **fields: Any):
    """The HTML form as the browser posts it: multipart, with every field."""
    return client.post(url, {**form, **fields}, HTTP_ACCEPT=HTML)


def raw_form_content(client: Client, url: str) -> dict[str, Any]:
    page = client.get(url, HTTP_ACCEPT=HTML).content.decode()
    match = re.search(r'data-override="content"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, "no raw-data form"
    return json.loads(html.unescape(match.group(1)))


def submit_raw(client: Client, url: str, content: dict[str, Any]):
    """The raw-data form as DRF's script sends it."""
    return client.post(
        url,
        json.dumps(content),
        content_type="application/json",
        HTTP_ACCEPT=RAW_ACCEPT,
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )


@pytest.fixture
def user():
    user = UserFactory()
    wallet_deposit(user=user, amount=Decimal("1000.00"), currency="USD", idempotency_key="seed")
    return user


@pytest.fixture
def inst():
    return InstrumentFactory(symbol="FORM-USD")


def test_the_page_prefills_a_fresh_key_in_both_forms(user):
    client = browser(user)
    first, second = html_form(client, "/api/v1/trades/"), html_form(client, "/api/v1/trades/")
    assert re.fullmatch(r"[0-9a-f]{32}", first["idempotency_key"])
    assert first["idempotency_key"] != second["idempotency_key"]
    raw = raw_form_content(client, "/api/v1/trades/")
    assert set(raw) == {"instrument", "side", "stake", "idempotency_key"}
    assert raw["idempotency_key"] not in (first["idempotency_key"], second["idempotency_key"])


def test_the_html_form_creates_a_trade_once(user, inst):
    client = browser(user)
    form = html_form(client, "/api/v1/trades/")
    fields = {"instrument": "FORM-USD", "side": "buy", "stake": "10.00", "duration": "", "take_profit": ""}
    first = submit(client, "/api/v1/trades/", form, **fields)
    assert first.status_code == 202, first.content[:2000]
    again = submit(client, "/api/v1/trades/", form, **fields)  # the same form sent twice
    assert again.status_code == 202
    trade = Trade.objects.get()
    assert trade.idempotency_key == form["idempotency_key"] and trade.stake == Decimal("10.00")
    # The page after the success offers a new key.
    assert _input(first.content.decode(), "idempotency_key") != form["idempotency_key"]


def test_the_raw_data_form_creates_a_batch_once(user, inst):
    client = browser(user)
    content = raw_form_content(client, "/api/v1/trades/batch/")
    assert content["trades"] == [{"instrument": "", "side": "", "stake": ""}]
    content["trades"] = [
        {"instrument": "FORM-USD", "side": "buy", "stake": "10.00"},
        {"instrument": "FORM-USD", "side": "sell", "stake": "20.00"},
    ]
    first = submit_raw(client, "/api/v1/trades/batch/", content)
    assert first.status_code == 200, first.content[:2000]
    assert submit_raw(client, "/api/v1/trades/batch/", content).status_code == 200
    assert Trade.objects.count() == 2


def test_the_html_form_creates_a_plan_once(user, inst):
    client = browser(user)
    form = html_form(client, "/api/v1/plans/")
    fields = {
        "instrument": "FORM-USD",
        "strategy": "dca",
        "principal": "100.00",
        "trade_fraction": "0.1000",
        "term_days": "7",
    }
    assert submit(client, "/api/v1/plans/", form, **fields).status_code == 201
    assert submit(client, "/api/v1/plans/", form, **fields).status_code == 200  # the same plan
    assert Plan.objects.get().idempotency_key == form["idempotency_key"]


@pytest.mark.parametrize(
    ("url", "model"),
    [("/api/v1/wallets/deposits/", LedgerTransaction), ("/api/v1/wallets/withdrawals/", WithdrawalRequest)],
)
def test_the_html_form_moves_money_once(user, url, model):
    client = browser(user)
    before = model.objects.count()
    form = html_form(client, url)
    assert submit(client, url, form, amount="25.00", currency="USD").status_code == 201
    assert submit(client, url, form, amount="25.00", currency="USD").status_code == 201
    assert model.objects.count() == before + 1


def test_an_urlencoded_form_works_too(user):
    """A plain HTML form posts urlencoded; the same rule applies."""
    client = browser(user)
    form = html_form(client, "/api/v1/wallets/deposits/")
    body = urlencode({**form, "amount": "7.00", "currency": "USD"})
    before = LedgerTransaction.objects.count()
    for _ in range(2):
        response = client.post(
            "/api/v1/wallets/deposits/",
            body,
            content_type="application/x-www-form-urlencoded",
            HTTP_ACCEPT=HTML,
        )
        assert response.status_code == 201, response.content[:2000]
    assert LedgerTransaction.objects.count() == before + 1


def test_staff_forms_adjust_and_decide_once(user):
    staff = UserFactory(is_staff=True)
    client = browser(staff)
    form = html_form(client, "/api/v1/wallets/adjustments/")
    fields = {
        "user": str(user.pk),
        "amount": "5.00",
        "currency": "USD",
        "direction": "credit",
        "reason": "goodwill",
    }
    before = LedgerTransaction.objects.count()
    assert submit(client, "/api/v1/wallets/adjustments/", form, **fields).status_code == 201
    assert submit(client, "/api/v1/wallets/adjustments/", form, **fields).status_code == 201
    assert LedgerTransaction.objects.count() == before + 1

    withdrawal = wallet_withdrawal_request(
        user=user, amount=Decimal("1.00"), currency="USD", idempotency_key="w"
    )
    url = f"/api/v1/wallets/withdrawals/{withdrawal.pk}/approve/"
    form = html_form(client, url)
    assert submit(client, url, form, reason="ok").status_code == 200
    assert submit(client, url, form, reason="ok").status_code == 200
    withdrawal.refresh_from_db()
    assert withdrawal.status == "approved"


def test_a_refused_form_shows_the_error_and_keeps_the_key(user, inst):
    client = browser(user)
    form = html_form(client, "/api/v1/trades/")
    refused = submit(client, "/api/v1/trades/", form, instrument="FORM-USD", side="buy", stake="-1")
    assert refused.status_code == 400
    assert _input(refused.content.decode(), "idempotency_key") == form["idempotency_key"]
    assert not Trade.objects.exists()


def test_the_form_still_needs_a_key(user, inst):
    client = browser(user)
    form = {**html_form(client, "/api/v1/trades/"), "idempotency_key": ""}
    response = submit(client, "/api/v1/trades/", form, instrument="FORM-USD", side="buy", stake="10.00")
    assert response.status_code == 400
    assert not Trade.objects.exists()


def test_a_token_client_must_send_the_header(user, inst):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    body = {"instrument": "FORM-USD", "side": "buy", "stake": "10.00", "idempotency_key": "in-the-body"}
    response = client.post("/api/v1/trades/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["Idempotency-Key"]
    # Also when it asks for the browsable renderer, or sends a form.
    assert client.post("/api/v1/trades/", body, format="json", HTTP_ACCEPT=HTML).status_code == 400
    assert client.post("/api/v1/trades/", body, format="multipart").status_code == 400
    # A form is the browsable API's, a session's: a token client's is a 415, header or not.
    keyed = client.post("/api/v1/trades/", body, format="multipart", HTTP_IDEMPOTENCY_KEY="k")
    assert keyed.status_code == 415
    assert not Trade.objects.exists()


def test_a_session_api_call_must_send_the_header(user, inst):
    """A session's JSON call that does not come from the browsable API (the
    site's own scripts) follows the schema: the header."""
    client = browser(user)
    client.get("/api/v1/trades/", HTTP_ACCEPT=HTML)  # the CSRF cookie
    body = {"instrument": "FORM-USD", "side": "buy", "stake": "10.00", "idempotency_key": "in-the-body"}
    response = client.post(
        "/api/v1/trades/",
        json.dumps(body),
        content_type="application/json",
        HTTP_ACCEPT="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Trade.objects.exists()


def test_the_schema_documents_json_only():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in ("/api/v1/trades/", "/api/v1/plans/", "/api/v1/wallets/deposits/"):
        assert list(schema["paths"][path]["post"]["requestBody"]["content"]) == ["application/json"]
