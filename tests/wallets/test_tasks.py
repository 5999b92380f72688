"""update_wallet_balances: drift is recorded and repaired from the entries."""

from decimal import Decimal

import pytest
from django.db import connection, transaction

from tests.wallets.helpers import balance, ledger_invariants
from wallets import services
from wallets.models import Account, BalanceDrift, DriftKind
from wallets.tasks import update_wallet_balances

pytestmark = pytest.mark.django_db
D = Decimal


def test_clean_ledger_reports_ok(user):
    services.wallet_deposit(user=user, amount=D("10.00"), currency="USD", idempotency_key="d")
    summary = update_wallet_balances.apply().get()
    assert summary["ok"] is True
    assert summary["balance_drifts_repaired"] == []
    assert BalanceDrift.objects.count() == 0


def test_corrupted_cached_balance_is_recorded_and_repaired(user):
    services.wallet_deposit(user=user, amount=D("10.00"), currency="USD", idempotency_key="d")
    account = Account.objects.get(owner=user, kind="available")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE wallets_account SET balance = 999.99 WHERE id = %s", [account.pk])
    summary = update_wallet_balances.apply().get()
    assert summary["ok"] is False
    assert summary["balance_drifts_repaired"] == [account.pk]
    drift = BalanceDrift.objects.get()
    assert (drift.kind, drift.account_id, drift.found, drift.expected, drift.repaired) == (
        DriftKind.CACHED_BALANCE,
        account.pk,
        D("999.99"),
        D("10.00"),
        True,
    )
    assert balance(user) == D("10.00")
    ledger_invariants()
    # A second run finds nothing more to do.
    assert update_wallet_balances.apply().get()["ok"] is True
    assert BalanceDrift.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_unbalanced_currency_is_recorded_not_repaired(user):
    services.wallet_deposit(user=user, amount=D("10.00"), currency="USD", idempotency_key="d")
    with transaction.atomic(), connection.cursor() as cursor:
        # Only possible with triggers switched off (replication role): simulate
        # a restore from a bad dump, the case this check exists for.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "INSERT INTO wallets_entry (transaction_id, account_id, amount) "
            "SELECT transaction_id, account_id, 1 FROM wallets_entry ORDER BY id LIMIT 1"
        )
        cursor.execute("SET LOCAL session_replication_role = origin")
    summary = update_wallet_balances.apply().get()
    assert summary["unbalanced_currencies"] == ["USD"]
    drift = BalanceDrift.objects.get(kind=DriftKind.CURRENCY_SUM)
    assert (drift.found, drift.repaired) == (D("1"), False)
