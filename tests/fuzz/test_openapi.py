"""Schemathesis against the served OpenAPI schema (`/api/v1/schema/`).

Every operation gets generated requests (valid and invalid) from an
authenticated, funded user through Django's WSGI handler, in this test's
database transaction (nothing is committed, so no task is enqueued and no
event is sent). Each answer must not be a 5xx, must have a status code the
schema documents for its operation, the documented content type, and a body
matching the schema of its status. `FUZZ_EXAMPLES` (default 25) bounds the examples per operation so
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
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import UserFactory
from wallets.services import wallet_deposit

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

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
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)


def test_money_is_documented_as_a_string():
    components = schema.raw_schema["components"]["schemas"]
    for name, field in (("Account", "balance"), ("LedgerTransaction", "amount"), ("Entry", "amount")):
        assert components[name]["properties"][field]["type"] == "string", (name, field)


def test_error_statuses_are_documented():
    """`core.openapi.ApiSchema` adds the error statuses each operation answers."""
    paths = schema.raw_schema["paths"]
    documented = {
        ("post", "/api/v1/trades/"): {"202", "400", "401", "403", "422", "429"},
        ("post", "/api/v1/trades/{id}/close/"): {"200", "401", "403", "404", "409", "429"},
        ("get", "/api/v1/trades/{id}/"): {"200", "401", "403", "404", "429"},
        ("get", "/api/v1/events/"): {"200", "400", "401", "403", "410", "429"},
    }
    for (method, path), codes in documented.items():
        assert set(paths[path][method]["responses"]) == codes, (method, path)
