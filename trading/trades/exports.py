"""The trades CSV: the rows of a filtered trade list, bounded.

Amounts and prices are plain decimals (`12.50`, never `1.25E+1` or a float),
instants RFC 3339 in UTC, empty cells for what a trade does not have yet.
The caller passes a queryset already filtered by owner
(`trading.trades.selectors.trade_list`).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import QuerySet

from trading.trades.models import Trade

# At most this many rows in one export (the newest, in the list's order): the
# answer is built in memory (an ASGI server buffers a synchronous stream whole
# anyway), so its size is bounded; the page shows the total count to narrow by.
EXPORT_MAX_ROWS = 10_000

CSV_HEADER = [
    "id",
    "created_at",
    "instrument",
    "side",
    "status",
    "currency",
    "stake",
    "entry_price",
    "exit_price",
    "opened_at",
    "closed_at",
    "close_reason",
    "fee",
    "pnl",
    "net_pnl",
]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def trade_csv_row(trade: Trade) -> list[str]:
    return [
        _cell(v)
        for v in (
            trade.pk,
            trade.created_at,
            trade.instrument.symbol,
            trade.side,
            trade.status,
            trade.currency,
            trade.stake,
            trade.entry_price,
            trade.exit_price,
            trade.opened_at,
            trade.closed_at,
            trade.close_reason,
            trade.fee,
            trade.pnl,
            trade.net_pnl,
        )
    ]


def trades_csv(trades: QuerySet[Trade], *, limit: int = EXPORT_MAX_ROWS) -> tuple[str, bool]:
    """(the CSV text of the first `limit` trades in the queryset's order,
    whether more matched and were left out)."""
    rows = list(trades.select_related("instrument")[: limit + 1])
    truncated = len(rows) > limit
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(trade_csv_row(trade) for trade in rows[:limit])
    return out.getvalue(), truncated


__all__ = ["CSV_HEADER", "EXPORT_MAX_ROWS", "trade_csv_row", "trades_csv"]
