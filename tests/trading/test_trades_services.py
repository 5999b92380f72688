"""Trade services on real PostgreSQL and Redis: request, open, close, cancel,
with the money checked to the cent and the events in the outbox."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from core.errors import IdempotencyMismatch, NotFound
from realtime.models import Event
from tests.trading.trades_support import assert_ledger_invariants, balance, fund, make_instrument, quote
from trading.trades.errors import PriceUnavailable, TradeInvalid, TradeNotAllowed
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import (
    trade_attempt_failed,
    trade_cancel,
    trade_close,
    trade_open,
    trade_request,
)
from wallets.errors import InsufficientFunds
from wallets.models import LedgerTransaction

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def inst():
    return make_instrument("TRD-USD", fee_bps=10, price_scale=2, min_stake=D("1.00"), max_stake=D("5000.00"))


def request(user, inst, *, key="k1", stake="1000.00", side="buy", **kw):
    return trade_request(
        user=user, instrument=inst.symbol, side=side, stake=D(stake), idempotency_key=key, **kw
    )


def events(user, name=None):
    qs = Event.objects.filter(user_id=user.pk).order_by("seq")
    if name:
        qs = qs.filter(event=name)
    return list(qs)


def test_request_creates_a_queued_trade_with_its_event(user, inst):
    fund(user, "5000.00")
    result = request(user, inst)
    trade = result.trade
    assert result.created is True
    assert trade.status == TradeStatus.QUEUED
    assert trade.stake == D("1000.00")
    assert trade.duration == timedelta(hours=24)
    assert trade.task_id
    (event,) = events(user, "trade.queued")
    assert event.data["id"] == trade.pk
    assert event.data["status"] == "queued"
    assert event.data["stake"] == "1000.00"
    assert event.data["held"] == "1001.00"


def test_request_holds_stake_and_opening_fee_and_opening_charges_the_fee(user, inst):
    fund(user, "5000.00")
    trade = request(user, inst).trade
    assert (trade.fee, trade.held) == (D("1.00"), D("1001.00"))
    assert balance(user) == (D("3999.00"), D("1001.00"))
    (wallet_event,) = [e for e in events(user, "wallet.balance")][-1:]
    assert wallet_event.data["balances"][0]["reserved"] == "1001.00"
    quote(inst, "100.00")
    opened = trade_open(trade_id=trade.pk)
    assert (opened.status, opened.fee, opened.held) == (TradeStatus.OPEN, D("1.00"), D("0"))
    assert balance(user) == (D("3999.00"), D("1000.00"))
    kinds = LedgerTransaction.objects.filter(reference=f"trade:{trade.pk}").values_list("kind", "amount")
    assert sorted(kinds) == [("fee", D("1.00")), ("reserve", D("1001.00"))]
    assert_ledger_invariants()


@pytest.mark.parametrize("funds", ["0.00", "1000.00", "1000.99"])
def test_a_request_the_wallet_cannot_pay_is_refused_naming_stake_and_writes_nothing(user, inst, funds):
    if D(funds):
        fund(user, funds)  # up to the stake, but not the fee on top
    before = Event.objects.filter(user_id=user.pk).count()
    with pytest.raises(InsufficientFunds) as exc:
        request(user, inst)
    assert (exc.value.http_status, exc.value.code, exc.value.field) == (422, "insufficient_funds", "stake")
    assert "1001.00" in exc.value.message
    assert Trade.objects.count() == 0
    assert Event.objects.filter(user_id=user.pk).count() == before
    assert balance(user) == (D(funds), D("0.00"))
    assert_ledger_invariants()


def test_the_last_cent_is_enough(user, inst):
    fund(user, "1001.00")
    trade = request(user, inst).trade
    assert balance(user) == (D("0.00"), D("1001.00"))
    # The next request on the empty wallet is refused; the first trade keeps its hold.
    with pytest.raises(InsufficientFunds):
        request(user, inst, key="k2", stake="1.00")
    assert list(Trade.objects.values_list("pk", flat=True)) == [trade.pk]


def test_same_key_same_trade_other_params_refused(user, inst):
    fund(user, "5000.00")
    first = request(user, inst).trade
    again = request(user, inst)
    assert again.created is False
    assert again.trade.pk == first.pk
    with pytest.raises(IdempotencyMismatch) as exc:
        request(user, inst, stake="999.00")
    assert exc.value.http_status == 422
    assert Trade.objects.count() == 1


def test_a_repeat_gets_its_first_answer_even_when_it_would_be_refused_now(user, inst):
    fund(user, "1001.00")
    first = request(user, inst).trade
    inst.active = False
    inst.save()
    # Inactive instrument, and an empty wallet: a new request would be refused twice over.
    again = request(user, inst)
    assert (again.created, again.trade.pk) == (False, first.pk)
    with pytest.raises(IdempotencyMismatch):
        request(user, inst, stake="999.00")
    assert Trade.objects.count() == 1


def test_the_same_key_of_another_user_is_another_trade(user, other_user, inst):
    fund(user, "5000.00")
    fund(other_user, "5000.00")
    a = request(user, inst).trade
    b = request(other_user, inst).trade
    assert a.pk != b.pk


@pytest.mark.parametrize(
    ("kwargs", "field", "status"),
    [
        # 422: rules of the instrument and of the current price (the schema cannot state them)
        ({"stake": "0.50"}, "stake", 422),  # below the instrument's minimum
        ({"stake": "5000.01"}, "stake", 422),  # above its maximum
        ({"duration": 7 * 24 * 3600 + 1}, "duration", 422),
        ({"take_profit": "100.001"}, "take_profit", 422),  # more places than the price scale
        ({"take_profit": "99.00"}, "take_profit", 422),  # buy: TP must be above the price
        ({"stop_loss": "101.00"}, "stop_loss", 422),  # buy: SL must be below the price
        ({"side": "sell", "take_profit": "101.00"}, "take_profit", 422),
        ({"side": "sell", "stop_loss": "99.00"}, "stop_loss", 422),
        # 400: what the schema states, found again by the service
        ({"duration": 59}, "duration", 400),
        ({"side": "hold"}, "side", 400),
        ({"take_profit": "1e5"}, "take_profit", 400),
        ({"stop_loss": "-1"}, "stop_loss", 400),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(user, inst, kwargs, field, status):
    quote(inst, "100.00")
    with pytest.raises(TradeInvalid) as exc:
        request(user, inst, **kwargs)
    assert exc.value.field == field
    assert exc.value.http_status == status
    assert Trade.objects.count() == 0
    assert Event.objects.count() == 0


def test_unknown_instrument_names_the_field(user):
    with pytest.raises(TradeInvalid) as exc:
        trade_request(user=user, instrument="NOPE", side="buy", stake=D("10.00"), idempotency_key="x")
    assert exc.value.field == "instrument"
    assert Trade.objects.count() == 0


def test_open_reserves_stake_and_fee_to_the_cent(user, inst):
    fund(user, "5000.00")
    quote(inst, "65000.00")
    trade = request(user, inst).trade
    opened = trade_open(trade_id=trade.pk)
    assert opened.status == TradeStatus.OPEN
    assert opened.entry_price == D("65000.00")
    assert opened.quantity == D("0.01538461")
    assert opened.fee == D("1.00")
    assert opened.attempts == 1
    assert opened.expires_at == opened.opened_at + timedelta(hours=24)
    assert balance(user) == (D("3999.00"), D("1000.00"))
    (event,) = events(user, "trade.opened")
    assert event.data["entry_price"] == "65000.00000000"
    assert_ledger_invariants()


def test_a_second_delivery_does_nothing(user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = request(user, inst).trade
    trade_open(trade_id=trade.pk)
    again = trade_open(trade_id=trade.pk)
    assert again.status == TradeStatus.OPEN
    assert again.attempts == 1
    assert balance(user) == (D("3999.00"), D("1000.00"))
    assert len(events(user, "trade.opened")) == 1


def test_a_trade_queued_before_holds_existed_is_funded_at_open_or_rejected(user, inst):
    """A queued row without a hold (written before holds existed) is funded
    at its open as it used to be; a wallet that cannot pay rejects it."""
    fund(user, "1000.00")  # the stake, but not the fee on top
    quote(inst, "100.00")
    legacy = Trade.objects.create(
        user=user,
        instrument=inst,
        side="buy",
        currency="USD",
        stake=D("1000.00"),
        duration=timedelta(hours=1),
        idempotency_key="legacy",
        request_fingerprint="x",
    )
    trade = trade_open(trade_id=legacy.pk)
    assert trade.status == TradeStatus.REJECTED
    assert trade.failure_code == "insufficient_funds"
    assert trade.entry_price is None and trade.fee == D("0")
    assert balance(user) == (D("1000.00"), D("0.00"))
    (event,) = events(user, "trade.rejected")
    assert event.data["failure_code"] == "insufficient_funds"
    assert_ledger_invariants()


def test_market_closed_is_rejected(user):
    stock = make_instrument("TSTK", asset_class="equity", calendar="xnys", max_stake=D("5000.00"))
    fund(user, "5000.00")
    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    quote(stock, "100.00", at=saturday)
    trade = request(user, stock).trade
    trade = trade_open(trade_id=trade.pk, now=saturday)
    assert trade.status == TradeStatus.REJECTED
    assert trade.failure_code == "market_closed"
    # The hold went back: a rejection leaves the wallet as before the request.
    assert (trade.held, trade.fee) == (D("0"), D("0"))
    assert balance(user) == (D("5000.00"), D("0.00"))
    assert_ledger_invariants()


def test_stale_price_is_transient_and_writes_nothing(user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00", at=timezone.now() - timedelta(minutes=5))
    trade = request(user, inst).trade
    with pytest.raises(PriceUnavailable):
        trade_open(trade_id=trade.pk)
    trade.refresh_from_db()
    assert trade.status == TradeStatus.QUEUED
    assert trade.attempts == 0
    assert balance(user) == (D("3999.00"), D("1001.00"))  # still held, nothing else


@override_settings(TRADE_MAX_RETRIES=3, TRADE_RETRY_BASE_SECONDS=30)
def test_attempts_are_counted_on_the_row_and_end_after_the_last_retry(user, inst):
    fund(user, "5000.00")
    trade = request(user, inst).trade
    decisions = [
        trade_attempt_failed(trade_id=trade.pk, code="database_error", reason="boom") for _ in range(4)
    ]
    assert [d.retry for d in decisions] == [True, True, True, False]
    # 30 s x 2^(n-1), jittered into [50 %, 100 %].
    for n, decision in enumerate(decisions[:3], start=1):
        assert 15 * 2 ** (n - 1) <= decision.countdown <= 30 * 2 ** (n - 1)
    trade.refresh_from_db()
    assert trade.status == TradeStatus.FAILED
    assert trade.attempts == 4
    assert trade.failure_code == "database_error"
    retrying = events(user, "trade.retrying")
    assert [e.data["attempts"] for e in retrying] == [1, 2, 3]
    assert all(e.data["next_attempt_at"] for e in retrying)
    assert len(events(user, "trade.failed")) == 1
    assert balance(user) == (D("5000.00"), D("0.00"))  # the hold went back
    # A late duplicate of the message changes nothing.
    assert trade_attempt_failed(trade_id=trade.pk, code="database_error", reason="boom").retry is False


@override_settings(TRADE_MAX_RETRIES=1)
def test_a_price_that_never_comes_ends_rejected_stale_price(user, inst):
    fund(user, "5000.00")
    trade = request(user, inst).trade
    trade_attempt_failed(trade_id=trade.pk, code="stale_price", reason="no price")
    trade_attempt_failed(trade_id=trade.pk, code="stale_price", reason="no price")
    trade.refresh_from_db()
    assert (trade.status, trade.failure_code) == (TradeStatus.REJECTED, "stale_price")
    assert balance(user) == (D("5000.00"), D("0.00"))
    assert_ledger_invariants()


@override_settings(MAX_OPEN_TRADES=2)
def test_max_open_trades(user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00")
    statuses = [
        trade_open(trade_id=request(user, inst, key=f"k{i}", stake="10.00").trade.pk) for i in range(3)
    ]
    assert [t.status for t in statuses] == ["open", "open", "rejected"]
    assert statuses[2].failure_code == "max_open_trades"
    assert balance(user) == (D("5000.00") - D("20.00") - D("0.02"), D("20.00"))


def test_levels_crossed_before_open_is_rejected(user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = request(user, inst, take_profit="105.00").trade
    quote(inst, "106.00")
    trade = trade_open(trade_id=trade.pk)
    assert (trade.status, trade.failure_code) == (TradeStatus.REJECTED, "levels_crossed")


def test_cancel_while_queued_only_by_the_owner(user, other_user, inst):
    fund(user, "5000.00")
    trade = request(user, inst).trade
    with pytest.raises(NotFound):
        trade_cancel(user=other_user, trade_id=trade.pk)
    cancelled = trade_cancel(user=user, trade_id=trade.pk)
    assert cancelled.status == TradeStatus.CANCELLED
    assert len(events(user, "trade.cancelled")) == 1
    assert balance(user) == (D("5000.00"), D("0.00"))
    kinds = LedgerTransaction.objects.filter(reference=f"trade:{trade.pk}").values_list("kind", "amount")
    assert sorted(kinds) == [("release", D("1001.00")), ("reserve", D("1001.00"))]
    # The task arriving later does nothing.
    assert trade_open(trade_id=trade.pk).status == TradeStatus.CANCELLED


def test_an_open_trade_cannot_be_cancelled(user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = trade_open(trade_id=request(user, inst).trade.pk)
    with pytest.raises(TradeNotAllowed):
        trade_cancel(user=user, trade_id=trade.pk)


@pytest.mark.parametrize(
    ("side", "exit_price", "pnl", "available"),
    [
        # 5000 - 1000 - 1 (open fee) + 1000 + pnl - 1 (close fee)
        ("buy", "110.00", D("100.00"), D("5098.00")),
        ("buy", "95.50", D("-45.00"), D("4953.00")),
        ("sell", "110.00", D("-100.00"), D("4898.00")),
        ("sell", "95.50", D("45.00"), D("5043.00")),
    ],
)
def test_close_by_the_owner_at_the_current_price(user, inst, side, exit_price, pnl, available):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = trade_open(trade_id=request(user, inst, side=side).trade.pk)
    assert trade.quantity == D("10.00000000")
    quote(inst, exit_price)
    closed = trade_close(user=user, trade_id=trade.pk)
    assert closed.status == TradeStatus.SETTLED
    assert closed.close_reason == "user"
    assert closed.pnl == pnl
    assert closed.fee == D("2.00")
    assert balance(user) == (available, D("0.00"))
    assert len(events(user, "trade.settled")) == 1
    assert_ledger_invariants()


def test_close_refuses_another_users_trade_and_a_stale_price(user, other_user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = trade_open(trade_id=request(user, inst).trade.pk)
    with pytest.raises(NotFound):
        trade_close(user=other_user, trade_id=trade.pk)
    quote(inst, "100.00", at=timezone.now() - timedelta(minutes=5))
    with pytest.raises(PriceUnavailable):
        trade_close(user=user, trade_id=trade.pk)
    trade.refresh_from_db()
    assert trade.status == TradeStatus.OPEN
    assert balance(user) == (D("3999.00"), D("1000.00"))


def test_an_expired_trade_is_not_closed_at_todays_price(user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = trade_open(trade_id=request(user, inst).trade.pk)
    Trade.objects.filter(pk=trade.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(TradeNotAllowed) as exc:
        trade_close(user=user, trade_id=trade.pk)
    assert exc.value.code == "expired"
    assert Trade.objects.get(pk=trade.pk).status == TradeStatus.OPEN


def test_an_open_costs_a_counted_number_of_statements(user, inst, django_assert_num_queries):
    """Counted, not timed: the transaction (a savepoint inside the test's),
    the trade row lock, the trading slot lock, the open-trade count, the fee
    charged out of the hold (posting, balances, wallet.balance event; no
    savepoint of its own), the trade UPDATE and its trade.opened event."""
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade_open(trade_id=request(user, inst, key="warm").trade.pk)
    trade = request(user, inst, key="counted").trade
    with django_assert_num_queries(10):
        assert trade_open(trade_id=trade.pk).status == TradeStatus.OPEN
