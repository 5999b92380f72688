"""How the pages write a result, server-side as the scripts do client-side
(frontend/static/frontend/js/money.js, pnl.js): a sign only when it is not
zero, thousands grouped, an arrow so colour is never the only signal, and
the colour class (up / down / flat) by the value, which for a trade is its
net result (`Trade.net_pnl`)."""

from decimal import Decimal

from django import template

register = template.Library()


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


@register.filter
def signed_money(value: object) -> str:
    """+1,234.50 / -0.17 / 0.00; "—" for nothing."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    amount = amount.quantize(Decimal("0.01"))
    return f"{amount:+,.2f}" if amount > 0 else f"{amount:,.2f}"


@register.filter
def money(value: object) -> str:
    """1,234.56: grouped, two places, as the scripts write amounts; "—" for nothing."""
    amount = _decimal(value)
    return "—" if amount is None else f"{amount.quantize(Decimal('0.01')):,.2f}"


@register.filter
def direction_class(value: object) -> str:
    amount = _decimal(value)
    if amount is None:
        return ""
    return "up" if amount > 0 else "down" if amount < 0 else "flat"


@register.filter
def direction_arrow(value: object) -> str:
    amount = _decimal(value)
    if amount is None:
        return ""
    return "↑" if amount > 0 else "↓" if amount < 0 else "→"
