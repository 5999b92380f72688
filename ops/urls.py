"""Page routes of the ops app: /healthz, /metrics and the staff page."""

from django.urls import URLPattern, URLResolver, path

from ops import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("ops/health/", views.HealthPageView.as_view(), name="ops-health-page"),
]
