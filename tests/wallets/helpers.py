"""Ledger invariant checks shared by the wallet suites (read straight from SQL)."""

from decimal import Decimal

from django.db import connection

from wallets.models import Account, AccountKind


def ledger_invariants() -> None:
    """Assert the ledger's three invariants (docs/architecture.md) hold right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.id, a.balance, COALESCE(sum(e.amount), 0)
              FROM wallets_account a LEFT JOIN wallets_entry e ON e.account_id = a.id
             GROUP BY a.id HAVING a.balance <> COALESCE(sum(e.amount), 0)
            """
        )
        assert cursor.fetchall() == [], "a cached balance differs from its entries"
        cursor.execute(
            """
            SELECT a.currency, sum(e.amount) FROM wallets_entry e
              JOIN wallets_account a ON a.id = e.account_id
             GROUP BY a.currency HAVING sum(e.amount) <> 0
            """
        )
        assert cursor.fetchall() == [], "entries of a currency do not sum to zero"
    assert not Account.objects.filter(owner__isnull=False, balance__lt=0).exists()


def balance(user, kind: str = AccountKind.AVAILABLE, currency: str = "USD") -> Decimal:
    account = Account.objects.filter(owner=user, kind=kind, currency=currency).first()
    return account.balance if account else Decimal(0)
