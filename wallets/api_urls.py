"""API routes of the wallets app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from wallets import api

router = SimpleRouter()
router.register("wallets/accounts", api.AccountViewSet, basename="wallet-account")
router.register("wallets/entries", api.EntryViewSet, basename="wallet-entry")
router.register("wallets/withdrawals", api.WithdrawalViewSet, basename="wallet-withdrawal")

urlpatterns: list[URLPattern | URLResolver] = [
    path("wallets/", api.WalletView.as_view(), name="wallet-list"),
    path("wallets/deposits/", api.DepositView.as_view(), name="wallet-deposit"),
    path("wallets/adjustments/", api.AdjustmentView.as_view(), name="wallet-adjustment"),
    *router.urls,
]
