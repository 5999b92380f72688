"""API routes of the push app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from push import api

router = SimpleRouter()
router.register("push/subscriptions", api.PushSubscriptionApi, basename="push-subscription")

urlpatterns: list[URLPattern | URLResolver] = [
    path("push/key/", api.PushKeyApi.as_view(), name="push-key"),
    *router.urls,
]
