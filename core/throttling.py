"""Rate limits for the API: every limit of a request in one Redis round trip.

A limit is a sliding window of `duration` seconds, estimated from two
fixed-window counters: this window's, plus the previous window's weighted by
the share of it the sliding window still covers. It is an estimate (it takes
the previous window's requests as spread evenly), so a burst at the end of
that window is let through or refused a little early; a plain fixed window
would let twice the rate through across a boundary. DRF's own
throttles keep every request's timestamp in one cached list, read and
written whole: two round trips per throttle (a trade POST paid four for its
two throttles), and a client at 3,000/min had 3,000 floats unpickled and
pickled twice per request. Here a request costs one pipelined round trip
(`INCR`, `EXPIRE`, `GET` per limit); a refused request costs one more, which
takes its counts back, so that (as with DRF's) a refused request does not
count against the client.

Rates are DRF's: settings `DEFAULT_THROTTLE_RATES` by scope, read at request
time through `SimpleRateThrottle.THROTTLE_RATES` (tests set low rates there).
The counters' keys carry the cache's `KEY_PREFIX`, in the cache's Redis
database, so the cache's `clear()` empties them too.

- `AnonThrottle`, `UserThrottle`: every request (settings
  `DEFAULT_THROTTLE_CLASSES`), by client address or by user, as DRF's.
- `UserWriteThrottle`: the user limit plus the view's `throttle_scope` on the
  methods that write, checked together: the views that write use it
  (`WRITE_THROTTLES`).
- `ScopedWriteThrottle`: the view's scope alone, on the methods that write.
"""

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from core.redis import redis_client

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}  # DRF's: the first letter of the period


@dataclass(frozen=True)
class Limit:
    name: str  # scope and client: the counters' key without its window
    allowed: int  # requests per `duration`
    duration: int  # seconds


def parse_rate(rate: str) -> tuple[int, int]:
    """`"120/min"` → (120, 60), as DRF reads a rate."""
    count, period = rate.split("/")
    return int(count), PERIODS[period[0]]


def limit_for(scope: str, client: str, rate: str | None = None) -> Limit | None:
    """The limit of `scope` for `client`; None when the scope has no rate (unlimited)."""
    rate = rate if rate is not None else SimpleRateThrottle.THROTTLE_RATES.get(scope)
    if rate is None:
        return None
    allowed, duration = parse_rate(rate)
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return Limit(name=f"{prefix}:throttle:{scope}:{client}", allowed=allowed, duration=duration)


def estimate(previous: int, current: int, elapsed: float, duration: int) -> float:
    """Requests in the sliding window ending now: all of this window's, and the
    previous window's in proportion to the part of it still inside."""
    return previous * (1 - elapsed / duration) + current


def wait_seconds(limit: Limit, previous: int, current: int, elapsed: float) -> float:
    """Seconds until one more request fits, for a request refused with
    `current` counted in this window (itself included; it is taken back)."""
    allowed, duration = limit.allowed, limit.duration
    if allowed <= 0:
        return float(duration)
    others = current - 1
    if others < allowed and previous > 0:
        # Later in this window, as the previous window's weight falls.
        return max(0.0, duration * (1 - (allowed - others - 1) / previous) - elapsed)
    # In the next window, where this window's requests are the weighted ones.
    fits_at = duration * (1 - (allowed - 1) / others) if others > 0 else 0.0
    return duration - elapsed + max(0.0, fits_at)


def take(limits: list[Limit], now: float) -> float | None:
    """Count one request against every limit; None if all allow it, else the
    seconds to wait (the longest), with the counts taken back."""
    client = redis_client()
    counted = client.pipeline(transaction=False)
    for limit in limits:
        window = int(now // limit.duration)
        current_key = f"{limit.name}:{window}"
        counted.incr(current_key)
        counted.expire(current_key, 2 * limit.duration + 1)  # still there as the next window's previous
        counted.get(f"{limit.name}:{window - 1}")
    replies = counted.execute()
    waits = []
    for index, limit in enumerate(limits):
        current, _, previous = replies[3 * index : 3 * index + 3]
        previous = int(previous or 0)
        elapsed = now % limit.duration
        if estimate(previous, int(current), elapsed, limit.duration) > limit.allowed:
            waits.append(wait_seconds(limit, previous, int(current), elapsed))
    if not waits:
        return None
    back = client.pipeline(transaction=False)
    for limit in limits:
        back.decr(f"{limit.name}:{int(now // limit.duration)}")
    back.execute()
    return max(waits)


class WindowThrottle(BaseThrottle):
    """The limits a request falls under (`limits`), taken in one round trip."""

    def __init__(self) -> None:
        self.wait_for: float | None = None

    def limits(self, request: Request, view: Any) -> list[Limit | None]:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        limits = [limit for limit in self.limits(request, view) if limit is not None]
        if not limits:
            return True
        self.wait_for = take(limits, time.time())
        return self.wait_for is None

    def wait(self) -> float | None:
        return self.wait_for

    def client(self, request: Request) -> str:
        """The user, or the address of an anonymous client (`NUM_PROXIES` aware)."""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user:{user.pk}"
        return f"addr:{self.get_ident(request)}"


class AnonThrottle(WindowThrottle):
    """Anonymous requests, by address (scope `anon`)."""

    def limits(self, request: Request, view: Any) -> list[Limit | None]:
        if request.user is not None and request.user.is_authenticated:
            return []
        return [limit_for("anon", self.client(request))]


class UserThrottle(WindowThrottle):
    """Every request, by user (an anonymous one by address): scope `user`, or
    a subclass's own `scope` and `rate`."""

    scope = "user"
    rate: str | None = None

    def limits(self, request: Request, view: Any) -> list[Limit | None]:
        return [limit_for(self.scope, self.client(request), self.rate)]


class ScopedWriteThrottle(WindowThrottle):
    """The view's `throttle_scope` on the methods in `counted` (`None`: every
    method but GET, HEAD and OPTIONS, so reads fall under the user limit only)."""

    counted: frozenset[str] | None = None

    def counts(self, request: Request) -> bool:
        method = request.method or ""
        return method not in SAFE_METHODS if self.counted is None else method in self.counted

    def limits(self, request: Request, view: Any) -> list[Limit | None]:
        scope = getattr(view, "throttle_scope", None)
        if not scope or not self.counts(request):
            return []
        return [limit_for(scope, self.client(request))]


class UserWriteThrottle(ScopedWriteThrottle):
    """The user limit and, on writes, the view's scope: one round trip for both."""

    def limits(self, request: Request, view: Any) -> list[Limit | None]:
        return [limit_for("user", self.client(request)), *super().limits(request, view)]


WRITE_THROTTLES: list[type[BaseThrottle]] = [UserWriteThrottle]
