"""Price watches: levels another app wants to hear about as soon as a tick
crosses them, without the feed knowing what they are.

A watch is an opaque member (a string: trading uses the trade id) on a
symbol, with a level `below` (crossed when a price is at or under it) and/or
`above` (crossed when a price is at or over it). They live in two Redis
sorted sets per symbol, scored by level, under the cache's key prefix, so
the feed asks "which watches does this step's low and high cross?" in one
pipelined round trip for all symbols (two `ZRANGEBYSCORE` each) and does no
database work. It hands what crossed to the listeners registered here
(trading registers one in its `AppConfig.ready`, as it registers the ticker
symbols with realtime); a listener must be quick: it enqueues work, it does
not do it.

Scores are doubles. Decimal-to-float conversion is correctly rounded, hence
monotonic, so a price at or beyond a level is always found; a price within
a rounding step of it may be reported too. A watch is a hint: the listener's
work re-judges the crossing exactly, and removes watches it finds obsolete.
Watches are not durable (a flushed Redis loses them): whoever sets them must
have a slower path that does not need them (trading's minute sweep).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from core.redis import redis_client

logger = logging.getLogger(__name__)

BELOW = "below"
ABOVE = "above"


@dataclass(frozen=True, slots=True)
class Crossing:
    """Watches of `symbol` crossed by `ticks` ((at, price), oldest first)."""

    symbol: str
    ticks: tuple[tuple[datetime, Decimal], ...]
    members: frozenset[str]


CrossingListener = Callable[[Crossing], None]
_listeners: list[CrossingListener] = []


def _key(side: str, symbol: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    name = f"watch:{side}:{symbol}"
    return f"{prefix}:{name}" if prefix else name


def watch_set(
    *, symbol: str, member: str, below: Decimal | None = None, above: Decimal | None = None
) -> None:
    """Watch `member` on `symbol` (replacing its levels). Raises Redis errors."""
    pipe = redis_client().pipeline(transaction=False)
    for side, level in ((BELOW, below), (ABOVE, above)):
        if level is None:
            pipe.zrem(_key(side, symbol), member)
        else:
            pipe.zadd(_key(side, symbol), {member: float(level)})
    pipe.execute()


def watch_remove(*, symbol: str, members: Iterable[str]) -> None:
    """Forget `members` of `symbol` (unknown ones are ignored). Raises Redis errors."""
    names = list(members)
    if not names:
        return
    pipe = redis_client().pipeline(transaction=False)
    for side in (BELOW, ABOVE):
        pipe.zrem(_key(side, symbol), *names)
    pipe.execute()


def watch_members(*, symbol: str) -> dict[str, dict[str, Decimal]]:
    """Every watch of `symbol`: {member: {"below"/"above": level}} (tests, ops)."""
    found: dict[str, dict[str, Decimal]] = {}
    for side in (BELOW, ABOVE):
        pairs: list[tuple[str, float]] = redis_client().zrange(  # type: ignore[assignment]
            _key(side, symbol), 0, -1, withscores=True
        )
        for member, score in pairs:
            found.setdefault(str(member), {})[side] = Decimal(str(score))
    return found


def watches_crossed(ranges: Mapping[str, tuple[Decimal, Decimal]]) -> dict[str, set[str]]:
    """The members crossed by each symbol's (low, high) price range, in one
    round trip: `below` levels at or over `low`, `above` levels at or under
    `high`. Symbols with nothing crossed are left out. Raises Redis errors."""
    if not ranges:
        return {}
    symbols = list(ranges)
    pipe = redis_client().pipeline(transaction=False)
    for symbol in symbols:
        low, high = ranges[symbol]
        pipe.zrangebyscore(_key(BELOW, symbol), float(low), "+inf")
        pipe.zrangebyscore(_key(ABOVE, symbol), "-inf", float(high))
    answers = pipe.execute()
    crossed: dict[str, set[str]] = {}
    for i, symbol in enumerate(symbols):
        members = {str(m) for m in answers[2 * i]} | {str(m) for m in answers[2 * i + 1]}
        if members:
            crossed[symbol] = members
    return crossed


def register_crossing_listener(fn: CrossingListener) -> None:
    """Called with every `Crossing` the feed sees (in the feed process).
    Registering the same function twice keeps one."""
    if fn not in _listeners:
        _listeners.append(fn)


def crossing_listeners() -> list[CrossingListener]:
    return list(_listeners)


def crossing_notify(crossing: Crossing) -> None:
    """Hand `crossing` to every listener; a failing listener is logged, never raised."""
    for listener in _listeners:
        try:
            listener(crossing)
        except Exception:
            logger.exception("price watch listener %r failed for %s", listener, crossing.symbol)
