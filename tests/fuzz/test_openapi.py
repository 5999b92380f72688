"""Schemathesis against the served OpenAPI schema (`/api/v1/schema/`), with
every check it has (`--checks all`), as a token client and as a logged-in
browser session; and as a staff token, so the staff-only operations
(adjustments, withdrawal decisions) are fuzzed past their 403.

Every operation gets generated requests (the schema's examples, its
coverage cases, and fuzzed valid and invalid ones) through Django's WSGI
handler, in this test's database transaction (nothing is committed, so no
task is enqueued and no event is sent); then a stateful run chains them
(create a trade, read it back, ...). The caller is a user with 5,000.00 USD,
fresh prices for every instrument, and either an API token or a session
cookie with its CSRF token (session writes need CSRF). Instruments are the
seeded ones (BTC-USD and ETH-USD trade 24/7), and the schema's examples name
them, so the success paths run too. Each answer must
pass every check (`test_every_check_is_on`): no 5xx, a documented status,
content type, headers and body; valid data accepted and invalid data
refused; a missing required header refused; an undeclared method a 405; no
operation served without its credential (probed with none and a bad one);
nothing readable after it is deleted, nor missing just after it is made.

One check is configured, for a reason the schema cannot carry (the same
list is in docs/decisions.md, "Schema fuzzing"):

- `positive_data_acceptance` also takes 422: a schema-valid request that a
  business rule refuses (an unknown instrument, the instrument's stake and
  duration limits, the balance, the current price, wrong credentials) is a
  422 with its code (`core.errors`); 400 stays a failure, since it means a
  rule the schema does not state.

`object_level_authorization` runs but has nothing to compare: it needs two
identities declared in schemathesis' WFC auth config, which a per-test user
cannot be (tests/trading and tests/wallets hold "another user's object is a
404" for every object).

`FUZZ_EXAMPLES` (default 25, as CI sets it) bounds the examples per
operation and `FUZZ_STEPS` (default 20) the stateful scenarios, so the file
takes a few minutes on 2 cores.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import CHECKS, load_all_checks

from market.models import Instrument
from market.prices import price_record
from tests.factories import UserFactory
from wallets.services import wallet_deposit

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
STEPS = int(os.environ.get("FUZZ_STEPS", "20"))

# Loaded once at collection, through the same WSGI handler the requests use.
# (schemathesis' lazy `from_fixture` loader does not work with pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())

# The one configured check (see the module doc): a well-formed request that a
# business rule refuses is a 422, which is not the schema missing a rule.
_positive = schema.config.checks.positive_data_acceptance
_positive.expected_statuses = [*_positive.expected_statuses, "422"]


# What ran, for the summary line this module prints (CI keeps it in its log).
_checked: Counter[tuple[str, str]] = Counter()  # (check, SUCCESS or FAILURE)
_answered: Counter[tuple[str, str]] = Counter()  # (operation, credential kind)


@schema.hook
def after_validate(context: Any, case: Any, response: Any, results: list[Any]) -> None:
    _answered[(case.operation.label, _current[-1].kind if _current else "none")] += 1
    for result in results:
        _checked[(result.name, result.status.name)] += 1


_printed: list[int] = [0]  # responses counted at the last summary


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    yield
    # pytest may set a module fixture up again when it reorders parametrized
    # tests; print when there is something new.
    if sum(_answered.values()) == _printed[0]:
        return
    _printed[0] = sum(_answered.values())
    operations = {operation for operation, _ in _answered}
    kinds = sorted({kind for _, kind in _answered})
    runs = {name: 0 for name, _ in _checked}
    failed = dict.fromkeys(runs, 0)
    for (name, status), count in _checked.items():
        runs[name] += count
        failed[name] += count if status == "FAILURE" else 0
    per_check = ", ".join(
        f"{name} {runs[name]}" + (f" ({failed[name]} failed)" if failed[name] else "")
        for name in sorted(runs)
    )
    lines = [
        f"schemathesis: {len(operations)} operations as {' and '.join(kinds)}, "
        f"{sum(_answered.values())} responses, {len(runs)} checks run {sum(runs.values())} times, "
        f"{sum(failed.values())} failed",
        f"schemathesis checks: {per_check}",
    ]
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for line in lines:
                reporter.write_line(line)
    if path := os.environ.get("FUZZ_SUMMARY"):
        with open(path, "a") as out:
            out.write("\n".join(lines) + "\n")


@dataclass
class Credentials:
    kind: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


# The credentials of the running test (set by the `credentials` fixture).
# schemathesis applies auth when it generates a case, inside the test.
_current: list[Credentials] = []


@schema.auth(refresh_interval=None, retry_on=[])
class FuzzUserAuth:
    """The test's user, as schemathesis' own auth: its checks then know the
    credential is explicit and probe the operation without it and with a bad
    one (`ignored_auth`)."""

    def get(self, case: Any, context: Any) -> Credentials | None:
        return _current[-1] if _current else None

    def set(self, case: Any, data: Credentials, context: Any) -> None:
        case.headers = {**(case.headers or {}), **data.headers}
        case.cookies = {**(case.cookies or {}), **data.cookies}


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The raw WSGI handler closes the database connection after each request
    (Django's test client unhooks this too); keep it, so every request runs
    inside this test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _fresh_prices() -> None:
    """A fresh price for every instrument: a trade with take-profit or
    stop-loss needs one to check its levels (else 503 `stale_price`, a
    server-side condition, not the request's). Fuzzing one operation takes
    seconds, well under PRICE_STALE_AFTER."""
    now = timezone.now()
    prices = {i.symbol: (Decimal(10) ** (6 - i.price_scale), now) for i in Instrument.objects.all()}
    price_record(prices=prices)


@pytest.fixture(params=["token", "session", "staff"])
def credentials(request, db):
    user = UserFactory(is_staff=request.param == "staff")
    wallet_deposit(user=user, amount=Decimal("5000.00"), currency="USD", idempotency_key="fuzz-seed")
    _fresh_prices()
    if request.param in ("token", "staff"):
        token = Token.objects.create(user=user).key
        creds = Credentials(kind=request.param, headers={"Authorization": f"Token {token}"})
    else:
        client = Client()
        client.force_login(user)
        csrf = _get_new_csrf_string()
        session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        creds = Credentials(
            kind="session",
            headers={"X-CSRFToken": csrf},
            cookies={django_settings.SESSION_COOKIE_NAME: session, django_settings.CSRF_COOKIE_NAME: csrf},
        )
    _current.append(creds)
    yield creds
    _current.pop()


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_passes_every_check(case, credentials):
    # No `checks=`: every check schemathesis has, as enabled in its config.
    case.call_and_validate()


@pytest.mark.parametrize("credentials", ["token", "session"], indirect=True)
def test_stateful_scenarios_pass_every_check(credentials):
    """Chains of operations linked by their responses (a trade's id from its
    202 into `GET trades/{id}/`, ...): `use_after_free` and
    `ensure_resource_availability` need such a history to check anything."""
    machine = schema.as_state_machine()
    machine.run(
        settings=settings(
            max_examples=STEPS,
            stateful_step_count=5,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )


def test_every_check_is_on():
    """`--checks all`: every check schemathesis registers is enabled, and only
    `positive_data_acceptance` is configured."""
    load_all_checks()
    names = CHECKS.get_all_names()
    assert {"positive_data_acceptance", "negative_data_rejection", "use_after_free", "ignored_auth"} <= set(
        names
    )
    for name in names:
        assert schema.config.checks.get_by_name(name=name).enabled, name
    assert "422" in schema.config.checks.positive_data_acceptance.expected_statuses
    assert "400" not in schema.config.checks.positive_data_acceptance.expected_statuses


def test_money_is_documented_as_a_string():
    components = schema.raw_schema["components"]["schemas"]
    for name, field_name in (("Account", "balance"), ("LedgerTransaction", "amount"), ("Entry", "amount")):
        assert components[name]["properties"][field_name]["type"] == "string", (name, field_name)


def test_the_idempotency_key_states_its_rule():
    parameters = schema.raw_schema["paths"]["/api/v1/trades/"]["post"]["parameters"]
    (key,) = [p for p in parameters if p["name"] == "Idempotency-Key"]
    assert key["required"] is True
    assert key["schema"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 100,
        "pattern": "^[ -~]*[!-~][ -~]*$",
    }


def test_error_statuses_are_documented():
    """`core.openapi.ApiSchema` adds the error statuses each operation answers."""
    paths = schema.raw_schema["paths"]
    documented = {
        ("post", "/api/v1/trades/"): {"202", "400", "401", "403", "422", "429"},
        ("post", "/api/v1/trades/{id}/close/"): {"200", "401", "403", "404", "409", "429"},
        ("get", "/api/v1/trades/{id}/"): {"200", "401", "403", "404", "429"},
        ("get", "/api/v1/events/"): {"200", "400", "401", "403", "410", "422", "429"},
    }
    for (method, path), codes in documented.items():
        assert set(paths[path][method]["responses"]) == codes, (method, path)
