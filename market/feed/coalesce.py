"""At most `max_rate` ticks per second per symbol to the ticker groups.

Browsers and phones need a moving price, not every tick: the feed offers
every tick and publishes a symbol's latest pending price only when at least
1/max_rate seconds passed since that symbol's last publication. The newest
price always wins, and a pending price is published as soon as the interval
allows, so the last price before a pause is never held back for long.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class PendingTick:
    symbol: str
    price: Decimal
    at: datetime


@dataclass
class Coalescer:
    max_rate: int
    _pending: dict[str, PendingTick] = field(default_factory=dict)
    _last_sent: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_rate <= 0:
            raise ValueError("max_rate must be positive")
        self.interval = 1.0 / self.max_rate

    def offer(self, *, symbol: str, price: Decimal, at: datetime) -> None:
        self._pending[symbol] = PendingTick(symbol=symbol, price=price, at=at)

    def due(self, now: float) -> list[PendingTick]:
        """Pending ticks allowed out at monotonic time `now`; they count as sent."""
        out = []
        for symbol, tick in list(self._pending.items()):
            last = self._last_sent.get(symbol)
            if last is None or now - last >= self.interval:
                out.append(tick)
                self._last_sent[symbol] = now
                del self._pending[symbol]
        return out
