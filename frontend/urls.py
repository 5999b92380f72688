"""Page routes of the frontend app."""

from django.urls import URLPattern, URLResolver, path

from frontend import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.DashboardView.as_view(), name="dashboard"),
]
