"""The project's URLs plus the baseline of bench/trades.py: an authenticated
DRF POST that does one INSERT, through the same server, auth and middleware."""

from django.db import connection
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as project_urlpatterns


class BareInsertApi(APIView):
    def post(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_probe (user_id, at) VALUES (%s, now()) RETURNING id", [request.user.pk]
            )
            row = cursor.fetchone()
        return Response({"id": row[0]}, status=202)


urlpatterns = [path("bench/bare/", BareInsertApi.as_view()), *project_urlpatterns]
