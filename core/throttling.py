"""The one scoped throttle: counted on the methods that write, so reads fall
under the user throttle only. Views name their scope (`throttle_scope`:
`money`, `trades`, `token_obtain`; rates in settings `DEFAULT_THROTTLE_RATES`)."""

from typing import Any

from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle, UserRateThrottle


class WriteThrottle(ScopedRateThrottle):
    """`counted`: the methods that count against the scope's rate; `None` is
    every method but GET, HEAD and OPTIONS. Narrow it in a subclass (the token
    endpoint counts POST only: revoking is not a guessing vector)."""

    counted: frozenset[str] | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        method = request.method or ""
        counts = method not in SAFE_METHODS if self.counted is None else method in self.counted
        return not counts or super().allow_request(request, view)


# The user throttle bounds everything; the scope bounds writes.
WRITE_THROTTLES: list[type[BaseThrottle]] = [UserRateThrottle, WriteThrottle]
