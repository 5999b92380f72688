"""Counts of push outcomes, kept in Redis: the sends happen in Celery
workers and the counts are read by whichever web process serves the ops
page or `/metrics`. Under the cache's key prefix, so parallel test runs on
one Redis never see each other's numbers."""

from enum import StrEnum

import redis
from django.conf import settings

from core.redis import redis_client


class Outcome(StrEnum):
    SENT = "sent"  # the push service accepted the message (201)
    GONE = "gone"  # 404/410: the subscription is dead and was deleted
    RETRIED = "retried"  # a transient fault (5xx, 429, network); tried again later
    FAILED = "failed"  # refused for good (other 4xx) or out of retries


def _key() -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:push:outcomes" if prefix else "push:outcomes"


def outcome_count(outcome: Outcome) -> None:
    """Add one; a Redis fault loses the count, never the push."""
    try:
        redis_client().hincrby(_key(), outcome.value, 1)
    except redis.RedisError:
        pass


def outcome_totals() -> dict[str, int]:
    """Every outcome's total, 0 for one never seen (a series exists from the start)."""
    raw = redis_client().hgetall(_key())
    return {outcome.value: int(raw.get(outcome.value, 0)) for outcome in Outcome}  # type: ignore[union-attr]
