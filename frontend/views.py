"""Page views of the frontend: thin shells that render a template.

Pages are server-rendered skeletons; live data arrives over the WebSocket
(`/ws/stream/`) and the REST API, driven by the ES modules under
`frontend/static/frontend/js/`. Every page needs a logged-in user, and
every object shown is looked up through the owner (another user's → 404).
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse_lazy
from django.utils.timezone import now
from django.views import View
from django.views.generic import FormView, TemplateView
from rest_framework.request import Request

from accounts.notifications import notification_preference_get, notification_preference_update
from core.throttling import Limit, UserThrottle, limit_for
from frontend import selectors
from frontend.forms import PUSH_FIELDS, NotificationSettingsWithPushForm
from push.selectors import preference_get as push_preference_get
from push.services import preference_update as push_preference_update
from trading.trades.exports import trades_csv
from trading.trades.models import TradeSide, TradeStatus


class PageView(LoginRequiredMixin, TemplateView):
    """A page for a logged-in user."""


class DashboardView(PageView):
    template_name = "frontend/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user_id = self.request.user.pk
        assert user_id is not None  # LoginRequiredMixin ran first
        # The portfolio card renders with the server's figures; portfolio.js keeps them live.
        context["portfolio"] = selectors.portfolio_of(user_id=user_id)
        return context


class TradeListView(PageView):
    template_name = "frontend/trade_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["statuses"] = TradeStatus.choices
        context["sides"] = TradeSide.choices
        context["instruments"] = selectors.instrument_list()
        return context


class TradeExportThrottle(UserThrottle):
    """An export reads up to `EXPORT_MAX_ROWS` trades: bounded per user
    (`settings.TRADE_EXPORT_RATE`), beside the API's throttles."""

    scope = "trade_export"

    def limits(self, request: Request, view: Any) -> list[Limit | None]:
        return [limit_for(self.scope, self.client(request), str(settings.TRADE_EXPORT_RATE))]


class TradeExportView(LoginRequiredMixin, View):
    """`/trades/export.csv`: the user's trades with the list's filters and
    order (the same query string as the page and `GET /api/v1/trades/`), as a
    CSV attachment of at most `EXPORT_MAX_ROWS` rows (`X-Export-Truncated: 1`
    when more matched). A filter value the API would refuse is a 400; more
    than `TRADE_EXPORT_RATE` exports a user is a 429 with `Retry-After`."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user_id = request.user.pk
        assert user_id is not None  # LoginRequiredMixin ran first
        throttle = TradeExportThrottle()
        if not throttle.allow_request(request, self):  # type: ignore[arg-type]  # reads .user and META only
            refused = JsonResponse({"detail": "Too many exports; try again shortly."}, status=429)
            refused["Retry-After"] = str(int(throttle.wait() or 60) + 1)
            return refused
        found = selectors.trades_filtered(user_id=user_id, query=request.GET)
        if found.errors:
            return JsonResponse(found.errors, status=400)
        text, truncated = trades_csv(found.trades)
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="trades-{now():%Y%m%d-%H%M%S}.csv"'
        if truncated:
            response["X-Export-Truncated"] = "1"
        return response


class TradeDetailView(PageView):
    template_name = "frontend/trade_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user_id = self.request.user.pk
        assert user_id is not None  # LoginRequiredMixin ran first
        trade = selectors.trade_of_user(user_id=user_id, trade_id=kwargs["pk"])
        context["trade"] = trade
        # Past its expiry an open trade is being settled: no "Close now".
        expires = trade.expires_at
        context["expired"] = trade.status == TradeStatus.OPEN and expires is not None and expires <= now()
        return context


class WalletView(PageView):
    template_name = "frontend/wallet.html"


class PlansView(PageView):
    template_name = "frontend/plans.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        choices = selectors.instrument_choices(at=now())
        context["instruments"] = choices
        context["all_closed"] = bool(choices) and not any(c.selected for c in choices)
        return context


class NotificationSettingsView(LoginRequiredMixin, FormView):
    template_name = "frontend/notification_settings.html"
    form_class = NotificationSettingsWithPushForm
    success_url = reverse_lazy("notification-settings")

    def get_initial(self) -> dict[str, Any]:
        preference = notification_preference_get(user_id=self._user_id())
        push = push_preference_get(user_id=self._user_id())
        return {
            "in_app": preference.in_app,
            "browser": preference.browser,
            "email_settlement": preference.email_settlement,
            "email_maturity": preference.email_maturity,
            **{name: getattr(push, name.removeprefix("push_")) for name in PUSH_FIELDS},
        }

    def form_valid(self, form: NotificationSettingsWithPushForm) -> HttpResponse:
        data = dict(form.cleaned_data)
        push = {name.removeprefix("push_"): data.pop(name) for name in PUSH_FIELDS}
        with transaction.atomic():  # one form, one save: both switches or neither
            notification_preference_update(user_id=self._user_id(), **data)
            push_preference_update(user_id=self._user_id(), **push)
        messages.success(self.request, "Notification settings saved.")
        return super().form_valid(form)

    def _user_id(self) -> int:
        user_id = self.request.user.pk
        assert user_id is not None  # LoginRequiredMixin ran first
        return user_id
