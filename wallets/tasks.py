"""Celery tasks of the wallets app: thin wrappers around services."""

from typing import Any

from celery import shared_task

from wallets.reconcile import ledger_reconcile


@shared_task(name="wallets.tasks.update_wallet_balances")
def update_wallet_balances() -> dict[str, Any]:
    """Check the ledger invariants, record and repair drift (docs/ledger.md).

    Idempotent and safe to overlap with itself; no retry policy: the next
    scheduled run (06:00 and 18:00 UTC) is the retry."""
    return ledger_reconcile()
