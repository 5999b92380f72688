"""The wallet API (`/api/v1/wallets/...`): thin views over selectors and services.

Users see only their own accounts, entries and withdrawals (anyone else's is
a 404, since the querysets are filtered by owner); staff see everyone's and may
filter by `user`. Money-moving POSTs require an `Idempotency-Key` header and
are throttled by scope `money`.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.converters import IdConverter
from core.filters import ID_SCHEMA, IdFilter, UtcDateTimeFilter
from core.http import request_user
from core.idempotency import IDEMPOTENCY_PARAMETER, request_input, request_key
from core.pagination import BoundedCursorPagination, query_int
from core.parsers import BROWSABLE_FORM_PARSERS
from core.serializers import StrictSerializer
from core.throttling import WRITE_THROTTLES
from wallets import selectors, services
from wallets.errors import InvalidRequest
from wallets.models import Account, Entry, TransactionKind, WithdrawalRequest
from wallets.serializers import (
    AccountSerializer,
    AdjustmentInputSerializer,
    CurrencyBalanceSerializer,
    EntrySerializer,
    LedgerTransactionSerializer,
    MoneyInputSerializer,
    WithdrawalDecisionSerializer,
    WithdrawalSerializer,
)

# Ids in the path: as `core.converters.IdConverter` (a 40-digit id is a 404,
# not PostgreSQL's "bigint out of range").
ID_REGEX = IdConverter.regex

USER_FILTER = OpenApiParameter(
    name="user", type=ID_SCHEMA, description="Staff only: show this user's objects (ignored for others)."
)


def _amount_example(amount: str) -> OpenApiExample:
    return OpenApiExample("An amount", value={"amount": amount, "currency": "USD"}, request_only=True)


def _scope_user(request: Request) -> int | None:
    """Whose objects a request sees: its own, or (staff) everyone's / `?user=`'s.
    `user` is a user id for everyone (the schema says so), used for staff only."""
    user = request_user(request)
    chosen = query_int(request, "user", low=0, high=ID_SCHEMA["maximum"])
    if not getattr(user, "is_staff", False):
        return int(user.pk)
    return chosen


@extend_schema(tags=["wallets"])
class WalletApi(APIView):
    """Balances of the current user (staff: of `?user=`), one item per currency."""

    @extend_schema(parameters=[USER_FILTER], responses=CurrencyBalanceSerializer(many=True))
    def get(self, request: Request) -> Response:
        user_id = _scope_user(request)
        user_id = int(request_user(request).pk) if user_id is None else user_id
        return Response(CurrencyBalanceSerializer(selectors.balances_of(user_id=user_id), many=True).data)


class AccountFilter(filters.FilterSet):
    class Meta:
        model = Account
        fields = ["currency", "kind"]


@extend_schema_view(list=extend_schema(parameters=[USER_FILTER]))
@extend_schema(tags=["wallets"])
class AccountApi(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = ID_REGEX
    serializer_class = AccountSerializer
    filterset_class = AccountFilter

    def get_queryset(self) -> QuerySet[Account]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Account.objects.none()
        return selectors.account_list(user_id=_scope_user(self.request))


class EntryCursorPagination(BoundedCursorPagination):
    ordering = "-id"
    page_size = 50
    max_page_size = 200


class EntryFilter(filters.FilterSet):
    created_after = UtcDateTimeFilter(field_name="transaction__created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="transaction__created_at", lookup_expr="lt")
    # Choices: a value no entry can have is a 400 naming it, as the schema's enum says.
    currency = filters.ChoiceFilter(
        field_name="account__currency", choices=[(c, c) for c in settings.WALLET_CURRENCIES]
    )
    kind = filters.ChoiceFilter(field_name="transaction__kind", choices=TransactionKind.choices)
    # Ids, not object choices: an unknown id filters to nothing (a 200), as
    # any other value that matches no entry.
    account = IdFilter(field_name="account_id")
    transaction = IdFilter(field_name="transaction_id")

    class Meta:
        model = Entry
        fields = ["created_after", "created_before", "currency", "kind", "account", "transaction"]


@extend_schema_view(list=extend_schema(parameters=[USER_FILTER]))
@extend_schema(tags=["wallets"])
class EntryApi(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = ID_REGEX
    """Ledger entries on the user's accounts, newest first (cursor pagination)."""

    serializer_class = EntrySerializer
    filterset_class = EntryFilter
    pagination_class = EntryCursorPagination

    def get_queryset(self) -> QuerySet[Entry]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Entry.objects.none()
        return selectors.entry_list(user_id=_scope_user(self.request))


@extend_schema(tags=["wallets"])
class DepositApi(APIView):
    """A demo deposit into the current user's available balance (daily limit)."""

    throttle_scope = "money"
    throttle_classes = WRITE_THROTTLES
    form_serializer_class = MoneyInputSerializer  # the browsable API's POST form
    parser_classes = BROWSABLE_FORM_PARSERS

    @extend_schema(
        request=MoneyInputSerializer,
        responses={201: LedgerTransactionSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[_amount_example("100.00")],
    )
    def post(self, request: Request) -> Response:
        key = request_key(request)
        data = MoneyInputSerializer(data=request_input(request))
        data.is_valid(raise_exception=True)
        tx = services.wallet_deposit(user=request_user(request), idempotency_key=key, **data.validated_data)
        return Response(LedgerTransactionSerializer(tx).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["wallets"])
class AdjustmentApi(APIView):
    """Staff correction of a user's available balance, with a required reason."""

    throttle_scope = "money"
    throttle_classes = WRITE_THROTTLES
    form_serializer_class = AdjustmentInputSerializer  # the browsable API's POST form
    parser_classes = BROWSABLE_FORM_PARSERS

    permission_classes = [IsAuthenticated, IsAdminUser]

    @extend_schema(
        request=AdjustmentInputSerializer,
        responses={201: LedgerTransactionSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def post(self, request: Request) -> Response:
        key = request_key(request)
        data = AdjustmentInputSerializer(data=request_input(request))
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        user = get_user_model().objects.filter(pk=fields.pop("user")).first()
        if user is None:
            raise InvalidRequest("No such user.", field="user")  # a 422: well formed, unknown
        tx = services.wallet_adjust(staff=request_user(request), user=user, idempotency_key=key, **fields)
        return Response(LedgerTransactionSerializer(tx).data, status=status.HTTP_201_CREATED)


class WithdrawalFilter(filters.FilterSet):
    class Meta:
        model = WithdrawalRequest
        fields = ["status", "currency"]


@extend_schema_view(list=extend_schema(parameters=[USER_FILTER]))
@extend_schema(tags=["wallets"])
class WithdrawalApi(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    lookup_value_regex = ID_REGEX
    """Withdrawal requests: users request (money is held), staff approve or reject."""

    serializer_class = WithdrawalSerializer
    filterset_class = WithdrawalFilter
    throttle_scope = "money"
    throttle_classes = WRITE_THROTTLES
    parser_classes = BROWSABLE_FORM_PARSERS

    def get_form_serializer_class(self) -> type[StrictSerializer] | None:
        """The browsable API's POST form of the action."""
        forms: dict[str, type[StrictSerializer]] = {
            "create": MoneyInputSerializer,
            "approve": WithdrawalDecisionSerializer,
            "reject": WithdrawalDecisionSerializer,
        }
        return forms.get(self.action or "")

    def get_queryset(self) -> QuerySet[WithdrawalRequest]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return WithdrawalRequest.objects.none()
        return selectors.withdrawal_list(user_id=_scope_user(self.request))

    @extend_schema(
        request=MoneyInputSerializer,
        responses={201: WithdrawalSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[_amount_example("10.00")],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request_key(request)
        data = MoneyInputSerializer(data=request_input(request))
        data.is_valid(raise_exception=True)
        withdrawal = services.wallet_withdrawal_request(
            user=request_user(request), idempotency_key=key, **data.validated_data
        )
        return Response(WithdrawalSerializer(withdrawal).data, status=status.HTTP_201_CREATED)

    def _decide(self, request: Request, approve: bool) -> Response:
        key = request_key(request)
        withdrawal = self.get_object()  # 404 before any decision for an unknown id
        data = WithdrawalDecisionSerializer(data=request_input(request))
        data.is_valid(raise_exception=True)
        decide = services.wallet_withdrawal_approve if approve else services.wallet_withdrawal_reject
        done = decide(
            staff=request_user(request),
            withdrawal_id=withdrawal.pk,
            idempotency_key=key,
            reason=data.validated_data["reason"],
        )
        return Response(WithdrawalSerializer(done).data)

    @extend_schema(
        request=WithdrawalDecisionSerializer,
        responses=WithdrawalSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, IsAdminUser])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, approve=True)

    @extend_schema(
        request=WithdrawalDecisionSerializer,
        responses=WithdrawalSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, IsAdminUser])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, approve=False)


__all__ = [
    "AccountApi",
    "AdjustmentApi",
    "DepositApi",
    "EntryApi",
    "WalletApi",
    "WithdrawalApi",
]
