"""Page routes of the push app: at the site root, since a service worker's
scope cannot be wider than the path it is served from."""

from django.urls import URLPattern, URLResolver, path

from push import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("sw.js", views.service_worker, name="push-service-worker"),
    path("manifest.webmanifest", views.manifest, name="push-manifest"),
    path("offline/", views.OfflineView.as_view(), name="push-offline"),
]
