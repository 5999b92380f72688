"""Page routes of the frontend app."""

from django.urls import URLPattern, URLResolver, path

from core import converters
from frontend import views
from frontend.favicon import FaviconRedirect

converters.register()

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("trades/", views.TradeListView.as_view(), name="trade-list"),
    path("trades/export.csv", views.TradeExportView.as_view(), name="trade-export"),
    path("trades/<id:pk>/", views.TradeDetailView.as_view(), name="trade-detail"),
    path("wallet/", views.WalletView.as_view(), name="wallet"),
    path("plans/", views.PlansView.as_view(), name="plans"),
    path("settings/notifications/", views.NotificationSettingsView.as_view(), name="notification-settings"),
    path("favicon.ico", FaviconRedirect.as_view(), name="favicon"),
]
