"""Top-level routes: pages, the versioned API, schema and docs, admin."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

api_v1: list[URLPattern | URLResolver] = [
    path("", include("accounts.api_urls")),
    path("", include("wallets.api_urls")),
    path("", include("trading.api_urls")),
    path("", include("realtime.api_urls")),
    path("", include("ops.api_urls")),
    path("", include("push.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api-auth/", include("rest_framework.urls")),
    path("", include("accounts.urls")),
    path("", include("realtime.urls")),
    path("", include("trading.urls")),
    path("", include("wallets.urls")),
    path("", include("ops.urls")),
    path("", include("push.urls")),
    path("", include("frontend.urls")),
]
