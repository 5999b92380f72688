"""Wallet services: every way money moves.

Each service takes keyword-only arguments and an idempotency key, owns its
`transaction.atomic()`, and goes through `wallets.ledger.ledger_post`, which
locks accounts in id order, refuses to take a user account below zero
(`InsufficientFunds`) and publishes `wallet.balance`. The same key returns the
first result; the same key with other parameters raises `IdempotencyMismatch`.

Amounts given to these functions are already validated `Decimal`s at the
currency's scale (`wallets.money.parse_amount` at the edge); services still
refuse non-positive or over-scale amounts, since the trading app calls them
with computed values.

Who may call what: any user moves their own money; `wallet_adjust` and the
withdrawal decisions need a staff user.
"""

from collections.abc import Sequence
from decimal import Decimal
from functools import partial
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.idempotency import fingerprint, key_check
from wallets.batch import PostingSpec, ledger_post_batch
from wallets.errors import Conflict, DepositLimitExceeded, Forbidden, InvalidAmount, InvalidRequest, NotFound
from wallets.events import withdrawal_decided_publish
from wallets.ledger import (
    Leg,
    Posting,
    day_start,
    ledger_post,
    retry_on_conflict,
    transaction_find,
)
from wallets.locks import withdrawal_lock
from wallets.models import (
    AccountKind,
    LedgerTransaction,
    TransactionKind,
    WithdrawalRequest,
    WithdrawalStatus,
)
from wallets.money import currency_scale, max_amount, quantize

AVAILABLE = AccountKind.AVAILABLE
RESERVED = AccountKind.RESERVED
EXTERNAL = AccountKind.EXTERNAL
VENUE = AccountKind.VENUE
FEES = AccountKind.FEES


def _check_amount(
    amount: Decimal,
    *,
    currency: str,
    field: str,
    allow_zero: bool = False,
    scale: int | None = None,
    maximum: Decimal | None = None,
) -> Decimal:
    """Refuse amounts a caller computed wrongly: float, non-finite, over-scale, out of range.

    `scale` and `maximum` (the currency's scale, `max_amount()`) may be given
    by a caller that checks many amounts (a batch reads the settings once)."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidAmount("Amounts are finite Decimals.", field=field)
    if scale is None:
        scale = currency_scale(currency)
    if maximum is None:
        maximum = max_amount()
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked above
    if exponent < -scale and amount != amount.quantize(Decimal(1).scaleb(-scale)):
        raise InvalidAmount(f"At most {scale} decimal places for {currency}.", field=field)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidAmount("The amount must be greater than zero.", field=field)
    if amount > maximum:
        raise InvalidAmount(f"The amount must be at most {maximum}.", field=field)
    return amount


def _check_reference(reference: str) -> str:
    if not isinstance(reference, str) or len(reference) > 100:
        raise InvalidRequest("A reference is at most 100 characters.", field="reference")
    return reference


def _require_staff(user: AbstractBaseUser) -> None:
    if not getattr(user, "is_staff", False):
        raise Forbidden("Only staff may do this.")


@retry_on_conflict
def wallet_deposit(
    *, user: AbstractBaseUser, amount: Decimal, currency: str, idempotency_key: str
) -> LedgerTransaction:
    """Demo deposit: external → available, at most `DEMO_DEPOSIT_DAILY_LIMIT` per UTC day.

    The limit is checked under the lock of the user's accounts, so two
    concurrent deposits cannot both slip under it."""
    _check_amount(amount, currency=currency, field="amount")
    key = key_check(idempotency_key)
    limit = Decimal(str(settings.DEMO_DEPOSIT_DAILY_LIMIT))

    def within_daily_limit(tx: LedgerTransaction) -> None:
        today = LedgerTransaction.objects.filter(
            user_id=user.pk,
            kind=TransactionKind.DEPOSIT,
            currency=currency,
            created_at__gte=day_start(tx.created_at),
        ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
        if today > limit:
            raise DepositLimitExceeded(
                f"Demo deposits are limited to {limit} {currency} per day; "
                f"{quantize(limit - (today - amount), currency)} {currency} left today.",
                field="amount",
            )

    with transaction.atomic():
        posting = ledger_post(
            user_id=user.pk,
            kind=TransactionKind.DEPOSIT,
            currency=currency,
            amount=amount,
            legs=[Leg(None, EXTERNAL, -amount), Leg(user.pk, AVAILABLE, amount)],
            reference="demo-deposit",
            idempotency_key=key,
            fingerprint=fingerprint(amount=amount, currency=currency),
            under_lock=within_daily_limit,
        )
    return posting.transaction


@retry_on_conflict
def wallet_withdrawal_request(
    *, user: AbstractBaseUser, amount: Decimal, currency: str, idempotency_key: str
) -> WithdrawalRequest:
    """Hold `amount` (available → reserved) until staff decide."""
    _check_amount(amount, currency=currency, field="amount")
    key = key_check(idempotency_key)
    with transaction.atomic():
        posting = ledger_post(
            user_id=user.pk,
            kind=TransactionKind.WITHDRAWAL_REQUEST,
            currency=currency,
            amount=amount,
            legs=[Leg(user.pk, AVAILABLE, -amount), Leg(user.pk, RESERVED, amount)],
            reference="withdrawal",
            idempotency_key=key,
            fingerprint=fingerprint(amount=amount, currency=currency),
        )
        if posting.replayed:
            return WithdrawalRequest.objects.get(request_transaction=posting.transaction)
        return WithdrawalRequest.objects.create(
            user_id=user.pk, currency=currency, amount=amount, request_transaction=posting.transaction
        )


def _withdrawal_decide(
    *,
    staff: AbstractBaseUser,
    withdrawal_id: int,
    approve: bool,
    reason: str,
    idempotency_key: str,
) -> WithdrawalRequest:
    _require_staff(staff)
    key = key_check(idempotency_key)
    kind = TransactionKind.WITHDRAWAL_APPROVE if approve else TransactionKind.WITHDRAWAL_REJECT
    with transaction.atomic():
        # Lock order: the withdrawal row first, then (in ledger_post) accounts.
        try:
            withdrawal = withdrawal_lock(withdrawal_id=withdrawal_id)
        except WithdrawalRequest.DoesNotExist:
            raise NotFound("No such withdrawal request.") from None
        params_hash = fingerprint(withdrawal=withdrawal.pk, reason=reason)
        if LedgerTransaction.objects.filter(
            user_id=withdrawal.user_id, kind=kind, idempotency_key=key
        ).exists():
            transaction_find(
                user_id=withdrawal.user_id, kind=kind, idempotency_key=key, fingerprint=params_hash
            )
            return withdrawal
        if withdrawal.status != WithdrawalStatus.PENDING:
            raise Conflict(f"This withdrawal is already {withdrawal.status}.", field="status")
        amount = withdrawal.amount
        target = EXTERNAL if approve else AVAILABLE
        posting = ledger_post(
            user_id=withdrawal.user_id,
            kind=kind,
            currency=withdrawal.currency,
            amount=amount,
            legs=[
                Leg(withdrawal.user_id, RESERVED, -amount),
                Leg(None if approve else withdrawal.user_id, target, amount),
            ],
            reference=f"withdrawal:{withdrawal.pk}",
            idempotency_key=key,
            fingerprint=params_hash,
            memo=reason,
            created_by_id=staff.pk,
        )
        withdrawal.status = WithdrawalStatus.APPROVED if approve else WithdrawalStatus.REJECTED
        withdrawal.decision_transaction = posting.transaction
        withdrawal.decided_by_id = staff.pk
        withdrawal.decision_reason = reason
        withdrawal.decided_at = timezone.now()
        withdrawal.save(
            update_fields=["status", "decision_transaction", "decided_by", "decision_reason", "decided_at"]
        )
        # Last, after the ledger's accounts: the project's one lock order.
        withdrawal_decided_publish(
            user_id=withdrawal.user_id,
            withdrawal_id=withdrawal.pk,
            approved=approve,
            amount=amount,
            currency=withdrawal.currency,
            reason=reason,
        )
        return withdrawal


@retry_on_conflict
def wallet_withdrawal_approve(
    *, staff: AbstractBaseUser, withdrawal_id: int, idempotency_key: str, reason: str = ""
) -> WithdrawalRequest:
    """Pay out a pending withdrawal: reserved → external."""
    return _withdrawal_decide(
        staff=staff, withdrawal_id=withdrawal_id, approve=True, reason=reason, idempotency_key=idempotency_key
    )


@retry_on_conflict
def wallet_withdrawal_reject(
    *, staff: AbstractBaseUser, withdrawal_id: int, idempotency_key: str, reason: str = ""
) -> WithdrawalRequest:
    """Refuse a pending withdrawal: reserved → available."""
    return _withdrawal_decide(
        staff=staff,
        withdrawal_id=withdrawal_id,
        approve=False,
        reason=reason,
        idempotency_key=idempotency_key,
    )


@retry_on_conflict
def wallet_adjust(
    *,
    staff: AbstractBaseUser,
    user: AbstractBaseUser,
    amount: Decimal,
    currency: str,
    direction: str,
    reason: str,
    idempotency_key: str,
) -> LedgerTransaction:
    """Staff correction against the external account: `credit` adds to the
    user's available balance, `debit` takes from it (never below zero)."""
    _require_staff(staff)
    _check_amount(amount, currency=currency, field="amount")
    key = key_check(idempotency_key)
    if direction not in ("credit", "debit"):
        raise InvalidRequest("Direction is 'credit' or 'debit'.", field="direction")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidRequest("A reason is required for an adjustment.", field="reason")
    signed = amount if direction == "credit" else -amount
    with transaction.atomic():
        posting = ledger_post(
            user_id=user.pk,
            kind=TransactionKind.ADJUSTMENT,
            currency=currency,
            amount=amount,
            legs=[Leg(None, EXTERNAL, -signed), Leg(user.pk, AVAILABLE, signed)],
            reference=f"adjustment:{direction}",
            idempotency_key=key,
            fingerprint=fingerprint(amount=amount, currency=currency, direction=direction, reason=reason),
            memo=reason.strip(),
            created_by_id=staff.pk,
        )
    return posting.transaction


def _post(*, savepoint: bool = True, **kwargs: Any) -> LedgerTransaction:
    """`ledger_post` in a savepoint of its own (when inside a transaction),
    so a refused posting leaves the caller's transaction usable; without
    one, any error of the posting ends the caller's transaction."""
    with transaction.atomic(savepoint=savepoint):
        posting: Posting = ledger_post(**kwargs)
    return posting.transaction


@retry_on_conflict
def wallet_reserve(
    *,
    user: AbstractBaseUser,
    amount: Decimal,
    currency: str,
    reference: str,
    idempotency_key: str,
    fee: Decimal = Decimal(0),
    savepoint: bool = True,
) -> LedgerTransaction:
    """Set `amount` aside (available → reserved) and charge `fee` (available → fees).

    With `savepoint=False` a refusal ends the caller's transaction: for a
    caller that would end it anyway (a single trade request), two
    statements fewer."""
    _check_amount(amount, currency=currency, field="amount")
    _check_amount(fee, currency=currency, field="fee", allow_zero=True)
    return _post(
        savepoint=savepoint,
        user_id=user.pk,
        kind=TransactionKind.RESERVE,
        currency=currency,
        amount=amount,
        legs=[
            Leg(user.pk, AVAILABLE, -(amount + fee)),
            Leg(user.pk, RESERVED, amount),
            Leg(None, FEES, fee),
        ],
        reference=_check_reference(reference),
        idempotency_key=key_check(idempotency_key),
        fingerprint=fingerprint(amount=amount, currency=currency, reference=reference, fee=fee),
    )


@retry_on_conflict
def wallet_release(
    *, user: AbstractBaseUser, amount: Decimal, currency: str, reference: str, idempotency_key: str
) -> LedgerTransaction:
    """Give back a reservation (reserved → available), e.g. a trade that never opened."""
    _check_amount(amount, currency=currency, field="amount")
    return _post(
        user_id=user.pk,
        kind=TransactionKind.RELEASE,
        currency=currency,
        amount=amount,
        legs=[Leg(user.pk, RESERVED, -amount), Leg(user.pk, AVAILABLE, amount)],
        reference=_check_reference(reference),
        idempotency_key=key_check(idempotency_key),
        fingerprint=fingerprint(amount=amount, currency=currency, reference=reference),
    )


@retry_on_conflict
def wallet_fee_charge(
    *, user: AbstractBaseUser, fee: Decimal, currency: str, reference: str, idempotency_key: str
) -> LedgerTransaction:
    """Charge a fee out of money already held for it (reserved → fees), e.g.
    the opening fee of a trade whose stake + fee were held at its request.

    No savepoint of its own: the hold covers the fee, so it cannot be short,
    and any other error ends the caller's transaction anyway (the trade's
    opening is retried whole). Two statements fewer on every trade open."""
    _check_amount(fee, currency=currency, field="fee")
    return _post(
        savepoint=False,
        user_id=user.pk,
        kind=TransactionKind.FEE,
        currency=currency,
        amount=fee,
        legs=[Leg(user.pk, RESERVED, -fee), Leg(None, FEES, fee)],
        reference=_check_reference(reference),
        idempotency_key=key_check(idempotency_key),
        fingerprint=fingerprint(fee=fee, currency=currency, reference=reference),
    )


@retry_on_conflict
def wallet_settle(
    *,
    user: AbstractBaseUser,
    stake: Decimal,
    pnl: Decimal,
    fee: Decimal,
    currency: str,
    reference: str,
    idempotency_key: str,
) -> LedgerTransaction:
    """Close a position: reserved -stake; available +stake+pnl-fee; venue -pnl; fees +fee.

    The caller bounds a loss by the stake; whatever it passes, a posting that
    would take the available or reserved account below zero is refused with
    `InsufficientFunds` and nothing is written."""
    _check_amount(stake, currency=currency, field="stake")
    _check_amount(fee, currency=currency, field="fee", allow_zero=True)
    _check_amount(abs(pnl), currency=currency, field="pnl", allow_zero=True)
    return _post(
        user_id=user.pk,
        kind=TransactionKind.SETTLE,
        currency=currency,
        amount=stake,
        legs=[
            Leg(user.pk, RESERVED, -stake),
            Leg(user.pk, AVAILABLE, stake + pnl - fee),
            Leg(None, VENUE, -pnl),
            Leg(None, FEES, fee),
        ],
        reference=_check_reference(reference),
        idempotency_key=key_check(idempotency_key),
        fingerprint=fingerprint(stake=stake, pnl=pnl, fee=fee, currency=currency, reference=reference),
    )


@retry_on_conflict
def wallet_transfer(
    *,
    from_user: AbstractBaseUser,
    to_user: AbstractBaseUser,
    amount: Decimal,
    currency: str,
    reference: str,
    idempotency_key: str,
) -> LedgerTransaction:
    """Move available money between two users (the key is scoped to `from_user`)."""
    _check_amount(amount, currency=currency, field="amount")
    if from_user.pk == to_user.pk:
        raise InvalidRequest("A transfer needs two different users.", field="to_user")
    return _post(
        user_id=from_user.pk,
        kind=TransactionKind.TRANSFER,
        currency=currency,
        amount=amount,
        legs=[Leg(from_user.pk, AVAILABLE, -amount), Leg(to_user.pk, AVAILABLE, amount)],
        reference=_check_reference(reference),
        idempotency_key=key_check(idempotency_key),
        fingerprint=fingerprint(to=to_user.pk, amount=amount, currency=currency, reference=reference),
    )


class ReserveItem(NamedTuple):
    amount: Decimal
    reference: str
    idempotency_key: str
    fee: Decimal = Decimal(0)


class SettleItem(NamedTuple):
    user_id: int
    stake: Decimal
    pnl: Decimal
    fee: Decimal
    reference: str
    idempotency_key: str


def _reserve_spec(*, user_id: int, currency: str, item: ReserveItem) -> PostingSpec:
    _check_amount(item.amount, currency=currency, field="amount")
    _check_amount(item.fee, currency=currency, field="fee", allow_zero=True)
    return PostingSpec(
        user_id=user_id,
        kind=TransactionKind.RESERVE,
        amount=item.amount,
        legs=[
            Leg(user_id, AVAILABLE, -(item.amount + item.fee)),
            Leg(user_id, RESERVED, item.amount),
            Leg(None, FEES, item.fee),
        ],
        reference=_check_reference(item.reference),
        idempotency_key=key_check(item.idempotency_key),
        fingerprint=fingerprint(
            amount=item.amount, currency=currency, reference=item.reference, fee=item.fee
        ),
    )


@retry_on_conflict
def wallet_reserve_batch(
    *, user: AbstractBaseUser, currency: str, items: Sequence[ReserveItem]
) -> list[LedgerTransaction]:
    """`wallet_reserve` for many items in one transaction and one commit (e.g.
    a batch of trades). All or nothing: `InsufficientFunds` if their total
    does not fit. Per-item idempotency as in `wallet_reserve`."""
    specs = [_reserve_spec(user_id=user.pk, currency=currency, item=item) for item in items]
    with transaction.atomic():
        postings = ledger_post_batch(currency=currency, specs=specs)
    return [p.transaction for p in postings]


@retry_on_conflict
def wallet_settle_batch(*, currency: str, items: Sequence[SettleItem]) -> list[LedgerTransaction]:
    """`wallet_settle` for many positions (of any users) in one transaction and
    one commit, e.g. the trades that expired this minute. All or nothing."""
    specs = []
    check = partial(_check_amount, currency=currency, scale=currency_scale(currency), maximum=max_amount())
    for item in items:
        check(item.stake, field="stake")
        check(item.fee, field="fee", allow_zero=True)
        check(abs(item.pnl), field="pnl", allow_zero=True)
        uid = item.user_id
        specs.append(
            PostingSpec(
                user_id=uid,
                kind=TransactionKind.SETTLE,
                amount=item.stake,
                legs=[
                    Leg(uid, RESERVED, -item.stake),
                    Leg(uid, AVAILABLE, item.stake + item.pnl - item.fee),
                    Leg(None, VENUE, -item.pnl),
                    Leg(None, FEES, item.fee),
                ],
                reference=_check_reference(item.reference),
                idempotency_key=key_check(item.idempotency_key),
                fingerprint=fingerprint(
                    stake=item.stake, pnl=item.pnl, fee=item.fee, currency=currency, reference=item.reference
                ),
            )
        )
    with transaction.atomic():
        postings = ledger_post_batch(currency=currency, specs=specs)
    return [p.transaction for p in postings]
