"""Pathological input, across every operation: never a 5xx.

Generic on purpose (issue 11): the operations come from the OpenAPI schema
and the URL conf, not from a list kept by hand, so a new endpoint is covered
the day it is added. Each category is sent to every place it can go:

- request bodies (every property of every operation's request schema, and
  of a batch item): NUL and other control characters, very long strings,
  integers and decimals far beyond range, huge arrays, wrong JSON types, an
  unknown field; the whole body deeply nested or not UTF-8;
- query parameters documented in the schema;
- path parameters of every URL pattern (API and pages);
- the `Idempotency-Key` header;
- the HTML forms' fields.

A 400 must name the field it refuses (as a key of the JSON error, or of the
item's errors in a batch); forms show the error beside the field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote as urlquote

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from core.parsers import JsonNumber
from market.models import Instrument
from push.models import PushSubscription
from push.services import subscription_save
from tests.factories import InstrumentFactory, UserFactory
from trading.plans.services import plan_create
from trading.trades.models import Trade
from trading.trades.services import trade_request
from wallets.models import Entry
from wallets.services import wallet_deposit, wallet_withdrawal_request

pytestmark = pytest.mark.django_db

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
COMPONENTS = SCHEMA["components"]["schemas"]
KEY = "edge-key"

# A valid body per request schema: a pathological value replaces one field
# of it, so the refusal cannot hide behind another field's error. A new input
# schema must add its base here (a test below fails until it does).
VALID_BODIES: dict[str, dict[str, Any]] = {
    "TradeRequestRequest": {"instrument": "EDGE-USD", "side": "buy", "stake": "10.00", "duration": 3600},
    "TradeBatchRequest": {
        "trades": [{"instrument": "EDGE-USD", "side": "buy", "stake": "10.00", "duration": 3600}]
    },
    "PlanCreateRequest": {
        "instrument": "EDGE-USD",
        "strategy": "momentum",
        "principal": "100.00",
        "trade_fraction": "0.1000",
        "term_days": 30,
    },
    "MoneyInputRequest": {"amount": "10.00", "currency": "USD"},
    "AdjustmentInputRequest": {
        "user": "<user>",
        "amount": "1.00",
        "currency": "USD",
        "direction": "credit",
        "reason": "edge",
    },
    "WithdrawalDecisionRequest": {"reason": "edge"},
    "TokenObtainRequest": {"username": "nobody", "password": "nothing-at-all"},
    "PushSubscriptionCreateRequest": {
        "endpoint": "https://push.example.com/send/edge",
        "keys": {"p256dh": "<p256dh>", "auth": "AAAAAAAAAAAAAAAAAAAAAA"},
    },
}


def _p256dh() -> str:
    """A real P-256 public key, base64url: the API checks it is on the curve."""
    import base64

    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


VALID_BODIES["PushSubscriptionCreateRequest"]["keys"]["p256dh"] = _p256dh()

NULLABLE = {
    name: {f for f, prop in COMPONENTS[name].get("properties", {}).items() if prop.get("nullable")}
    for name in VALID_BODIES
    if name in COMPONENTS
}
NULLABLE["TradeBatchRequest"] = NULLABLE["TradeRequestRequest"]
HUGE_INT = 10**40
# Each value a client could send in place of a field's value.
PATHOLOGICAL: dict[str, Any] = {
    "nul": "ab\x00cd",
    "control": "ab\x07\x1bcd",
    "long": "9" * 100_000,
    "huge_int": HUGE_INT,
    "huge_negative": -HUGE_INT,
    "huge_decimal": Decimal("1E+400000"),
    "tiny_decimal": Decimal("1E-400000"),
    "huge_array": list(range(100_000)),
    "object": {"a": {"b": 1}},
    "bool": True,
    "null": None,
    # Valid JSON escape syntax, no character: an error echoing it could not be encoded.
    "lone_surrogate": "\ud800",
    "lone_surrogate_in_list": ["ok", "\udfff"],
    # A number in exponent notation whose value no field takes (places).
    "exponent": JsonNumber("1.5e-9"),
}


def _json(value: Any) -> str:
    """JSON text keeping Decimals exact (json.dumps would refuse them)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f'"{k}":{_json(v)}' for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json(v) for v in value) + "]"
    import json

    return json.dumps(value)


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in SCHEMA["paths"].items()
        for method, operation in methods.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def _body_schema(operation: dict[str, Any]) -> str | None:
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


BODY_OPERATIONS = [(p, m, _body_schema(o)) for p, m, o in _operations() if _body_schema(o)]


@pytest.fixture
def world(db):
    """A funded staff user (staff reach every operation), an instrument, a trade."""
    staff = UserFactory(is_staff=True)
    instrument = InstrumentFactory(symbol="EDGE-USD")
    wallet_deposit(user=staff, amount=Decimal("5000.00"), currency="USD", idempotency_key="edge-seed")
    client = APIClient()
    client.force_authenticate(staff)
    # Objects for the `{id}` of each resource, so a body reaches its validation.
    trade = trade_request(
        user=staff, instrument="EDGE-USD", side="buy", stake=Decimal("10.00"), idempotency_key="edge-trade"
    ).trade
    plan, _ = plan_create(
        user=staff,
        instrument="EDGE-USD",
        strategy="momentum",
        principal=Decimal("100.00"),
        trade_fraction=Decimal("0.1"),
        term_days=30,
        idempotency_key="edge-plan",
    )
    withdrawal = wallet_withdrawal_request(
        user=staff, amount=Decimal("1.00"), currency="USD", idempotency_key="edge-withdrawal"
    )
    subscription, _ = subscription_save(
        user_id=staff.pk,
        user_agent="edge",
        endpoint="https://push.example.com/send/edge-world",
        p256dh=_p256dh(),
        auth="AAAAAAAAAAAAAAAAAAAAAA",
    )
    IDS.update(
        {
            "subscriptions": subscription.pk,
            "user": staff.pk,
            "trades": trade.pk,
            "plans": plan.pk,
            "withdrawals": withdrawal.pk,
            "accounts": staff.accounts.first().pk if hasattr(staff, "accounts") else 1,
            "entries": Entry.objects.order_by("id").first().pk,
        }
    )
    return {"client": client, "user": staff, "instrument": instrument}


IDS: dict[str, int] = {}


def _url(path: str) -> str:
    if "{id}" in path:
        resource = path.split("/{id}")[0].rsplit("/", 1)[-1]
        path = path.replace("{id}", str(IDS.get(resource, 1)))
    return path.replace("{symbol}", "EDGE-USD")


def _post(client: APIClient, method: str, path: str, body: str | bytes) -> Any:
    return getattr(client, method)(
        _url(path), data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=KEY
    )


def _named(response: Any, field: str) -> bool:
    """The error names `field`: a key of the JSON error, at any depth (a
    batch item's errors are nested under its index)."""

    def walk(value: Any) -> bool:
        if isinstance(value, dict):
            return field in value or any(walk(v) for v in value.values())
        if isinstance(value, list):
            return any(walk(v) for v in value)
        return False

    return walk(response.json())


def test_every_input_schema_has_a_valid_base():
    assert {name for _, _, name in BODY_OPERATIONS} <= set(VALID_BODIES)


def _targets(name: str) -> list[tuple[str, list[str | int]]]:
    """(field, where it sits) for every property of the schema, and of a batch item."""
    body = VALID_BODIES[name]
    if name == "TradeBatchRequest":
        item = body["trades"][0]
        return [("trades", ["trades"])] + [(f, ["trades", 0, f]) for f in item]
    return [(f, [f]) for f in COMPONENTS[name]["properties"]]


def _valid(name: str) -> dict[str, Any]:
    import copy

    body = copy.deepcopy(VALID_BODIES[name])
    if body.get("user") == "<user>":
        body["user"] = IDS["user"]
    return body


def _replace(body: Any, where: list[str | int], value: Any) -> Any:
    import copy

    body = copy.deepcopy(body)
    if body.get("user") == "<user>":
        body["user"] = IDS["user"]
    target = body
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    return body


@pytest.mark.parametrize(("path", "method", "name"), BODY_OPERATIONS)
def test_pathological_field_values_are_a_4xx_naming_the_field(world, path, method, name):
    writes_before = Trade.objects.count(), Entry.objects.count()
    for field, where in _targets(name):
        for kind, value in PATHOLOGICAL.items():
            if kind == "null" and field in NULLABLE.get(name, ()):
                continue  # a documented null (no take-profit) is a valid request
            body = _replace(VALID_BODIES[name], where, value)
            response = _post(world["client"], method, path, _json(body))
            assert response.status_code < 500, (path, field, kind, response.content[:300])
            if response.status_code == 400:
                assert _named(response, field), (path, field, kind, response.json())
    # Money moved only by valid requests: none of the above was one.
    assert (Trade.objects.count(), Entry.objects.count()) == writes_before


@pytest.mark.parametrize(("path", "method", "name"), BODY_OPERATIONS)
def test_unknown_fields_are_a_400_naming_them(world, path, method, name):
    for where in (
        (["take_proft"], ["trades", 0, "leverage"]) if name == "TradeBatchRequest" else (["take_proft"],)
    ):
        body = _replace(VALID_BODIES[name], where, "1")
        response = _post(world["client"], method, path, _json(body))
        assert response.status_code == 400, (path, where, response.content[:300])
        assert _named(response, where[-1]), response.json()


@pytest.mark.parametrize(("path", "method", "name"), BODY_OPERATIONS)
def test_an_unknown_key_that_is_a_lone_surrogate_is_a_400(world, path, method, name):
    body = _json(_valid(name))[:-1] + ',"\\ud800":1}'
    response = _post(world["client"], method, path, body)
    assert response.status_code == 400, (path, response.content[:300])
    assert "surrogate" in response.json()["detail"]


# Operations that take no body (close, cancel, a ticket, revoking a token).
BODILESS = [
    (path, method)
    for path, method, operation in _operations()
    if method in ("post", "put", "patch", "delete") and "requestBody" not in operation
]


def test_the_bodiless_operations_are_the_ones_known():
    """A new one is covered by the test below; this says which there are."""
    assert {(p.removeprefix("/api/v1/"), m) for p, m in BODILESS} >= {
        ("trades/{id}/close/", "post"),
        ("trades/{id}/cancel/", "post"),
        ("plans/{id}/cancel/", "post"),
        ("realtime/tickets/", "post"),
        ("auth/token/", "delete"),
    }


@pytest.mark.parametrize(("path", "method"), BODILESS)
@pytest.mark.parametrize(
    ("raw", "named"),
    [('{"stake": "999999"}', "stake"), ('{"bogus_field": 1}', "bogus_field"), ("[]", "non_field_errors")],
)
def test_a_body_sent_to_an_operation_that_takes_none_is_refused_before_it_acts(
    world, path, method, raw, named
):
    trade, plan = Trade.objects.get(pk=IDS["trades"]), world["user"].plans.get(pk=IDS["plans"])
    response = _post(world["client"], method, path, raw)
    assert response.status_code == 400, (path, response.content[:300])
    assert _named(response, named), response.json()
    trade.refresh_from_db()
    plan.refresh_from_db()
    # Nothing was closed, cancelled or deleted.
    assert (trade.status, plan.status) == ("queued", "active")
    assert PushSubscription.objects.filter(pk=IDS["subscriptions"]).exists()


@pytest.mark.parametrize(("path", "method"), BODILESS)
def test_an_empty_object_is_no_body(world, path, method):
    response = _post(world["client"], method, path, "{}")
    assert response.status_code != 400, (path, response.content[:300])


@pytest.mark.parametrize(("path", "method", "name"), BODY_OPERATIONS)
@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
        b'{"instrument": "\xff\xfe"}',
        b"\xff" * 10,
        b'"just a string"',
        b"[]",
        b"12",
        b"null",
    ],
    ids=["deep-array", "deep-object", "not-utf8-in-string", "not-utf8", "string", "array", "number", "null"],
)
def test_malformed_bodies_are_a_400(world, path, method, name, raw):
    response = _post(world["client"], method, path, raw)
    assert response.status_code == 400, (path, response.content[:300])
    assert response["Content-Type"].startswith("application/json")


QUERY_VALUES = ["ab\x00cd", "\x07", "9" * 40, "-" + "9" * 40, "1e999999", "x" * 10_000, "%FF"]


@pytest.mark.parametrize(
    ("path", "param"),
    [
        (path, p["name"])
        for path, method, operation in _operations()
        if method == "get"
        for p in operation.get("parameters", [])
        if p["in"] == "query"
    ],
)
def test_pathological_query_parameters_are_never_a_5xx(world, path, param):
    for value in QUERY_VALUES:
        query = f"{urlquote(param)}={urlquote(value) if value != '%FF' else value}"
        if param != "since":
            query += "&since=0"  # the events' required parameter
        response = world["client"].get(f"{_url(path)}?{query}")
        assert response.status_code < 500, (path, param, value[:20], response.content[:300])
        if response.status_code == 400:
            assert _named(response, param) or "detail" in response.json(), response.json()


def _patterns(resolvers: list[Any], prefix: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for entry in resolvers:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += _patterns(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and "<" in route:
            found.append((route, entry))
    return found


PATH_ROUTES = sorted({route for route, _ in _patterns(get_resolver().url_patterns) if "admin" not in route})
PATH_VALUES = {
    "int": ["9" * 40, "2147483648", "9223372036854775808"],
    "str": ["ab%00cd", "%07", "%FF%FE", "x" * 5_000, "EDGE-USD%0A"],
    "path": ["ab%00cd", "%FF"],
    "slug": ["x" * 5_000],
}


@pytest.mark.parametrize("route", PATH_ROUTES)
def test_pathological_path_parameters_are_never_a_5xx(world, client, route):
    import re

    client.force_login(world["user"])
    for converter in re.findall(r"<(?:(\w+):)?\w+>", route):
        for value in PATH_VALUES.get(converter or "str", PATH_VALUES["str"]):
            url = "/" + re.sub(r"<(?:\w+:)?\w+>", value, route).lstrip("^").rstrip("$")
            for caller in (world["client"], client):
                for method in ("get", "post", "delete"):
                    response = getattr(caller, method)(url, HTTP_IDEMPOTENCY_KEY=KEY)
                    assert response.status_code < 500, (url[:80], method, response.content[:300])
                    # 302: a page sends the token-only client to the login page.
                    assert response.status_code in (302, 400, 401, 403, 404, 405), (url[:80], method)


IDEMPOTENT = [
    (path, method)
    for path, method, operation in _operations()
    if any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
]


@pytest.mark.parametrize(("path", "method"), IDEMPOTENT)
def test_pathological_idempotency_keys_are_a_400_naming_the_header(world, path, method):
    name = _body_schema(SCHEMA["paths"][path][method])
    body = _json(_valid(name)) if name else ""
    for key in ("ab\x00cd", "ab\x07", "x" * 10_000, "", "ключ\u200b"):
        response = getattr(world["client"], method)(
            _url(path), data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
        )
        assert response.status_code == 400, (path, repr(key[:10]), response.content[:300])
        assert _named(response, "Idempotency-Key"), response.json()


FORM_VALUES = ["ab\x00cd", "\x07", "9" * 40, "-" + "9" * 40, "x" * 100_000]


@pytest.mark.parametrize(
    "url", ["/trade/new/", "/accounts/login/", "/accounts/signup/", "/settings/notifications/"]
)
def test_pathological_form_fields_are_shown_beside_the_field(world, client, url):
    """Every field of each page form, one pathological value at a time."""
    client.force_login(world["user"]) if url != "/accounts/signup/" else None
    trades_before = Trade.objects.count()
    page = client.get(url)
    if page.status_code == 302:  # login/signup redirect a logged-in user
        client.logout()
        page = client.get(url)
    form = page.context["form"]
    valid = {name: form[name].value() or "" for name in form.fields}
    for name in form.fields:
        for value in FORM_VALUES:
            data = {**valid, name: value}
            response = client.post(url, data)
            assert response.status_code < 500, (url, name, value[:10])
            kind = type(form.fields[name]).__name__
            if response.status_code in (200, 400) and response.context and "form" in response.context:
                errors = response.context["form"].errors
                if kind in (
                    "CharField",
                    "IntegerField",
                    "PlainIntegerField",
                    "UsernameField",
                    "EmailField",
                ) and ("\x00" in value or "\x07" in value or kind.endswith("IntegerField")):
                    assert name in errors, (url, name, value[:10], dict(errors))
    assert Trade.objects.count() == trades_before


def test_instrument_symbol_with_nul_is_a_404_not_a_500(world):
    response = world["client"].get("/api/v1/instruments/EDGE%00USD/")
    assert response.status_code == 404
    assert Instrument.objects.filter(symbol="EDGE-USD").exists()


def test_every_request_body_refuses_unknown_fields_in_the_schema():
    """What the server enforces, the schema states: `additionalProperties:
    false` on every request body (and a batch item), bounded integers."""
    names = {name for _, _, name in BODY_OPERATIONS} | {"TradeBatchItemRequest"}
    for name in names:
        assert COMPONENTS[name].get("additionalProperties") is False, name
        for field, prop in COMPONENTS[name]["properties"].items():
            if prop.get("type") == "integer" and field != "user":
                assert "minimum" in prop and "maximum" in prop, (name, field)
    duration = COMPONENTS["TradeRequestRequest"]["properties"]["duration"]
    assert (duration["minimum"], duration["maximum"]) == (60, 366 * 24 * 3600)


@pytest.mark.parametrize(("path", "method", "name"), BODY_OPERATIONS)
def test_a_refused_value_is_not_echoed_back_whole(world, path, method, name):
    """An error names the field and what it takes; it does not repeat a
    100,000-character value (an amplifier for whoever sends it)."""
    for field, where in _targets(name):
        response = _post(
            world["client"], method, path, _json(_replace(VALID_BODIES[name], where, "x" * 100_000))
        )
        assert response.status_code < 500
        assert len(response.content) < 5_000, (path, field, response.content[:300])


def _missing(route: str) -> str:
    route = route.replace("^", "").replace("$", "").replace("(?P<pk>[0-9]{1,18})", "999999")
    return "/" + route.replace("<id:pk>", "999999")


OBJECT_ROUTES = [
    _missing(route)
    for route in PATH_ROUTES
    if route.startswith("api/") and ("<id:pk>" in route or "(?P<pk>" in route)
]


@pytest.mark.parametrize("path", OBJECT_ROUTES)
def test_a_missing_object_is_not_found_without_naming_a_model(world, path):
    """The same answer as another user's object: nothing about what it is."""
    response = world["client"].get(path)
    if response.status_code == 405:  # an action (cancel, approve) is POST only
        response = world["client"].post(path, "{}", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 404, path
    assert response.json()["detail"] in {"Not found.", "No such trade.", "No such plan."}, response.json()
