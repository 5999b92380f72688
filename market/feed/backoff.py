"""Capped exponential back-off with jitter, on a monotonic clock.

The feed keeps one per dependency (Redis, PostgreSQL): after a failure it does
not touch that dependency again until `ready()`, the wait doubling up to `cap`
seconds; jitter spreads reconnect attempts of several processes apart.
"""

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base: float = 0.5
    cap: float = 30.0
    failures: int = 0
    retry_at: float = 0.0
    _rng: random.Random = field(default_factory=random.Random)

    @property
    def down(self) -> bool:
        return self.failures > 0

    def ready(self, now: float) -> bool:
        return now >= self.retry_at

    def failed(self, now: float) -> float:
        """Record a failure at `now`; returns the seconds until the next attempt."""
        self.failures += 1
        delay = min(self.cap, self.base * 2 ** (self.failures - 1))
        delay *= 0.5 + self._rng.random() / 2  # jitter, not secrecy
        self.retry_at = now + delay
        return delay

    def succeeded(self) -> None:
        self.failures = 0
        self.retry_at = 0.0
