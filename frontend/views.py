"""Page views of the frontend: thin shells that render a template.

Pages are server-rendered skeletons; live data arrives over the WebSocket
(`/ws/stream/`) and the REST API, driven by the ES modules under
`frontend/static/frontend/js/`. Every page needs a logged-in user, and
every object shown is looked up through the owner (another user's → 404).
"""

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from frontend import selectors
from trading.models import TradeStatus


class PageView(LoginRequiredMixin, TemplateView):
    """A page for a logged-in user."""


class DashboardView(PageView):
    template_name = "frontend/dashboard.html"


class TradeListView(PageView):
    template_name = "frontend/trade_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["statuses"] = TradeStatus.choices
        context["instruments"] = selectors.instrument_list()
        return context


class TradeDetailView(PageView):
    template_name = "frontend/trade_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user_id = self.request.user.pk
        assert user_id is not None  # LoginRequiredMixin ran first
        context["trade"] = selectors.trade_of_user(user_id=user_id, trade_id=kwargs["pk"])
        return context


class WalletView(PageView):
    template_name = "frontend/wallet.html"


class PlansView(PageView):
    template_name = "frontend/plans.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["instruments"] = selectors.instrument_list()
        return context
