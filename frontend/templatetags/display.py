"""How server-rendered pages write prices and dates, the same way as the
scripts (frontend/static/frontend/js/format.js).

Dates: the server does not know the reader's time zone, so it renders the
instant as ISO 8601 in a `<time>` element, with a UTC text for a page read
without scripts; app.js (every page) rewrites the text in local time with
the zone named, through the same formatter as every live value."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()


@register.filter
def price_at(value: object, scale: object = 2) -> str:
    """A price at its instrument's scale, grouped: "3,199.88", never the
    stored "3199.88000000"; "—" when there is none."""
    if value is None or value == "":
        return "—"
    try:
        places = int(str(scale))
        number = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{number:,.{places}f}"


@register.filter
def local_time(value: datetime | None, style: str = "datetime") -> str:
    """`<time datetime="ISO" data-format="datetime|clock">UTC text</time>`,
    rewritten in local time by the browser; "—" when there is none."""
    if not value:
        return "—"
    utc = value.astimezone(UTC) if timezone.is_aware(value) else value
    text = utc.strftime("%H:%M:%S UTC") if style == "clock" else utc.strftime("%d %b %Y, %H:%M:%S UTC")
    return format_html('<time datetime="{}" data-format="{}">{}</time>', utc.isoformat(), style, text)
