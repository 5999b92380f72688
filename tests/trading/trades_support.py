"""Helpers of the trade and plan suites: an instrument, prices written through
the market-data functions, money through the wallet services, and the
ledger invariants a test checks after it moved money."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from market.models import Instrument, PriceTick
from market.prices import price_record, price_recorded_mark
from tests.factories import InstrumentFactory
from wallets.models import Account, Entry
from wallets.selectors import balances_of
from wallets.services import wallet_deposit

D = Decimal


def make_instrument(symbol: str = "TRD-USD", **fields) -> Instrument:
    return InstrumentFactory(symbol=symbol, **fields)


def quote(instrument: Instrument, price: str, at: datetime | None = None) -> None:
    """The latest price, as the feed writes it."""
    price_record(prices={instrument.symbol: (D(price), at or timezone.now())})


def tick(instrument: Instrument, price: str, at: datetime) -> None:
    """A recorded price at `at` (what settlement at expiry reads), marked recorded."""
    PriceTick.objects.update_or_create(instrument=instrument, at=at, defaults={"price": D(price)})
    price_recorded_mark(symbols=[instrument.symbol], through=at)


def fund(user, amount: str) -> None:
    wallet_deposit(user=user, amount=D(amount), currency="USD", idempotency_key=f"fund-{uuid.uuid4()}")


def balance(user) -> tuple[Decimal, Decimal]:
    """(available, reserved) in USD."""
    for item in balances_of(user_id=user.pk):
        if item["currency"] == "USD":
            return D(item["available"]), D(item["reserved"])
    return D("0.00"), D("0.00")


def assert_ledger_invariants() -> None:
    """Every cached balance equals its entries, no user account below zero,
    all entries of USD sum to zero."""
    assert Entry.objects.filter(account__currency="USD").aggregate(s=Sum("amount"))["s"] in (None, D(0))
    for account in Account.objects.all():
        total = Entry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or D(0)
        assert account.balance == total, account
        if account.owner_id is not None:
            assert account.balance >= 0, account
