"""The seed's trade pages and status endpoint (session-tracked initiation).

- `InitiateTradeView` (/trade/new/): login required, CSRF-protected form with
  a per-form idempotency token; calls `trade_request`, remembers the trade
  and its task in the session and redirects to /trade-status/. A token that
  is missing, unreadable, or already used for other values comes back fresh
  with a sentence above the form (`TradeForm.token_renew`): the next submit
  places the trade. The same token with the same values replays its trade.
- `TradeInitiationStatusView` (/trade-status/): renders the tracked trade's
  current state server-side (the frontend makes it live).
- `check_trade_initiation_status` (/api/check-trade-status/): JSON state of
  the tracked trade and its Celery task; clears the session entry once the
  trade is final.

Only the trade tracked in the caller's own session is shown: any other id
(`?trade_id=`), including another user's, is a 404.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.result import AsyncResult
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.errors import DomainError, IdempotencyMismatch
from core.http import request_user
from trading.trades.errors import DurationOutOfRange
from trading.trades.forms import (
    DURATION_PRESETS,
    FORM_UNREADABLE_MESSAGE,
    FORM_USED_MESSAGE,
    STAKE_PRESETS,
    TradeForm,
    duration_refusal,
)
from trading.trades.models import Trade
from trading.trades.quotes import trade_level_from_percent
from trading.trades.selectors import trade_get
from trading.trades.serializers import trade_data
from trading.trades.services import trade_request

logger = logging.getLogger(__name__)

SESSION_KEY = "tracked_trade"
# Service field names that the form shows under another name.
FORM_FIELDS = {"duration", "stake", "instrument", "side", "take_profit", "stop_loss"}


class InitiateTradeView(LoginRequiredMixin, View):
    template_name = "trading/trades/initiate.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, _ticket(TradeForm()))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = TradeForm(request.POST)
        if not form.is_valid():
            if "form_token" in form.errors:
                form.token_renew(FORM_UNREADABLE_MESSAGE)
            elif _token_used(request, form.cleaned_data["form_token"]):
                # Back, an edit that does not pass: the next submit is a new trade.
                form.token_renew(FORM_USED_MESSAGE)
            return render(request, self.template_name, _ticket(form), status=400)
        data = form.cleaned_data
        try:
            take_profit, stop_loss = _level(data, "take_profit"), _level(data, "stop_loss")
            result = trade_request(
                user=request_user(request),
                instrument=data["instrument"],
                side=data["side"],
                stake=data["stake"],
                duration=data["duration"] * 60,
                take_profit=take_profit,
                stop_loss=stop_loss,
                idempotency_key=f"form:{data['form_token']}",
            )
        except IdempotencyMismatch as exc:
            # The token placed another trade (Back, then an edit): the same
            # values with a fresh token place this one. The same token with
            # the same values still replays its trade (below: a redirect).
            form.token_renew(FORM_USED_MESSAGE)
            return render(request, self.template_name, _ticket(form), status=exc.http_status)
        except DurationOutOfRange as exc:
            message = duration_refusal(
                exc.instrument, low_seconds=exc.low_seconds, high_seconds=exc.high_seconds
            )
            form.add_error("duration", message)
            return render(request, self.template_name, _ticket(form), status=exc.http_status)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in FORM_FIELDS else None, exc.message)
            return render(request, self.template_name, _ticket(form), status=exc.http_status)
        trade = result.trade
        request.session[SESSION_KEY] = {"trade_id": trade.pk, "task_id": trade.task_id}
        return redirect("trade-status")


def _token_used(request: HttpRequest, token: str | None) -> bool:
    """Whether this form token already placed a trade of this user."""
    if not token:
        return False
    return Trade.objects.filter(user_id=request_user(request).pk, idempotency_key=f"form:{token}").exists()


def _ticket(form: TradeForm) -> dict[str, Any]:
    return {
        "form": form,
        "stake_presets": STAKE_PRESETS,
        "duration_presets": DURATION_PRESETS,
    }


def _level(data: dict[str, Any], name: str) -> str | None:
    """The level as a price: typed as one, or a percentage of the current
    price turned into one (the script sends prices; this is the no-script path)."""
    text = data[name]
    if not text:
        return None
    if data.get(f"{name}_unit") != "percent":
        return str(text)
    price = trade_level_from_percent(
        instrument=data["instrument"], side=data["side"], level=name, percent=text
    )
    return f"{price:f}"


def _tracked(request: HttpRequest) -> tuple[dict[str, Any], Trade]:
    """The trade tracked in this session, or 404 (also for any other `trade_id`)."""
    tracked = request.session.get(SESSION_KEY)
    if not isinstance(tracked, dict):
        raise Http404("No trade is being tracked.")
    asked = request.GET.get("trade_id")
    if asked is not None and asked != str(tracked.get("trade_id")):
        raise Http404("No such trade.")
    trade = trade_get(user_id=request_user(request).pk, trade_id=int(tracked["trade_id"]))
    if trade is None:
        request.session.pop(SESSION_KEY, None)
        raise Http404("No such trade.")
    return tracked, trade


def _task_state(task_id: str) -> str:
    if not task_id:
        return "UNKNOWN"
    try:
        return str(AsyncResult(task_id).state)
    except Exception:  # the result backend is a convenience: its outage is not the trade's
        logger.warning("task state of %s unavailable", task_id, exc_info=True)
        return "UNKNOWN"


def initiation_status(trade: Trade, *, task_id: str) -> dict[str, Any]:
    """The status payload (endpoint and page)."""
    refused = trade.status in ("rejected", "failed")
    return {
        "trade_id": trade.pk,
        "status": trade.status,
        "final": trade.is_final,
        "task_id": task_id,
        "task_state": _task_state(task_id),
        "attempts": trade.attempts,
        "next_attempt_at": trade.next_attempt_at.isoformat() if trade.next_attempt_at else None,
        "trade": trade_data(trade) if trade.status in ("open", "settled") else None,
        "reason": {"code": trade.failure_code, "message": trade.failure_reason} if refused else None,
    }


class TradeInitiationStatusView(LoginRequiredMixin, View):
    template_name = "trading/trades/status.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        if SESSION_KEY not in request.session and "trade_id" not in request.GET:
            return render(request, self.template_name, {"status": None})
        tracked, trade = _tracked(request)
        status = initiation_status(trade, task_id=str(tracked.get("task_id", "")))
        return render(request, self.template_name, {"status": status, "trade": trade})


@never_cache
@require_GET
def check_trade_initiation_status(request: HttpRequest) -> JsonResponse:
    # A JSON client polls this: answer 403 in JSON (as the API does for a
    # missing session), not a redirect to the login page.
    if not request.user.is_authenticated:
        return JsonResponse({"code": "not_authenticated", "detail": "Log in to check a trade."}, status=403)
    try:
        tracked, trade = _tracked(request)
    except Http404 as exc:
        return JsonResponse({"code": "not_found", "detail": str(exc)}, status=404)
    status = initiation_status(trade, task_id=str(tracked.get("task_id", "")))
    if trade.is_final:
        request.session.pop(SESSION_KEY, None)
    return JsonResponse(status)
