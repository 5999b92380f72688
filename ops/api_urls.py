"""API routes of the ops app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from ops import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("ops/health/", api.HealthApi.as_view(), name="ops-health"),
]
