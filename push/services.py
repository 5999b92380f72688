"""Writes of the push app: subscriptions, switches, and sending.

How a push comes about (docs/push.md):

1. A service publishes an event inside its transaction (realtime.publish).
2. After the commit, realtime calls `events_committed` (registered in
   PushConfig.ready) with the committed rows. It keeps the kinds a user can
   have pushed, drops users who turned that kind off or have no
   subscription (one query each for a whole settlement batch), builds the
   payload from the event's own recorded values, and enqueues one
   `push.tasks.push_send` per subscription, so a retry to one device never
   repeats another's delivery.
3. The task calls `push_deliver`: encrypt (RFC 8291 aes128gcm), sign
   (VAPID), POST. 201 → counted as sent; 404/410 → the subscription is
   deleted; 429, 5xx or a network fault → `PushTransient`, which the task
   retries with backoff; any other refusal is counted as failed.
"""

import json
import logging
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from pywebpush import WebPushException, webpush

from push import vapid
from push.counters import Outcome, outcome_count
from push.models import PushPreference, PushSubscription
from push.transport import EndpointRefused, PushSession
from realtime.models import Event
from realtime.schemas import (
    NOTIFICATION,
    PLAN_MATURED,
    TOPIC_WITHDRAWAL_DECIDED,
    TRADE_FAILED,
    TRADE_REJECTED,
    TRADE_SETTLED,
)

logger = logging.getLogger(__name__)

PAYLOAD_VERSION = 1


class PushKind(StrEnum):
    """The switches of the settings page; each is a PushPreference field."""

    TRADE_SETTLED = "trade_settled"
    TRADE_FAILED = "trade_failed"  # failed or refused
    PLAN_MATURED = "plan_matured"
    WITHDRAWAL_DECIDED = "withdrawal_decided"


class PushTransient(Exception):
    """The push service or the network failed in a way worth retrying."""


# --- subscriptions and switches -------------------------------------------------


def subscription_save(
    *, user_id: int, endpoint: str, p256dh: str, auth: str, user_agent: str = ""
) -> tuple[PushSubscription, bool]:
    """Store the browser's subscription; `(subscription, created)`.

    Idempotent on the endpoint: the same endpoint again updates its keys
    (and owner: the browser now belongs to whoever subscribed it last). A
    user keeps at most PUSH_MAX_SUBSCRIPTIONS_PER_USER; past that the oldest
    is dropped, since browsers rotate endpoints and the stale one would
    otherwise only go when a push to it fails."""
    with transaction.atomic():
        subscription, created = PushSubscription.objects.update_or_create(
            endpoint=endpoint,
            defaults={"user_id": user_id, "p256dh": p256dh, "auth": auth, "user_agent": user_agent[:200]},
        )
        keep = settings.PUSH_MAX_SUBSCRIPTIONS_PER_USER
        extra = list(
            PushSubscription.objects.filter(user_id=user_id)
            .exclude(pk=subscription.pk)
            .order_by("-id")
            .values_list("id", flat=True)[keep - 1 :]
        )
        if extra:
            # Never the one just saved: a re-saved endpoint keeps its old, low id.
            PushSubscription.objects.filter(id__in=extra).exclude(pk=subscription.pk).delete()
    return subscription, created


def subscription_delete(*, subscription: PushSubscription) -> None:
    subscription.delete()


def preference_update(
    *, user_id: int, trade_settled: bool, trade_failed: bool, plan_matured: bool, withdrawal_decided: bool
) -> PushPreference:
    with transaction.atomic():
        preference, _ = PushPreference.objects.update_or_create(
            user_id=user_id,
            defaults={
                "trade_settled": trade_settled,
                "trade_failed": trade_failed,
                "plan_matured": plan_matured,
                "withdrawal_decided": withdrawal_decided,
            },
        )
    return preference


# --- which events, and what they say ---------------------------------------------


def event_kind(event: Event) -> PushKind | None:
    """The switch that governs `event`, or None for an event never pushed."""
    if event.event == TRADE_SETTLED:
        return PushKind.TRADE_SETTLED
    if event.event in (TRADE_FAILED, TRADE_REJECTED):
        return PushKind.TRADE_FAILED
    if event.event == PLAN_MATURED:
        return PushKind.PLAN_MATURED
    if event.event == NOTIFICATION and event.data.get("topic") == TOPIC_WITHDRAWAL_DECIDED:
        return PushKind.WITHDRAWAL_DECIDED
    return None


def _decimal(value: Any) -> Decimal | None:
    # Event data carries money as exact strings (realtime.schemas.json_native).
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _signed(value: Decimal) -> str:
    return f"{value:+f}"


def _trade_label(data: dict[str, Any]) -> str:
    return " ".join(str(part) for part in (data.get("side"), data.get("instrument")) if part) or "trade"


def push_payload(event: Event, kind: PushKind) -> dict[str, Any]:
    """The JSON the service worker shows: title, body, the page to open and
    the numbers it came from. Only values recorded in the event are used; a
    missing one is left out, never made up. `tag` is the same one the page's
    own browser notification uses, so one event never shows twice."""
    data = event.data
    ident = data.get("id", event.seq)
    payload: dict[str, Any] = {
        "v": PAYLOAD_VERSION,
        "kind": kind.value,
        "event": event.event,
        "seq": event.seq,
        "tag": f"tv-{event.event}-{ident}",
    }
    if kind in (PushKind.TRADE_SETTLED, PushKind.TRADE_FAILED):
        payload["url"] = f"/trades/{data['id']}/"
        currency = data.get("currency") or ""
        trade: dict[str, Any] = {
            "id": data["id"],
            "instrument": data.get("instrument"),
            "side": data.get("side"),
            "status": data.get("status"),
            "currency": currency,
        }
        if kind is PushKind.TRADE_SETTLED:
            pnl, fee = _decimal(data.get("pnl")), _decimal(data.get("fee"))
            payload["title"] = f"Trade settled: {_trade_label(data)}"
            if pnl is not None and fee is not None:
                # The net result: P&L less both fees (open and close), as the ledger moved it;
                # the event's own `net_pnl` (events stored before it existed: computed alike).
                net = _decimal(data.get("net_pnl"))
                if net is None:
                    net = pnl - fee
                trade.update(pnl=str(pnl), fee=str(fee), net=str(net))
                payload["body"] = f"Net result {_signed(net)} {currency} (P&L {_signed(pnl)}, fees {fee})"
            else:
                payload["body"] = "The trade has settled."
        else:
            refused = event.event == TRADE_REJECTED
            payload["title"] = f"Trade {'refused' if refused else 'failed'}: {_trade_label(data)}"
            payload["body"] = str(data.get("failure_reason") or data.get("failure_code") or "")[:300]
            trade["failure_code"] = data.get("failure_code")
        payload["trade"] = trade
    elif kind is PushKind.PLAN_MATURED:
        payload["url"] = "/plans/"
        what = "Plan cancelled" if data.get("status") == "cancelled" else "Plan matured"
        label = " · ".join(str(p) for p in (data.get("instrument"), data.get("strategy")) if p)
        payload["title"] = f"{what}: {label}" if label else what
        currency = data.get("currency") or ""
        realised, fees = _decimal(data.get("realised_pnl")), _decimal(data.get("fees"))
        plan: dict[str, Any] = {"id": data.get("id"), "status": data.get("status"), "currency": currency}
        if realised is not None and fees is not None:
            net = realised - fees
            plan.update(realised_pnl=str(realised), fees=str(fees), net=str(net))
            payload["body"] = f"Net result {_signed(net)} {currency}"
            if data.get("returned") is not None:
                plan["returned"] = str(data["returned"])
                payload["body"] += f"; {data['returned']} {currency} returned"
        else:
            payload["body"] = ""
        payload["plan"] = plan
    else:
        payload["url"] = "/wallet/"
        payload["title"] = str(data.get("title", ""))[:120]
        payload["body"] = str(data.get("body", ""))[:300]
    return payload


def events_committed(events: Sequence[Event]) -> None:
    """realtime's after-commit listener: enqueue a push per wanted event and
    subscription. Cheap when nothing is wanted: no query unless an event is
    of a pushable kind, and one per batch after that."""
    wanted = [(event, kind) for event in events if (kind := event_kind(event)) is not None]
    if not wanted:
        return
    user_ids = {event.user_id for event, _ in wanted}
    subscriptions: dict[int, list[int]] = {}
    for sub_id, user_id in PushSubscription.objects.filter(user_id__in=user_ids).values_list("id", "user_id"):
        subscriptions.setdefault(user_id, []).append(sub_id)
    if not subscriptions:
        return
    preferences = {p.user_id: p for p in PushPreference.objects.filter(user_id__in=subscriptions)}
    from push.tasks import push_send  # the task module imports this one

    for event, kind in wanted:
        targets = subscriptions.get(event.user_id)
        preference = preferences.get(event.user_id)
        if not targets or (preference is not None and not getattr(preference, kind.value)):
            continue
        payload = push_payload(event, kind)
        for subscription_id in targets:
            push_send.delay(subscription_id=subscription_id, payload=payload)


# --- sending ----------------------------------------------------------------------


def push_deliver(*, subscription_id: int, payload: dict[str, Any]) -> Outcome:
    """Send `payload` to one subscription once. Raises `PushTransient` for a
    fault worth retrying (the caller counts and retries it)."""
    subscription = PushSubscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        return Outcome.GONE  # unsubscribed after the event: nothing to do
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    try:
        webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=body,
            vapid_private_key=vapid.signer(),
            vapid_claims={"sub": settings.PUSH_VAPID_SUBJECT},
            content_encoding="aes128gcm",
            ttl=settings.PUSH_TTL_SECONDS,
            timeout=settings.PUSH_TIMEOUT_SECONDS,
            headers={"Urgency": "normal"},
            requests_session=PushSession(),
        )
    except EndpointRefused as exc:
        # Not a push service: deleted, as a gone one is, and never tried again.
        PushSubscription.objects.filter(pk=subscription.pk).delete()
        outcome_count(Outcome.FAILED)
        logger.warning("push subscription %s deleted: %s", subscription.pk, exc)
        return Outcome.FAILED
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in (404, 410):
            # RFC 8030 §7.3: the subscription expired or was unsubscribed; it never comes back.
            PushSubscription.objects.filter(pk=subscription.pk).delete()
            outcome_count(Outcome.GONE)
            logger.info("push subscription %s gone (%s); deleted", subscription.pk, status)
            return Outcome.GONE
        if status is None or status == 429 or status >= 500:
            raise PushTransient(f"push service answered {status}") from exc
        outcome_count(Outcome.FAILED)
        logger.warning("push to subscription %s refused: %s", subscription.pk, status)
        return Outcome.FAILED
    except requests.RequestException as exc:  # connection refused, timeout, TLS
        raise PushTransient(f"{type(exc).__name__}: {exc}") from exc
    PushSubscription.objects.filter(pk=subscription.pk).update(last_sent_at=timezone.now())
    outcome_count(Outcome.SENT)
    return Outcome.SENT
