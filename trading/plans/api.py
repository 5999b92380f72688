"""Plans API under /api/v1/plans/: list, create (reserves the principal),
detail, cancel. Staff read everyone's plans (`?user=`); writes are the owner's."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.http import request_user
from core.idempotency import IDEMPOTENCY_PARAMETER, request_input, request_key
from core.parsers import BROWSABLE_FORM_PARSERS
from core.serializers import without_body
from core.throttling import WRITE_THROTTLES
from trading.plans.models import Plan
from trading.plans.selectors import plan_list
from trading.plans.serializers import PlanCreateSerializer, PlanSerializer
from trading.plans.services import plan_cancel, plan_create
from trading.trades.api import TradeCursorPagination


def _owner_scope(request: Request) -> int | None:
    user = request_user(request)
    return None if user.is_staff else user.pk


class PlanListCreateApi(ListAPIView):
    serializer_class = PlanSerializer
    form_serializer_class = PlanCreateSerializer  # the browsable API's POST form
    parser_classes = BROWSABLE_FORM_PARSERS
    pagination_class = TradeCursorPagination
    throttle_classes = WRITE_THROTTLES
    throttle_scope = "trades"

    def get_queryset(self) -> QuerySet[Plan]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Plan.objects.none()
        qs = plan_list(user_id=_owner_scope(self.request))
        user = self.request.query_params.get("user")
        if request_user(self.request).is_staff and user and user.isdigit():
            qs = qs.filter(user_id=int(user))
        return qs

    @extend_schema(
        request=PlanCreateSerializer,
        responses={200: PlanSerializer, 201: PlanSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        description="Start a plan (201); the same `Idempotency-Key` and parameters again return it (200).",
        examples=[
            OpenApiExample(
                "A month of momentum",
                value={
                    "instrument": "BTC-USD",
                    "strategy": "momentum",
                    "principal": "500.00",
                    "trade_fraction": "0.1000",
                    "term_days": 30,
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        key = request_key(request)  # first, as every keyed POST: a missing key is named before the body
        serializer = PlanCreateSerializer(data=request_input(request))
        serializer.is_valid(raise_exception=True)
        plan, created = plan_create(
            user=request_user(request), idempotency_key=key, **serializer.validated_data
        )
        return Response(
            PlanSerializer(plan).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class PlanDetailApi(RetrieveAPIView):
    serializer_class = PlanSerializer

    def get_queryset(self) -> QuerySet[Plan]:
        if getattr(self, "swagger_fake_view", False):
            return Plan.objects.none()
        return plan_list(user_id=_owner_scope(self.request))


class PlanCancelApi(APIView):
    throttle_classes = WRITE_THROTTLES
    throttle_scope = "trades"

    @extend_schema(request=None, responses={200: PlanSerializer})
    @without_body
    def post(self, request: Request, pk: int) -> Response:
        return Response(PlanSerializer(plan_cancel(user=request_user(request), plan_id=pk)).data)
