"""At most one crossing notice per symbol per `interval` seconds.

A price beyond a watched level stays beyond it for many steps, and the work a
notice starts (trading settling the trades) takes a moment to remove the
watch: without a limit the feed would send a notice every step. The first
crossing of a symbol goes out at once; crossings within the interval after
it are gathered (their ticks and members) and go out together as soon as it
ends, so no crossing is dropped, only merged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from market.watches import Crossing


@dataclass
class _Pending:
    ticks: dict[datetime, Decimal] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)


@dataclass
class CrossingThrottle:
    interval: float
    _pending: dict[str, _Pending] = field(default_factory=dict)
    _last_sent: dict[str, float] = field(default_factory=dict)

    def offer(self, *, symbol: str, ticks: list[tuple[datetime, Decimal]], members: set[str]) -> None:
        pending = self._pending.setdefault(symbol, _Pending())
        pending.ticks.update(ticks)
        pending.members |= members

    def due(self, now: float) -> list[Crossing]:
        """Notices allowed out at monotonic time `now`; they count as sent."""
        out = []
        for symbol, pending in list(self._pending.items()):
            last = self._last_sent.get(symbol)
            if last is None or now - last >= self.interval:
                out.append(
                    Crossing(
                        symbol=symbol,
                        ticks=tuple(sorted(pending.ticks.items())),
                        members=frozenset(pending.members),
                    )
                )
                self._last_sent[symbol] = now
                del self._pending[symbol]
        return out
