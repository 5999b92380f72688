"""`GET /api/v1/ops/health/`: the health report for staff (JSON).

Thin: staff permission, one selector call. The shape is documented in
docs/operations.md and in the OpenAPI schema."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ops.selectors import health_report


class HealthApi(APIView):
    """Every component of the platform with a red / amber / green status."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The health report (docs/operations.md).")
        }
    )
    def get(self, request: Request) -> Response:
        return Response(health_report())
