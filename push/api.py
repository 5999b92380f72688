"""The push API (`/api/v1/push/...`): a user's own subscriptions, and the
key to subscribe with. Another user's subscription is a 404, like any
object of someone else's."""

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.converters import IdConverter
from core.serializers import without_body
from push import selectors, services, vapid
from push.models import PushSubscription
from push.serializers import (
    PushKeySerializer,
    PushSubscriptionCreateSerializer,
    PushSubscriptionSerializer,
)


def _user_id(request: Request) -> int:
    user = request.user
    assert isinstance(user, AbstractBaseUser)  # IsAuthenticated ran first
    return int(user.pk)


@extend_schema(tags=["push"])
class PushSubscriptionApi(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    serializer_class = PushSubscriptionSerializer
    lookup_value_regex = IdConverter.regex  # ids beyond bigint are no route, not a database error

    def get_queryset(self) -> QuerySet[PushSubscription]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return PushSubscription.objects.none()
        return selectors.subscription_list(user_id=_user_id(self.request))

    @extend_schema(
        request=PushSubscriptionCreateSerializer,
        responses={200: PushSubscriptionSerializer, 201: PushSubscriptionSerializer},
        description="Save this browser's subscription. The same endpoint again is the same "
        "subscription (200, keys updated); a new one is 201.",
    )
    def create(self, request: Request) -> Response:
        incoming = PushSubscriptionCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        subscription, created = services.subscription_save(
            user_id=_user_id(request),
            user_agent=request.headers.get("User-Agent", ""),
            **incoming.validated(),
        )
        return Response(
            PushSubscriptionSerializer(subscription).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(request=None)
    @without_body
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance: PushSubscription) -> None:
        services.subscription_delete(subscription=instance)


@extend_schema(tags=["push"])
class PushKeyApi(APIView):
    @extend_schema(responses=PushKeySerializer)
    def get(self, request: Request) -> Response:
        return Response(PushKeySerializer({"public_key": vapid.application_server_key()}).data)
