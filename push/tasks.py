"""Celery tasks of the push app: thin; the work is push.services."""

import random
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from push.counters import Outcome, outcome_count
from push.services import PushTransient, push_deliver


def retry_delay(retries: int) -> float:
    """Exponential backoff, jittered: base x 2^retries (capped), less up to half.
    Computed here rather than by Celery's `retry_backoff` because that
    takes whole seconds, and the tests run the real retry path with a base
    of a fraction of a second (PUSH_RETRY_BASE_SECONDS)."""
    ceiling = min(settings.PUSH_RETRY_MAX_SECONDS, settings.PUSH_RETRY_BASE_SECONDS * 2**retries)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not secrecy


@shared_task(bind=True, acks_late=True, max_retries=None)
def push_send(self: Task, *, subscription_id: int, payload: dict[str, Any]) -> str:
    """One push to one subscription, retried on transient faults."""
    try:
        return push_deliver(subscription_id=subscription_id, payload=payload).value
    except PushTransient:
        if self.request.retries >= settings.PUSH_MAX_RETRIES:
            outcome_count(Outcome.FAILED)
            return Outcome.FAILED.value
        outcome_count(Outcome.RETRIED)
        raise self.retry(countdown=retry_delay(self.request.retries)) from None
