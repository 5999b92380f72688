"""REST endpoints of the realtime app: WebSocket tickets, the polling event
stream and the AsyncAPI document. Thin: parse, call one service or
selector, shape the output."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import QuerySerializer, without_body
from core.throttling import AnonThrottle, UserThrottle
from realtime import selectors, services
from realtime.publish import event_frame

ASYNCAPI_PATH = Path(settings.BASE_DIR) / "docs" / "asyncapi.yaml"
DEFAULT_LIMIT = 100


def _user_id(request: Request) -> int:
    assert request.user.pk is not None  # IsAuthenticated ran
    return int(request.user.pk)


class TicketThrottle(UserThrottle):
    scope = "ws_ticket"
    rate = "60/min"


class TicketSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    expires_in = serializers.IntegerField()
    url = serializers.CharField()


class TicketCreateApi(APIView):
    """Exchange a session or API token for a single-use WebSocket ticket."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [TicketThrottle]

    @extend_schema(request=None, responses={201: TicketSerializer})
    @without_body
    def post(self, request: Request) -> Response:
        ticket = services.ticket_create(user_id=_user_id(request))
        body = {
            "ticket": ticket,
            "expires_in": settings.WS_TICKET_TTL_SECONDS,
            "url": f"/ws/stream/?ticket={ticket}",
        }
        return Response(TicketSerializer(body).data, status=status.HTTP_201_CREATED)


class EventQuerySerializer(QuerySerializer):
    since = serializers.IntegerField(min_value=0, required=True, help_text="The last seq the caller has.")
    limit = serializers.IntegerField(
        min_value=1, max_value=selectors.MAX_PAGE, default=DEFAULT_LIMIT, help_text="Events per page."
    )


class EventSerializer(serializers.Serializer):
    type = serializers.CharField()
    seq = serializers.IntegerField()
    event = serializers.CharField()
    time = serializers.CharField()
    data = serializers.JSONField()  # type: ignore[assignment]  # the event's field


class EventPageSerializer(serializers.Serializer):
    events = EventSerializer(many=True)
    last_seq = serializers.IntegerField()
    next_since = serializers.IntegerField()
    has_more = serializers.BooleanField()


class EventListApi(APIView):
    """The caller's events with seq > since, in order (the WebSocket stream for pollers).

    410 with code `resync_required` when events after `since` were pruned;
    422 `since_ahead` naming `since` when it is ahead of the last seq (a
    well-formed number the caller's stream has not reached)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[EventQuerySerializer],
        responses={
            200: EventPageSerializer,
            410: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="`resync_required`: events after `since` were pruned; reload state over REST.",
            ),
            422: OpenApiResponse(
                OpenApiTypes.OBJECT, description="`since_ahead`: `since` is after the last seq."
            ),
        },
    )
    def get(self, request: Request) -> Response:
        query = EventQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since: int = query.validated_data["since"]
        limit: int = query.validated_data["limit"]
        user_id = _user_id(request)
        check = selectors.event_resume_check(user_id=user_id, since=since)
        if check.status is selectors.ResumeStatus.AHEAD:
            return Response(
                {"since": [f"ahead of the last seq {check.last_seq}"], "code": "since_ahead"},
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        if check.status is selectors.ResumeStatus.PRUNED:
            return Response(
                {
                    "code": "resync_required",
                    "detail": "events after since were pruned",
                    "last_seq": check.last_seq,
                },
                status=status.HTTP_410_GONE,
            )
        events = selectors.event_list_since(user_id=user_id, since=since, limit=limit + 1)
        has_more = len(events) > limit
        events = events[:limit]
        body: dict[str, Any] = {
            "events": [event_frame(e) for e in events],
            "last_seq": check.last_seq,
            "next_since": events[-1].seq if events else since,
            "has_more": has_more,
        }
        return Response(EventPageSerializer(body).data)


class AsyncApiDocumentApi(APIView):
    """The AsyncAPI 3 description of /ws/stream/ (docs/asyncapi.yaml)."""

    permission_classes = [AllowAny]
    throttle_classes = [AnonThrottle, UserThrottle]

    @extend_schema(exclude=True)
    def get(self, request: HttpRequest) -> FileResponse:
        return FileResponse(ASYNCAPI_PATH.open("rb"), content_type="application/yaml")
