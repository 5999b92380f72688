"""The `Idempotency-Key` header every money-moving or trade-initiating POST
carries (DESIGN.md, duplicate prevention): the same key from the same user
returns the first result, the same key with other parameters gets a 422.
Required: without it a client's retry would create a second trade or move
money twice."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

HEADER = "Idempotency-Key"

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=True,
    description="Unique per operation; a retry with the same key returns the first result, "
    "the same key with other parameters gets a 422.",
)


def idempotency_key(request: Request, *, max_length: int = 255) -> str:
    """The request's key; a 400 naming the header when it is missing or malformed."""
    key = request.headers.get(HEADER, "")
    if not key or len(key) > max_length or not key.isprintable():
        raise ValidationError({HEADER: [f"This header is required: 1 to {max_length} printable characters."]})
    return key
