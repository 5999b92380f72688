"""API routes of the wallets app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from wallets import api

router = SimpleRouter()
router.register("wallets/accounts", api.AccountApi, basename="wallet-account")
router.register("wallets/entries", api.EntryApi, basename="wallet-entry")
router.register("wallets/withdrawals", api.WithdrawalApi, basename="wallet-withdrawal")

urlpatterns: list[URLPattern | URLResolver] = [
    path("wallets/", api.WalletApi.as_view(), name="wallet-list"),
    path("wallets/deposits/", api.DepositApi.as_view(), name="wallet-deposit"),
    path("wallets/adjustments/", api.AdjustmentApi.as_view(), name="wallet-adjustment"),
    *router.urls,
]
