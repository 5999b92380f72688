"""Helpers for the ops tests: a staff API client, and a Celery task of our
own that succeeds, fails or retries on demand (run eagerly with `apply`, the
real signals fire exactly as in a worker)."""

import pytest
from celery.exceptions import Retry

from config.celery_app import app

FLAKY_TASK = "tests.ops.flaky"


@app.task(bind=True, name=FLAKY_TASK, max_retries=1)
def flaky(self, mode: str, trade_id: int | None = None) -> str:
    import logging

    # Mode "extra": the caller names the trade itself, which must win.
    extra = {"trade_id": 7} if mode == "extra" else None
    logging.getLogger("tests.ops").info("flaky running in mode %s", mode, extra=extra)
    if mode == "fail":
        raise ValueError("the price feed said no")
    if mode == "retry" and self.request.retries == 0:
        raise self.retry(exc=ConnectionError("broker hiccup"), countdown=0)
    return "done"


@pytest.fixture
def staff_client(api_client, staff_user):
    api_client.force_authenticate(staff_user)
    return api_client


def run_task(mode: str, **kwargs) -> None:
    """Run `flaky` in this process through Celery's tracer (signals fire)."""
    result = flaky.apply(args=[mode], kwargs=kwargs)
    if mode == "fail":
        assert result.failed()
    elif mode == "retry":
        # Eager retries re-run inside apply(); the first attempt raised Retry.
        assert result.successful() or isinstance(result.result, Retry)
    else:
        assert result.successful()
