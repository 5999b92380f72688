"""API tokens for mobile clients: obtain with username + password, revoke.

`POST /api/v1/auth/token/` is open (it is how a client authenticates),
throttled by scope `token_obtain` and by the same failed-login limiter as
the login page. `DELETE` revokes the caller's token.
"""

from django.contrib.auth import authenticate
from django.contrib.auth.base_user import AbstractBaseUser
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import (
    client_ip,
    login_failure_record,
    login_failures_clear,
    login_throttle_check,
    token_obtain,
    token_revoke,
)
from core.errors import DomainError
from core.serializers import StrictSerializer, without_body
from core.throttling import ScopedWriteThrottle


class CredentialsRefused(DomainError):
    """Well-formed credentials of no active user (422: the schema cannot know
    which users exist)."""

    code = "invalid_credentials"


class TokenObtainSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


TokenResponse = inline_serializer("TokenResponse", fields={"token": serializers.CharField()})


class TokenThrottle(ScopedWriteThrottle):
    counted = frozenset({"POST"})  # revoking is not a guessing vector


@extend_schema(tags=["auth"])
class TokenApi(APIView):
    throttle_scope = "token_obtain"
    throttle_classes = [TokenThrottle]

    def get_permissions(self) -> list:  # type: ignore[type-arg]
        # Only DELETE needs a caller; any other method is POST's (open) or
        # one this view does not take, which is a 405, not a 401.
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    def get_authenticators(self) -> list:  # type: ignore[type-arg]
        # POST authenticates by the body only: a logged-in browser session must
        # not turn this into a CSRF-able token mint.
        if getattr(self, "request", None) is not None and self.request.method == "POST":
            return []
        return super().get_authenticators()

    @extend_schema(request=TokenObtainSerializer, responses={200: TokenResponse}, auth=[])
    def post(self, request: Request) -> Response:
        data = TokenObtainSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        ip = client_ip(request)
        login_throttle_check(username=username, client_ip=ip)
        user = authenticate(request, username=username, password=data.validated_data["password"])
        if user is None or not user.is_active:
            login_failure_record(username=username, client_ip=ip)
            raise CredentialsRefused("Unable to log in with these credentials.", field="non_field_errors")
        login_failures_clear(username=username, client_ip=ip)
        return Response({"token": token_obtain(user=user).key})

    @extend_schema(request=None, responses={204: None})
    @without_body
    def delete(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, AbstractBaseUser)
        token_revoke(user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
