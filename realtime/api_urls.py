"""API routes of the realtime app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from realtime import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("realtime/tickets/", api.TicketCreateApi.as_view(), name="realtime-ticket-create"),
    path("realtime/asyncapi.yaml", api.AsyncApiDocumentApi.as_view(), name="realtime-asyncapi"),
    path("events/", api.EventListApi.as_view(), name="event-list"),
]
