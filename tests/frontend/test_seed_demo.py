"""seed_demo: creates the demo and admin users and funds the demo wallet once."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from tests.wallets.helpers import balance, ledger_invariants
from wallets.models import LedgerTransaction

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent(monkeypatch):
    monkeypatch.setenv("DEMO_USERNAME", "demo")
    monkeypatch.setenv("DEMO_PASSWORD", "tradevision-demo")
    call_command("seed_demo")
    call_command("seed_demo")
    users = get_user_model().objects
    demo = users.get(username="demo")
    admin = users.get(username="admin")
    assert demo.check_password("tradevision-demo")
    assert (admin.is_staff, admin.is_superuser) == (True, True)
    assert admin.check_password("tradevision-demo")
    assert balance(demo) == Decimal("10000.00")
    assert LedgerTransaction.objects.filter(user=demo).count() == 1
    ledger_invariants()
