"""Schemathesis against the served OpenAPI schema (`/api/v1/schema/`).

Every operation gets generated requests (valid and invalid) from an
authenticated, funded user through Django's WSGI handler, in this test's
database transaction (nothing is committed, so no task is enqueued and no
event is sent). Each answer must not be a 5xx, must have the documented
content type, and a documented status must carry a body matching its
schema. `FUZZ_EXAMPLES` (default 25) bounds the examples per operation so
the run takes well under a minute of CI time.
"""

import os
from decimal import Decimal

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.factories import UserFactory
from wallets.services import wallet_deposit

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]

# Known bug (reported to the lead; wallets' to fix): `wallets.serializers.
# AmountOutField` answers money as a JSON string ("5000.00", as it must), but
# the schema documents it as `type: number, format: double`, so clients
# generated from the schema would parse money as a float. Until the field
# carries `@extend_schema_field` with a string type, these operations are
# checked for everything but their body schema, and
# `test_money_is_documented_as_a_string` below fails the day it is fixed.
MONEY_AS_NUMBER_BUG = {
    "GET /api/v1/wallets/accounts/",
    "GET /api/v1/wallets/accounts/{id}/",
    "POST /api/v1/wallets/deposits/",
    "GET /api/v1/wallets/entries/",
    "GET /api/v1/wallets/entries/{id}/",
    "GET /api/v1/wallets/withdrawals/",
    "POST /api/v1/wallets/withdrawals/",
    "GET /api/v1/wallets/withdrawals/{id}/",
    "POST /api/v1/wallets/withdrawals/{id}/approve/",
    "POST /api/v1/wallets/withdrawals/{id}/reject/",
    "POST /api/v1/wallets/adjustments/",
}


# Loaded once at collection, through the same WSGI handler the requests use.
# (schemathesis' lazy `from_fixture` loader does not work with pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())


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


@pytest.fixture
def token(db) -> str:
    user = UserFactory()
    wallet_deposit(user=user, amount=Decimal("5000.00"), currency="USD", idempotency_key="fuzz-seed")
    return Token.objects.create(user=user).key


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_never_answers_5xx_and_matches_its_schema(case, token):
    checks = CHECKS
    if f"{case.method.upper()} {case.path}" in MONEY_AS_NUMBER_BUG:
        checks = [c for c in CHECKS if c is not response_schema_conformance]
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=checks)


def test_money_is_documented_as_a_string():
    components = schema.raw_schema["components"]["schemas"]
    for name, field in (("Account", "balance"), ("LedgerTransaction", "amount"), ("Entry", "amount")):
        assert components[name]["properties"][field]["type"] == "string", (name, field)
