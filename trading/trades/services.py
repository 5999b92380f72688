"""Writers of trades: request, open, close, settle, cancel, and the
initiation task's bookkeeping (retry scheduled, failed, swept).

Every service owns its `transaction.atomic()`, locks the trade row first
(`trading.locks`), checks the state under that lock, then moves money through
`wallets.services` and publishes the trade event in the same transaction, so
money, state and event commit together or not at all. A second call for a
trade that already moved on does nothing: that is what makes the tasks safe
to deliver twice.

A request holds stake + opening fee in its own transaction (`_trade_hold`:
a request the wallet cannot pay is refused with `InsufficientFunds` and
nothing is written); opening charges the fee out of the hold; a trade that
never opens (rejected, failed, cancelled) gets the hold back; settling
(`trade_settle_locked`) returns stake + P&L - closing fee. The arithmetic is
`trading.pnl`; docs/trading.md works an example through.
"""

from __future__ import annotations

import logging
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from celery import _state as celery_state
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.notifications import EmailKind, notify_emails, notify_emails_built
from core import idempotency
from core.errors import DomainError, IdempotencyMismatch, NotFound
from core.pgarrays import decimal_array, int_array, text_array, timestamp_array
from market.calendars import market_is_open
from market.models import Instrument
from market.prices import price_latest
from market.selectors.instruments import instrument_active
from realtime.schemas import (
    TRADE_CANCELLED,
    TRADE_FAILED,
    TRADE_OPENED,
    TRADE_QUEUED,
    TRADE_REJECTED,
    TRADE_RETRYING,
    TRADE_SETTLED,
)
from trading import pnl as arithmetic
from trading.faults import fault_point
from trading.locks import trade_lock, user_trading_slot_lock
from trading.notifications import trade_settled_mail
from trading.plans.models import Plan
from trading.trades.errors import PriceUnavailable, TradeInputInvalid, TradeInvalid, TradeNotAllowed
from trading.trades.events import trade_publish, trades_settled_prepare, trades_settled_publish
from trading.trades.inputs import parse_duration, parse_price
from trading.trades.models import CloseReason, Trade, TradeSide, TradeSource, TradeStatus
from wallets.errors import InsufficientFunds
from wallets.money import currency_scale
from wallets.services import (
    SettleItem,
    wallet_fee_charge,
    wallet_release,
    wallet_reserve,
    wallet_settle,
    wallet_settle_batch,
)

logger = logging.getLogger(__name__)

INITIATE_TASK = "trading.tasks.initiate_manual_trade"


@dataclass(frozen=True, slots=True)
class TradeRequestResult:
    trade: Trade
    created: bool


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What the initiation task does after a transient error."""

    retry: bool
    countdown: float = 0.0


def _reference(trade: Trade) -> str:
    return f"trade:{trade.pk}"


_senders_lock = threading.Lock()
_senders = 0  # threads inside `_no_result_subscription`
_saved_join_flag = False


@contextmanager
def _no_result_subscription() -> Iterator[None]:
    """Send without subscribing this process to the task's result channel.

    With the Redis result backend, `send_task` subscribes the sender to each
    task's result pub/sub channel (`RedisBackend.on_task_call`) so that a
    later `.get()` can wait; web processes never wait on a trade's task, so
    that is a round trip per request and a subscription set that only grows
    (13 % of a web process's time under bench/mixed_load.py). Celery skips it
    when joining "will block", as inside a worker; say so for the send. The
    result is still stored by the worker: the status endpoint reads its state.

    Framework internal: `celery._state._set_task_join_will_block` is private;
    upstream reads the flag in `celery/backends/redis.py`
    (`RedisBackend.on_task_call`), called from `Celery.send_task`
    (`celery/app/base.py`). tests/trading/test_celery_internals.py pins both.

    The flag is process-wide, not per thread, and sync views run on a thread
    pool: the first sender in sets it and the last one out restores it (a
    plain save/restore per thread left it set for good when two interleaved).
    """
    global _senders, _saved_join_flag
    with _senders_lock:
        if _senders == 0:
            _saved_join_flag = celery_state.task_join_will_block()
            celery_state._set_task_join_will_block(True)
        _senders += 1
    try:
        yield
    finally:
        with _senders_lock:
            _senders -= 1
            if _senders == 0:
                celery_state._set_task_join_will_block(_saved_join_flag)


def trade_enqueue(*, trade: Trade) -> None:
    """Send the initiation task for `trade` (after commit when inside a transaction).

    A lost send (broker down at that instant) is logged, not raised: the trade
    is committed and the sweeper in `cleanup_failed_trades` re-enqueues it."""
    from celery import current_app

    trade_id, task_id = trade.pk, trade.task_id

    def send() -> None:
        try:
            with _no_result_subscription():
                current_app.send_task(INITIATE_TASK, args=[trade_id], task_id=task_id)
        except Exception:
            logger.exception("enqueue of trade %s lost; the sweeper will re-enqueue it", trade_id)

    transaction.on_commit(send)


# --- request ---------------------------------------------------------------


def _instrument_for(symbol: Any) -> Instrument:
    instrument = instrument_active(symbol) if isinstance(symbol, str) else None
    if instrument is None:
        raise TradeInvalid(f"Unknown or inactive instrument {symbol!r}.", field="instrument")
    return instrument


def _check_levels(
    *, side: str, price: Decimal, take_profit: Decimal | None, stop_loss: Decimal | None
) -> None:
    """Take-profit must be on the winning side of `price`, stop-loss on the losing side."""
    long = side == TradeSide.BUY
    if take_profit is not None and (take_profit <= price if long else take_profit >= price):
        word = "above" if long else "below"
        raise TradeInvalid(f"Take-profit must be {word} the current price {price}.", field="take_profit")
    if stop_loss is not None and (stop_loss >= price if long else stop_loss <= price):
        word = "below" if long else "above"
        raise TradeInvalid(f"Stop-loss must be {word} the current price {price}.", field="stop_loss")


def trade_request(
    *,
    user: AbstractBaseUser,
    instrument: Any,
    side: str,
    stake: Decimal,
    idempotency_key: str,
    duration: int | None = None,
    take_profit: Any = None,
    stop_loss: Any = None,
    source: str = TradeSource.MANUAL,
) -> TradeRequestResult:
    """Validate a request, create a `queued` trade holding stake + opening fee;
    its opening runs in the task.

    `stake` comes from `wallets.money.parse_amount` (the edges call it).
    A wallet that cannot pay stake + fee raises `InsufficientFunds` (422,
    field `stake`) and nothing is written; concurrent requests on one wallet
    meet at its account rows, so exactly as many are accepted as it can pay.
    The same `idempotency_key` returns the first trade (`created=False`);
    with other parameters it raises `IdempotencyMismatch` (422). Fifty copies
    racing meet at the unique (user, idempotency_key) constraint."""
    prepared = _trade_prepare(
        user=user,
        instrument=instrument,
        side=side,
        stake=stake,
        idempotency_key=idempotency_key,
        duration=duration,
        take_profit=take_profit,
        stop_loss=stop_loss,
        source=source,
        # No lookup first: the INSERT's unique key finds a repeat (below), one
        # round trip fewer for every new request.
        look_first=False,
    )
    if isinstance(prepared, TradeRequestResult):
        return prepared
    trade = prepared
    try:
        with transaction.atomic():
            # A refused hold ends this transaction: no savepoint of its own.
            _trade_queue(trade, user=user, savepoint=False)
    except IntegrityError:
        # A request with this key committed first (earlier, or racing this
        # one): answer with its trade.
        existing = _with_key(user, idempotency_key)
        if existing is None:
            raise
        return _replay(existing, trade.request_fingerprint)
    return TradeRequestResult(trade=trade, created=True)


def _trade_prepare(
    *,
    user: AbstractBaseUser,
    instrument: Any,
    side: str,
    stake: Decimal,
    idempotency_key: str,
    duration: int | None,
    take_profit: Any,
    stop_loss: Any,
    source: str,
    look_first: bool = True,
) -> Trade | TradeRequestResult:
    """Every check of a request, writing nothing: the unsaved trade, or the
    replay of the first request with this key. Raises the refusal.

    `look_first=False` looks for the first request only when a check refuses
    (a repeat gets its first answer even if it would be refused now); the
    caller must then treat the INSERT's unique-key conflict as a repeat."""
    idempotency.key_check(idempotency_key)
    fingerprint = idempotency.fingerprint(
        instrument=instrument, side=side, stake=stake, duration=duration, tp=take_profit, sl=stop_loss
    )
    existing = _with_key(user, idempotency_key) if look_first else None
    if existing is not None:
        return _replay(existing, fingerprint)
    try:
        return _trade_build(
            user=user,
            instrument=instrument,
            side=side,
            stake=stake,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            duration=duration,
            take_profit=take_profit,
            stop_loss=stop_loss,
            source=source,
        )
    except DomainError:
        existing = None if look_first else _with_key(user, idempotency_key)
        if existing is None:
            raise
        return _replay(existing, fingerprint)


def _with_key(user: AbstractBaseUser, idempotency_key: str) -> Trade | None:
    return Trade.objects.filter(user_id=user.pk, idempotency_key=idempotency_key).first()


def _trade_build(
    *,
    user: AbstractBaseUser,
    instrument: Any,
    side: str,
    stake: Decimal,
    idempotency_key: str,
    fingerprint: str,
    duration: int | None,
    take_profit: Any,
    stop_loss: Any,
    source: str,
) -> Trade:
    """The unsaved trade of a request whose every check passed; raises the refusal."""
    inst = _instrument_for(instrument)
    if side not in TradeSide.values:
        raise TradeInputInvalid("Side must be buy or sell.", field="side")
    if inst.quote_currency not in settings.WALLET_CURRENCIES:
        raise TradeInvalid(f"{inst} is quoted in a currency wallets do not keep.", field="instrument")
    if not inst.min_stake <= stake <= inst.max_stake:
        raise TradeInvalid(f"The stake must be between {inst.min_stake} and {inst.max_stake}.", field="stake")
    lifetime = parse_duration(duration, instrument=inst)
    tp = parse_price(take_profit, field="take_profit", instrument=inst)
    sl = parse_price(stop_loss, field="stop_loss", instrument=inst)
    if tp is not None or sl is not None:
        quote = price_latest(inst.symbol)
        if quote.price is None or quote.stale:
            # Levels cannot be judged without a price; refuse rather than guess.
            raise PriceUnavailable(
                f"No fresh price for {inst} to check the levels against.", field="instrument"
            )
        _check_levels(side=side, price=quote.price, take_profit=tp, stop_loss=sl)

    # The opening fee depends on the stake alone, so it is known (and held) now.
    fee = arithmetic.trade_fee(
        stake=stake, fee_bps=inst.fee_bps, money_scale=currency_scale(inst.quote_currency)
    )
    return Trade(
        user_id=user.pk,
        instrument=inst,
        side=side,
        source=source,
        currency=inst.quote_currency,
        stake=stake,
        fee=fee,
        held=stake + fee,
        duration=lifetime,
        take_profit=tp,
        stop_loss=sl,
        task_id=str(uuid.uuid4()),
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
    )


def trade_request_check(
    *,
    user: AbstractBaseUser,
    instrument: Any,
    side: str,
    stake: Decimal,
    duration: int | None = None,
    take_profit: Any = None,
    stop_loss: Any = None,
) -> Trade:
    """Every check `trade_request` makes, writing nothing: the unsaved trade
    it would queue (with the `fee` and `held` it would hold), or the same
    refusal. The quote (`trading.trades.quotes`) calls this so that a preview
    can never disagree with the request it previews."""
    return _trade_build(
        user=user,
        instrument=instrument,
        side=side,
        stake=stake,
        idempotency_key="",
        fingerprint="",
        duration=duration,
        take_profit=take_profit,
        stop_loss=stop_loss,
        source=TradeSource.MANUAL,
    )


def trade_entry_price(instrument: Instrument, price: Decimal) -> Decimal:
    """The entry a trade opens at for the mark `price` (the instrument's price scale)."""
    return price.quantize(instrument.price_quantum)


def _trade_queue(trade: Trade, *, user: AbstractBaseUser, savepoint: bool = True) -> None:
    """Save a prepared trade `queued` with its hold, publish it, enqueue its
    opening (after commit). The caller holds the transaction; `savepoint`:
    see `_trade_hold`."""
    trade.save()
    _trade_hold(trade, user=user, savepoint=savepoint)
    trade_publish(trade, TRADE_QUEUED)
    trade_enqueue(trade=trade)
    logger.info(
        "trade %s queued: %s %s %s %s",
        trade.pk,
        trade.side,
        trade.instrument.symbol,
        trade.stake,
        trade.currency,
        extra={"trade_id": trade.pk, "user_id": trade.user_id, "status": trade.status},
    )


def _trade_hold(trade: Trade, *, user: AbstractBaseUser, savepoint: bool = True) -> None:
    """Hold stake + opening fee of a just-saved trade (available → reserved).

    A refused posting leaves nothing (it runs in a savepoint of its own), so
    a batch may go on to list every item it cannot pay. A single request
    needs no savepoint: its refusal rolls back its whole transaction."""
    try:
        wallet_reserve(
            user=user,
            amount=trade.held,
            currency=trade.currency,
            reference=_reference(trade),
            idempotency_key=f"{_reference(trade)}:hold",
            savepoint=savepoint,
        )
    except InsufficientFunds:
        raise InsufficientFunds(
            f"Not enough available balance: the stake {trade.stake} and its opening fee {trade.fee} "
            f"need {trade.held} {trade.currency}.",
            field="stake",
        ) from None


def _trade_unhold(trade: Trade) -> None:
    """Give a trade that will never open its hold back (reserved → available)."""
    if not trade.held:
        return  # a plan trade, or one queued before holds existed
    wallet_release(
        user=trade.user,
        amount=trade.held,
        currency=trade.currency,
        reference=_reference(trade),
        idempotency_key=f"{_reference(trade)}:unhold",
    )
    trade.held = Decimal(0)


@dataclass(frozen=True, slots=True)
class BatchItemRefusal:
    index: int
    status: int
    errors: dict[str, Any]


class BatchRefused(DomainError):
    """At least one item of a batch was refused; nothing was written.
    `items` lists each refused item (index, its own status, its errors)."""

    code = "batch_refused"

    def __init__(self, items: list[BatchItemRefusal]) -> None:
        super().__init__(f"{len(items)} item(s) refused; no trade was created.")
        self.items = items


def trade_request_batch(
    *,
    user: AbstractBaseUser,
    items: list[dict[str, Any]],
    source: str = TradeSource.BATCH,
    batch_key: str | None = None,
) -> list[TradeRequestResult]:
    """All of a batch or nothing (docs/trading.md, "Batches").

    Every item (each with its own `idempotency_key`) is checked first, writing
    nothing; one refusal raises `BatchRefused` listing every refused item.
    Then all new trades are queued, with their holds, in one transaction;
    items the wallet cannot pay (taken in order) are refused the same way and
    the transaction rolls back whole. A retried batch
    replays the trades it created; a batch racing its own copy meets the
    unique key constraint, rolls back whole, and the second pass replays.

    `batch_key`: the batch's own key, whose items without a key of their own
    are `<batch_key>:<index>`. A batch under a used key must be the same
    batch: one with more or fewer of those items is refused whole
    (`IdempotencyMismatch`), not partly replayed and partly new."""
    if batch_key is not None:
        _batch_replay_check(user=user, items=items, batch_key=batch_key)
    for attempt in (1, 2):
        prepared: list[Trade | TradeRequestResult] = []
        refused: list[BatchItemRefusal] = []
        seen: set[str] = set()
        for index, item in enumerate(items):
            try:
                key = item.get("idempotency_key")
                if key in seen:
                    # Two items of one batch cannot be one trade.
                    raise TradeInvalid("This key is used by an earlier item.", field="idempotency_key")
                seen.add(str(key))
                prepared.append(_trade_prepare(user=user, source=source, **_batch_item_defaults(item)))
            except DomainError as exc:
                errors: dict[str, Any] = {"code": exc.code, "detail": exc.message}
                if exc.field:
                    errors[exc.field] = [exc.message]
                refused.append(BatchItemRefusal(index=index, status=exc.http_status, errors=errors))
        if refused:
            raise BatchRefused(refused)
        try:
            with transaction.atomic():
                for index, entry in enumerate(prepared):
                    if isinstance(entry, Trade):
                        try:
                            _trade_queue(entry, user=user)
                        except InsufficientFunds as exc:
                            errors = {"code": exc.code, "detail": exc.message, "stake": [exc.message]}
                            refused.append(
                                BatchItemRefusal(index=index, status=exc.http_status, errors=errors)
                            )
                if refused:
                    raise BatchRefused(refused)  # rolls back every hold and trade of the batch
        except IntegrityError:
            if attempt == 2:
                raise
            continue
        return [
            entry if isinstance(entry, TradeRequestResult) else TradeRequestResult(trade=entry, created=True)
            for entry in prepared
        ]
    raise AssertionError("unreachable")  # pragma: no cover


def _batch_replay_check(*, user: AbstractBaseUser, items: list[dict[str, Any]], batch_key: str) -> None:
    possible = {f"{batch_key}:{index}" for index in range(settings.TRADE_BATCH_MAX_ITEMS)}
    sent = {item["idempotency_key"] for item in items} & possible
    earlier = set(
        Trade.objects.filter(user_id=user.pk, idempotency_key__in=possible).values_list(
            "idempotency_key", flat=True
        )
    )
    if earlier and earlier != sent:
        raise IdempotencyMismatch(
            f"This Idempotency-Key was already used for a batch of {len(earlier)} trades; "
            "a retry must send the same batch.",
            field="idempotency_key",
        )


def _batch_item_defaults(item: dict[str, Any]) -> dict[str, Any]:
    return {"duration": None, "take_profit": None, "stop_loss": None, **item}


def _replay(existing: Trade, fingerprint: str) -> TradeRequestResult:
    idempotency.replay_check(stored=existing.request_fingerprint, fingerprint=fingerprint, what="a trade")
    return TradeRequestResult(trade=existing, created=False)


# --- open ------------------------------------------------------------------


def _end_unopened(trade: Trade, *, status: str, event: str, code: str, reason: str) -> Trade:
    """A queued trade that will never open: its final state, event and log line."""
    trade.status = status
    trade.failure_code = code
    trade.failure_reason = reason[:300]
    trade.next_attempt_at = None
    _trade_unhold(trade)
    trade.fee = Decimal(0)  # never charged: the trade never opened
    trade.save()
    trade_publish(trade, event)
    # Rejections name their code (the user's reason); failures say what gave up.
    detail = f"{code} ({trade.failure_reason})" if status == TradeStatus.REJECTED else trade.failure_reason
    logger.info(
        "trade %s %s: %s",
        trade.pk,
        status,
        detail,
        extra={"trade_id": trade.pk, "user_id": trade.user_id, "status": status, "code": code},
    )
    return trade


def _reject(trade: Trade, *, code: str, message: str) -> Trade:
    """A business refusal: final, with the reason for the user."""
    # A refusal after pricing leaves no half-filled entry behind.
    trade.entry_price = trade.quantity = trade.liquidation_price = None
    trade.opened_at = trade.expires_at = None
    return _end_unopened(trade, status=TradeStatus.REJECTED, event=TRADE_REJECTED, code=code, reason=message)


def _fail(trade: Trade, *, code: str, reason: str) -> Trade:
    """Given up after retries, or never picked up by a worker."""
    return _end_unopened(trade, status=TradeStatus.FAILED, event=TRADE_FAILED, code=code, reason=reason)


def _entry_refusal(trade: Trade, *, now: datetime) -> tuple[str, str] | None:
    """The business rule that forbids opening now, as (code, message), or None.

    Raises `PriceUnavailable` (transient) when there is no fresh price."""
    inst = trade.instrument
    if not inst.active:
        return "instrument_inactive", f"{inst} is not trading."
    try:
        if not market_is_open(inst, now):
            return "market_closed", f"The {inst} market is closed."
    except DomainError as exc:
        return exc.code, exc.message
    if not inst.min_stake <= trade.stake <= inst.max_stake:
        return "limit_exceeded", f"The stake must be between {inst.min_stake} and {inst.max_stake}."
    return None


def _fill(trade: Trade, *, now: datetime) -> tuple[str, str] | None:
    """Price the entry of a locked queued trade; a refusal as (code, message) or None."""
    inst = trade.instrument
    quote = price_latest(inst.symbol, now=now)
    if quote.price is None or quote.stale:
        raise PriceUnavailable(f"No fresh price for {inst}.", field="instrument")
    entry = trade_entry_price(inst, quote.price)
    try:
        _check_levels(side=trade.side, price=entry, take_profit=trade.take_profit, stop_loss=trade.stop_loss)
    except TradeInvalid as exc:
        return "levels_crossed", f"The price moved past a level before the trade opened: {exc.message}"
    quantity = arithmetic.trade_quantity(stake=trade.stake, entry=entry, quantity_scale=inst.quantity_scale)
    if quantity <= 0:
        return "stake_too_small", f"The stake buys nothing at {entry}."
    trade.entry_price = entry
    trade.quantity = quantity
    trade.liquidation_price = arithmetic.liquidation_price(
        side=trade.side, quantity=quantity, entry=entry, stake=trade.stake, price_scale=inst.price_scale
    )
    if not trade.held:
        # A held trade keeps the fee it was quoted (and holds) at its request.
        trade.fee = arithmetic.trade_fee(
            stake=trade.stake, fee_bps=inst.fee_bps, money_scale=currency_scale(trade.currency)
        )
    trade.opened_at = now
    trade.expires_at = now + trade.duration
    return None


def _fund(trade: Trade, *, reference: str, plan: Plan | None) -> None:
    """Fund the position: charge the opening fee out of the request's hold
    (the stake stays reserved); or, for a plan trade (and one queued before
    holds existed), reserve stake + opening fee now."""
    if trade.held:
        if trade.fee:
            wallet_fee_charge(
                user=trade.user,
                fee=trade.fee,
                currency=trade.currency,
                reference=reference,
                idempotency_key=f"{reference}:fee",
            )
        trade.held = Decimal(0)
        return
    if plan is not None:
        # The plan's money is already reserved: take stake + fee out of the
        # plan's reserve and book them like any trade's.
        wallet_release(
            user=trade.user,
            amount=trade.stake + trade.fee,
            currency=trade.currency,
            reference=reference,
            idempotency_key=f"{reference}:plan-fund",
        )
    wallet_reserve(
        user=trade.user,
        amount=trade.stake,
        fee=trade.fee,
        currency=trade.currency,
        reference=reference,
        idempotency_key=f"{reference}:open",
    )


def trade_open_locked(trade: Trade, *, now: datetime, plan: Plan | None = None) -> Trade:
    """Open a queued trade the caller has locked (and its plan, for a plan trade).

    Business refusals end as `rejected` with a code and return normally;
    `PriceUnavailable` and database errors propagate (the caller's
    transaction rolls back, nothing changed)."""
    trade.attempts += 1
    trade.next_attempt_at = None
    refusal = _entry_refusal(trade, now=now) or _fill(trade, now=now)
    if refusal is not None:
        return _reject(trade, code=refusal[0], message=refusal[1])

    user_trading_slot_lock(user_id=trade.user_id)
    open_count = Trade.objects.filter(user_id=trade.user_id, status=TradeStatus.OPEN).count()
    if open_count >= settings.MAX_OPEN_TRADES:
        return _reject(
            trade,
            code="max_open_trades",
            message=f"At most {settings.MAX_OPEN_TRADES} open trades at a time.",
        )
    reference = _reference(trade)
    if trade.held:
        # The fee comes out of the request's hold, which covers it: it cannot
        # be short, so no savepoint to fall back to (two statements fewer).
        _fund(trade, reference=reference, plan=plan)
    else:
        try:
            with transaction.atomic():  # one savepoint: a refusal undoes every posting of the open
                _fund(trade, reference=reference, plan=plan)
        except InsufficientFunds:
            return _reject(
                trade, code="insufficient_funds", message="Not enough available balance for stake and fee."
            )
    fault_point("trade_open.reserved")
    if plan is not None:
        plan.reserve -= trade.stake + trade.fee
        plan.fees += trade.fee
    trade.status = TradeStatus.OPEN
    trade.failure_code = trade.failure_reason = ""
    trade.save()
    if plan is not None:
        plan.save()
    trade_publish(trade, TRADE_OPENED)
    logger.info(
        "trade %s opened at %s on attempt %s",
        trade.pk,
        trade.entry_price,
        trade.attempts,
        extra={"trade_id": trade.pk, "user_id": trade.user_id, "status": trade.status},
    )
    return trade


def trade_open(*, trade_id: int, now: datetime | None = None) -> Trade:
    """Open a queued trade (the initiation task's one call). Idempotent: a trade
    that is no longer queued is returned unchanged. `now` is for tests."""
    with transaction.atomic():
        trade = trade_lock(trade_id=trade_id)
        if trade.status != TradeStatus.QUEUED:
            return trade
        fault_point("trade_open")
        return trade_open_locked(trade, now=now or timezone.now())


def retry_countdown(attempt: int) -> float:
    """Seconds before retry number `attempt` (1-based): base x 2^(attempt-1),
    with jitter in [50 %, 100 %] of it so retries of many trades spread out."""
    ceiling = settings.TRADE_RETRY_BASE_SECONDS * 2 ** (attempt - 1)
    return ceiling * secrets.SystemRandom().uniform(0.5, 1.0)


def trade_attempt_failed(*, trade_id: int, code: str, reason: str) -> RetryDecision:
    """Record a transient failure of an opening attempt; decide whether to retry.

    Counted on the trade row (not the message), so a duplicate delivery cannot
    buy extra retries. After `TRADE_MAX_RETRIES` retries the trade ends:
    `rejected: stale_price` when the price never came (docs/architecture.md lists it among
    business refusals), else `failed` with the reason; either way its hold
    goes back (`_end_unopened`)."""
    with transaction.atomic():
        trade = trade_lock(trade_id=trade_id)
        if trade.status != TradeStatus.QUEUED:
            return RetryDecision(retry=False)
        trade.attempts += 1
        if trade.attempts > settings.TRADE_MAX_RETRIES:
            if code == PriceUnavailable.code:
                _reject(trade, code=code, message=f"No fresh price after {trade.attempts} attempts.")
            else:
                _fail(trade, code=code, reason=f"Gave up after {trade.attempts} attempts: {reason}")
            return RetryDecision(retry=False)
        countdown = retry_countdown(trade.attempts)
        retry_at = timezone.now() + timedelta(seconds=countdown)
        trade.next_attempt_at = retry_at
        trade.failure_reason = reason[:300]
        trade.save()
        trade_publish(trade, TRADE_RETRYING)
        logger.info(
            "trade %s retrying: attempt %s failed (%s: %s), next try at %s",
            trade.pk,
            trade.attempts,
            code,
            trade.failure_reason,
            retry_at.isoformat(),
            extra={
                "trade_id": trade.pk,
                "user_id": trade.user_id,
                "status": "retrying",
                "code": code,
                "attempt": trade.attempts,
                "retry_at": retry_at.isoformat(),
            },
        )
        return RetryDecision(retry=True, countdown=countdown)


# --- cancel, close, settle ---------------------------------------------------


def _owned_locked(*, user: AbstractBaseUser, trade_id: int) -> Trade:
    try:
        trade = trade_lock(trade_id=trade_id)
    except Trade.DoesNotExist:
        raise NotFound("No such trade.") from None
    if trade.user_id != user.pk:
        raise NotFound("No such trade.")
    return trade


def trade_cancel(*, user: AbstractBaseUser, trade_id: int) -> Trade:
    """Cancel the owner's trade while it is queued; its hold goes back."""
    with transaction.atomic():
        trade = _owned_locked(user=user, trade_id=trade_id)
        if trade.status == TradeStatus.CANCELLED:
            return trade
        if trade.status != TradeStatus.QUEUED:
            raise TradeNotAllowed(f"Only a queued trade can be cancelled; this one is {trade.status}.")
        trade.status = TradeStatus.CANCELLED
        trade.next_attempt_at = None
        trade.closed_at = timezone.now()
        _trade_unhold(trade)
        trade.fee = Decimal(0)
        trade.save()
        trade_publish(trade, TRADE_CANCELLED)
        logger.info(
            "trade %s cancelled by its owner",
            trade.pk,
            extra={"trade_id": trade.pk, "user_id": trade.user_id, "status": trade.status},
        )
        return trade


def _settlement_of(trade: Trade, *, exit_price: Decimal) -> arithmetic.Settlement:
    assert trade.entry_price is not None and trade.quantity is not None  # open: DB constraint
    return arithmetic.trade_settlement(
        side=trade.side,
        quantity=trade.quantity,
        entry=trade.entry_price,
        exit=exit_price,
        stake=trade.stake,
        fee_bps=trade.instrument.fee_bps,
        money_scale=currency_scale(trade.currency),
    )


def _mark_settled(trade: Trade, result: arithmetic.Settlement, *, reason: str, at: datetime) -> None:
    trade.status = TradeStatus.SETTLED
    trade.exit_price = result.exit_price
    trade.closed_at = at
    trade.close_reason = reason
    trade.pnl = result.pnl
    trade.fee += result.fee


def trade_settle_locked(
    trade: Trade, *, exit_price: Decimal, reason: str, at: datetime, plan: Plan | None = None
) -> Trade:
    """Close an open trade the caller has locked (and its plan, for a plan trade)
    at `exit_price`: stake + P&L - closing fee return to available (for a plan
    trade, back into the plan's reserve)."""
    result = _settlement_of(trade, exit_price=exit_price)
    reference = _reference(trade)
    wallet_settle(
        user=trade.user,
        stake=trade.stake,
        pnl=result.pnl,
        fee=result.fee,
        currency=trade.currency,
        reference=reference,
        idempotency_key=f"{reference}:settle",
    )
    back = trade.stake + result.pnl - result.fee
    if plan is not None:
        if back > 0:
            wallet_reserve(
                user=trade.user,
                amount=back,
                currency=trade.currency,
                reference=reference,
                idempotency_key=f"{reference}:plan-return",
            )
        plan.reserve += back
        plan.realised_pnl += result.pnl
        plan.fees += result.fee
        plan.save()
    _mark_settled(trade, result, reason=reason, at=at)
    trade.save()
    trade_publish(trade, TRADE_SETTLED)
    logger.info(
        "trade %s settled: %s at %s, pnl %s",
        trade.pk,
        reason,
        trade.exit_price,
        trade.pnl,
        extra={
            "trade_id": trade.pk,
            "user_id": trade.user_id,
            "status": trade.status,
            "close_reason": reason,
            "pnl": str(trade.pnl),
        },
    )
    if plan is None:  # a plan's trades are summed up in its maturity mail
        notify_emails(kind=EmailKind.SETTLEMENT, mails=[trade_settled_mail(trade)])
    return trade


@dataclass(frozen=True, slots=True)
class SettleOrder:
    trade: Trade
    exit_price: Decimal
    reason: str
    at: datetime


# One statement for the whole batch (Django's bulk_update builds a CASE per
# field and row in Python, which cost more than the rest of settlement).
_SETTLED_UPDATE = """
UPDATE trading_trade AS t
   SET status = 'settled', exit_price = v.exit_price, closed_at = v.closed_at,
       close_reason = v.close_reason, pnl = v.pnl, fee = v.fee, updated_at = %(now)s
  FROM unnest(%(ids)s::bigint[], %(exit_prices)s::numeric[], %(closed_at)s::timestamptz[],
              %(reasons)s::text[], %(pnls)s::numeric[], %(fees)s::numeric[])
       AS v(id, exit_price, closed_at, close_reason, pnl, fee)
 WHERE t.id = v.id AND t.status = 'open'
"""


def _settled_update(*, orders: list[SettleOrder], now: datetime) -> None:
    trades = [o.trade for o in orders]
    params: dict[str, Any] = {
        "now": now,
        "ids": int_array(t.pk for t in trades),
        "exit_prices": decimal_array(t.exit_price for t in trades),
        "closed_at": timestamp_array(t.closed_at for t in trades),
        "reasons": text_array(t.close_reason for t in trades),
        "pnls": decimal_array(t.pnl for t in trades),
        "fees": decimal_array(t.fee for t in trades),
    }
    with connection.cursor() as cursor:
        cursor.execute(_SETTLED_UPDATE, params)
        # The caller holds every row's lock and saw it open: all must change.
        if cursor.rowcount != len(trades):
            raise RuntimeError(f"settled {cursor.rowcount} of {len(trades)} locked open trades")


def _log_settled_batch(orders: list[SettleOrder]) -> None:
    """One INFO line per batch (up to `SETTLEMENT_BATCH_SIZE`, 500, trades)
    naming every trade id, so a grep for a trade id finds its settlement; the
    per-trade line with reason and P&L is DEBUG, and not even built unless
    DEBUG is on: 500 formatted lines per batch would cost more than the batch's
    UPDATE."""
    ids = [o.trade.pk for o in orders]
    logger.info(
        "settled %s trades in one batch: %s",
        len(ids),
        " ".join(map(str, ids)),
        extra={"trade_ids": ids, "status": TradeStatus.SETTLED},
    )
    if not logger.isEnabledFor(logging.DEBUG):
        return
    for order in orders:
        trade = order.trade
        logger.debug(
            "trade %s settled: %s at %s, pnl %s",
            trade.pk,
            trade.close_reason,
            trade.exit_price,
            trade.pnl,
            extra={
                "trade_id": trade.pk,
                "user_id": trade.user_id,
                "status": trade.status,
                "close_reason": trade.close_reason,
                "pnl": str(trade.pnl),
            },
        )


def trades_settle_locked(*, orders: list[SettleOrder]) -> None:
    """Settle many open trades (not plan trades) the caller has locked, in one
    ledger batch (`wallet_settle_batch`) and one UPDATE; each still gets its
    own ledger transaction and `trade.settled` event. All or nothing: on an
    error the caller's savepoint rolls back every one of them.

    The trades' UPDATE and the building of their events go first: the rows
    are the caller's already, and the ledger batch then holds the hot
    platform accounts' locks (which every concurrent sweep needs) only for
    what must follow it: writing the events (the event counters come last
    in the lock order) and the commit."""
    if not orders:
        return
    by_currency: dict[str, list[SettleItem]] = {}
    now = timezone.now()
    for order in orders:
        trade = order.trade
        assert trade.plan_id is None, "plan trades settle one by one, under their plan's lock"
        result = _settlement_of(trade, exit_price=order.exit_price)
        reference = _reference(trade)
        by_currency.setdefault(trade.currency, []).append(
            SettleItem(
                user_id=trade.user_id,
                stake=trade.stake,
                pnl=result.pnl,
                fee=result.fee,
                reference=reference,
                idempotency_key=f"{reference}:settle",
            )
        )
        _mark_settled(trade, result, reason=order.reason, at=order.at)
        trade.updated_at = now
    _settled_update(orders=orders, now=now)
    trades = [o.trade for o in orders]
    events = trades_settled_prepare(trades)
    for currency, items in by_currency.items():
        wallet_settle_batch(currency=currency, items=items)
    trades_settled_publish(events)
    # After the events: on commit, the socket sends are handed over before any mail goes.
    notify_emails_built(
        kind=EmailKind.SETTLEMENT, items=trades, user_id=_trade_user, build=trade_settled_mail
    )
    _log_settled_batch(orders)


def _trade_user(trade: Trade) -> int:
    return trade.user_id


def _expired_message(expires_at: datetime) -> str:
    at = expires_at.astimezone(UTC).strftime("%H:%M:%S")
    return f"This trade expired at {at} UTC and is being settled at the expiry price."


def trade_close(*, user: AbstractBaseUser, trade_id: int) -> Trade:
    """The owner closes an open trade at the current price."""
    with transaction.atomic():
        trade = _owned_locked(user=user, trade_id=trade_id)
        if trade.status != TradeStatus.OPEN:
            raise TradeNotAllowed(f"Only an open trade can be closed; this one is {trade.status}.")
        if trade.plan_id is not None:
            raise TradeNotAllowed(
                "This trade belongs to a plan; cancel the plan to close it.", code="plan_trade"
            )
        now = timezone.now()
        if trade.expires_at is not None and trade.expires_at <= now:
            # Past expiry the price is the one recorded at expiry, not now's.
            raise TradeNotAllowed(_expired_message(trade.expires_at), code="expired")
        if not market_is_open(trade.instrument, now):
            raise TradeNotAllowed(f"The {trade.instrument} market is closed.", code="market_closed")
        quote = price_latest(trade.instrument.symbol, now=now)
        if quote.price is None or quote.stale:
            raise PriceUnavailable(f"No fresh price for {trade.instrument}; try again shortly.")
        exit_price = quote.price.quantize(trade.instrument.price_quantum)
        return trade_settle_locked(trade, exit_price=exit_price, reason=CloseReason.USER, at=now)


# --- the sweeper (cleanup_failed_trades) -------------------------------------


def trade_queued_sweep(*, now: datetime | None = None) -> tuple[int, int]:
    """Fail queued trades older than `QUEUED_TIMEOUT`; re-enqueue those whose
    task is overdue by `TRADE_SWEEP_AFTER_SECONDS` (its enqueue was lost).

    Returns (failed, re-enqueued). A re-enqueue of a task that was not lost
    after all is harmless: `trade_open` does nothing for a trade that moved on."""
    now = now or timezone.now()
    timeout = now - timedelta(seconds=settings.QUEUED_TIMEOUT)
    overdue = now - timedelta(seconds=settings.TRADE_SWEEP_AFTER_SECONDS)
    failed = requeued = 0
    for trade_id in Trade.objects.filter(status=TradeStatus.QUEUED, created_at__lt=timeout).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            trade = trade_lock(trade_id=trade_id)
            if trade.status != TradeStatus.QUEUED:
                continue
            _fail(trade, code="queued_timeout", reason=f"Not opened within {settings.QUEUED_TIMEOUT} s.")
            failed += 1
    stuck = Trade.objects.filter(status=TradeStatus.QUEUED, created_at__lt=overdue, created_at__gte=timeout)
    for trade in stuck.exclude(next_attempt_at__gte=overdue):
        trade_enqueue(trade=trade)
        requeued += 1
    return failed, requeued
