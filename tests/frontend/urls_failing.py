"""The project's URL conf plus two views that fail, for the error-page tests."""

from django.core.exceptions import SuspiciousOperation
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500, urlpatterns


def boom(request):
    raise RuntimeError("boom for the error-page test")


def suspicious(request):
    raise SuspiciousOperation("a suspicious request")


__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
urlpatterns = [
    path("boom/", boom),
    path("api/boom/", boom),
    path("suspicious/", suspicious),
    path("api/suspicious/", suspicious),
    *urlpatterns,
]
