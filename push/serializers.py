"""Serializers of the push API. Explicit fields only.

The serializers check what the schema states (an URL; base64url keys of the
right size: a 400). Whether the server will send to that endpoint, and
whether the key is a point of P-256, the schema cannot say: `validated()`
refuses those with `SubscriptionRefused` (422)."""

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.validators import RegexValidator
from rest_framework import serializers

from core.errors import DomainError
from core.serializers import StrictSerializer
from push.models import ENDPOINT_MAX_LENGTH, PushSubscription
from push.transport import LOOPBACK_HOSTS
from push.vapid import b64url_decode

P256DH_BYTES = 65  # an uncompressed P-256 point (RFC 8291 §3.1)
AUTH_BYTES = 16  # the authentication secret (RFC 8291 §3.2)

_B64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _b64url_pattern(size: int) -> str:
    """Base64url of `size` bytes, unpadded or with any `=` after it."""
    return f"^[A-Za-z0-9_-]{{{-(-size * 8 // 6)}}}=*$"


class SubscriptionRefused(DomainError):
    """A well-formed subscription the server will not use (422)."""

    code = "subscription_refused"


def _base64url(value: str, *, size: int, what: str) -> bytes:
    text = value.rstrip("=")
    if not text or not set(text) <= _B64URL:
        raise serializers.ValidationError(f"{what} must be base64url.")
    try:
        raw = b64url_decode(text)
    except ValueError:
        raise serializers.ValidationError(f"{what} must be base64url.") from None
    if len(raw) != size:
        raise serializers.ValidationError(f"{what} must decode to {size} bytes, not {len(raw)}.")
    return raw


def endpoint_check(url: str) -> str:
    """A push service URL: https on a public DNS name. The server POSTs to
    it, so anything else (plain http, an IP literal, a bare host name,
    credentials in the URL) is refused (`SubscriptionRefused`, 422): no
    request to a private address on a user's say-so. Plain http to the
    loopback host only where PUSH_ALLOW_HTTP_LOOPBACK is on (the tests' local
    push service; DEBUG)."""

    def refuse(message: str) -> SubscriptionRefused:
        return SubscriptionRefused(message, field="endpoint")

    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()  # "localhost." is localhost
    if parts.username or parts.password or parts.fragment:
        raise refuse("The endpoint must not carry credentials or a fragment.")
    if settings.PUSH_ALLOW_HTTP_LOOPBACK and host in LOOPBACK_HOSTS and parts.scheme in ("http", "https"):
        return url
    if parts.scheme != "https":
        raise refuse("The endpoint must be an https URL.")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise refuse("The endpoint must name its host, not an IP address.")
    if "." not in host or host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise refuse("The endpoint must be on a public host name.")
    return url


def p256dh_check(value: str) -> None:
    """`SubscriptionRefused` (422) unless the key is a point of P-256."""
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), _base64url(value, size=P256DH_BYTES, what="p256dh")
        )
    except (ValueError, serializers.ValidationError):
        raise SubscriptionRefused("p256dh is not a P-256 public key.", field="keys") from None


def endpoint_port_check(url: str) -> str:
    """A 400 for a port outside 1-65535: Django's URL validator takes any five
    digits (`:99999`, `:0`), which no push service listens on and which
    `urlsplit().port` refuses (ValueError) or reads as 0."""
    try:
        port = urlsplit(url).port
    except ValueError:
        port = 0
    if port == 0:
        raise serializers.ValidationError("The endpoint's port must be 1 to 65535.", code="invalid")
    return url


class SubscriptionKeysSerializer(StrictSerializer):
    p256dh = serializers.CharField(
        max_length=100,
        trim_whitespace=False,
        validators=[RegexValidator(_b64url_pattern(P256DH_BYTES), "p256dh must be 65 bytes in base64url.")],
        help_text="The browser's P-256 public key (base64url).",
    )
    auth = serializers.CharField(
        max_length=50,
        trim_whitespace=False,
        validators=[RegexValidator(_b64url_pattern(AUTH_BYTES), "auth must be 16 bytes in base64url.")],
        help_text="The 16-byte authentication secret (base64url).",
    )

    def validate_p256dh(self, value: str) -> str:
        _base64url(value, size=P256DH_BYTES, what="p256dh")
        return value.rstrip("=")

    def validate_auth(self, value: str) -> str:
        _base64url(value, size=AUTH_BYTES, what="auth")
        return value.rstrip("=")


class PushSubscriptionCreateSerializer(StrictSerializer):
    """What `PushSubscription.toJSON()` gives in the browser. Its
    expirationTime is accepted and not kept: push services announce an end by
    answering 404/410, which deletes the subscription."""

    endpoint = serializers.URLField(max_length=ENDPOINT_MAX_LENGTH, trim_whitespace=False)
    keys = SubscriptionKeysSerializer()
    expirationTime = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**53)

    def validate_endpoint(self, value: str) -> str:
        return endpoint_port_check(value)

    def validated(self) -> dict[str, Any]:
        """The subscription to save; `SubscriptionRefused` (422) for an
        endpoint the server will not send to or a key off the curve."""
        data = self.validated_data
        endpoint_check(data["endpoint"])
        p256dh_check(data["keys"]["p256dh"])
        return {"endpoint": data["endpoint"], "p256dh": data["keys"]["p256dh"], "auth": data["keys"]["auth"]}


class PushSubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = PushSubscription
        fields = ("id", "endpoint", "user_agent", "created_at", "last_sent_at")
        read_only_fields = fields


class PushKeySerializer(serializers.Serializer):
    public_key = serializers.CharField(
        read_only=True, help_text="VAPID public key: pass it as applicationServerKey to subscribe."
    )
