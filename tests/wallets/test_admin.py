"""The ledger admin: staff see every model; history is read-only."""

from decimal import Decimal

import pytest
from django.test import Client

from tests.factories import UserFactory
from wallets import services
from wallets.models import Entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "model", ["account", "ledgertransaction", "entry", "withdrawalrequest", "balancedrift"]
)
def test_every_ledger_model_is_listed_for_staff(admin_client, user, model):
    services.wallet_deposit(user=user, amount=Decimal("1.00"), currency="USD", idempotency_key="d")
    assert admin_client.get(f"/admin/wallets/{model}/").status_code == 200


def test_entries_cannot_be_added_changed_or_deleted(admin_client, user):
    services.wallet_deposit(user=user, amount=Decimal("1.00"), currency="USD", idempotency_key="d")
    entry = Entry.objects.first()
    assert admin_client.get("/admin/wallets/entry/add/").status_code == 403
    assert admin_client.get(f"/admin/wallets/entry/{entry.pk}/delete/").status_code == 403
    page = admin_client.get(f"/admin/wallets/entry/{entry.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert Entry.objects.count() == 2
