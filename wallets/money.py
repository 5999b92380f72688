"""The one validator of money input, and quantization at the edges.

Every amount that enters the system from outside (API, forms, commands)
passes `parse_amount`, so there is exactly one place that decides what a
valid amount is: a plain decimal literal with ASCII digits, at most the
currency's scale of places, positive, and at most `settings.MONEY_MAX_AMOUNT`.

Input arrives either as text (forms, JSON strings) or as a `Decimal` (the
strict JSON parser turns JSON numbers into `Decimal` from their exact text).
A `Decimal` is checked through its own text (`str()` keeps the exponent of
`Decimal("1E+5")`), so both paths meet the same rules. `float` and `bool` are
refused outright: a float has already lost the amount the user typed.
"""

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from rest_framework import serializers

from core.serializers import StatedField, decimal_pattern, decimal_schema
from wallets.errors import InvalidAmount, UnknownCurrency

# ASCII only: `\d` would also match Arabic-Indic and other Unicode digits.
_PLAIN_DECIMAL = re.compile(r"\A(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?\Z")


def currency_scale(currency: str) -> int:
    """Decimal places of `currency`; raises `UnknownCurrency` for one we do not keep."""
    try:
        return int(settings.WALLET_CURRENCIES[currency])
    except (KeyError, TypeError) as exc:
        raise UnknownCurrency(f"Unknown currency {currency!r}.", field="currency") from exc


def max_amount() -> Decimal:
    return Decimal(str(settings.MONEY_MAX_AMOUNT))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """`amount` at the currency's scale. Callers pass exact amounts; this only pads places."""
    return amount.quantize(Decimal(1).scaleb(-currency_scale(currency)))


def parse_amount(value: Any, *, field: str, currency: str) -> Decimal:
    """A positive amount of `currency` from untrusted input, or `InvalidAmount` naming `field`."""
    scale = currency_scale(currency)
    if isinstance(value, bool) or not isinstance(value, (str, Decimal)):
        raise InvalidAmount('Enter the amount as a decimal string, e.g. "12.50".', field=field)
    text = str(value)
    match = _PLAIN_DECIMAL.match(text)
    if match is None:
        # Covers signs (negatives, "-0", "+1"), exponents, underscores, spaces,
        # NaN/Infinity in any spelling and non-ASCII digits.
        raise InvalidAmount(
            "Enter a plain positive decimal amount: ASCII digits and at most one '.', "
            "no sign, exponent, underscore or spaces.",
            field=field,
        )
    frac = match.group("frac") or ""
    if len(frac) > scale:
        raise InvalidAmount(f"At most {scale} decimal places for {currency}.", field=field)
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid literals
        raise InvalidAmount("Enter a valid amount.", field=field) from exc
    if amount <= 0:
        raise InvalidAmount("The amount must be greater than zero.", field=field)
    if amount > max_amount():
        raise InvalidAmount(f"The amount must be at most {max_amount()}.", field=field)
    return quantize(amount, currency)


def amount_pattern() -> str:
    """`parse_amount`'s rule as a regex, for the schema: a plain decimal in
    (0, MONEY_MAX_AMOUNT] with at most the currencies' scale of places (the
    largest scale, should currencies differ: a finer amount of a coarser
    currency is then a 400 the pattern does not show)."""
    places = max(int(scale) for scale in settings.WALLET_CURRENCIES.values())
    return decimal_pattern(places=places, maximum=max_amount())


class MoneyField(StatedField):
    """A serializer field that validates through `parse_amount`.

    The currency comes from the sibling field `currency_field` of the same
    input (or `default_currency` when the input has none), so the scale is
    the right one for that currency. Output is the amount as a string. The
    schema states the rule (`amount_pattern`, or a JSON number with the same
    bounds and places).
    """

    def __init__(
        self, *, currency_field: str = "currency", default_currency: str = "USD", **kwargs: Any
    ) -> None:
        self.currency_field = currency_field
        self.default_currency = default_currency
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        # A nested serializer (a batch item) has no `initial_data` of its own.
        given = getattr(self.parent, "initial_data", None)
        given = given if isinstance(given, dict) else {}
        raw_currency = given.get(self.currency_field, self.default_currency)
        if not isinstance(raw_currency, str) or raw_currency not in settings.WALLET_CURRENCIES:
            # The currency field reports its own error; validate against the
            # default scale so this field still says what is wrong with it.
            raw_currency = self.default_currency
        try:
            return parse_amount(data, field=self.field_name or "amount", currency=raw_currency)
        except InvalidAmount as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from exc

    def to_representation(self, value: Decimal) -> str:
        return str(value)

    def openapi_schema(self) -> dict[str, Any]:
        places = max(int(scale) for scale in settings.WALLET_CURRENCIES.values())
        return decimal_schema(places=places, maximum=max_amount(), pattern=amount_pattern())
