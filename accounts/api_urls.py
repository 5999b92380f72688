"""API routes of the accounts app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from accounts import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/token/", api.TokenApi.as_view(), name="auth-token"),
]
