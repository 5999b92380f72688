"""A real Celery worker process: the health report sees it online, and the
runs it executes (recorded by its own signal handlers, in its own process)
show up in the task counts, periodic state and Prometheus counters."""

import os

import pytest
from django.test import Client

from config.celery_app import app
from ops.selectors import health_report
from tests.faults.processes import group_stop, wait_for, worker_start

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TASK = "wallets.tasks.update_wallet_balances"


@pytest.fixture
def worker(tmp_path):
    queue = f"ops-{os.environ['CHANNEL_PREFIX']}"
    log = tmp_path / "worker.log"
    process = worker_start(queue=queue, name=f"ops-{os.environ['CHANNEL_PREFIX']}", log=log)
    try:
        yield queue, log
    finally:
        group_stop(process)


def _row(report, name):
    return next(row for row in report["components"]["tasks"]["tasks"] if row["task"] == name)


def test_worker_online_and_its_runs_counted(worker, settings):
    queue, log = worker
    online = wait_for(
        lambda: health_report()["components"]["workers"]["online"], timeout=90, what=f"the worker ({log})"
    )
    assert any(name.startswith(f"ops-{os.environ['CHANNEL_PREFIX']}@") for name in online)

    for _ in range(2):
        app.send_task(TASK, queue=queue)
    report = wait_for(
        lambda: (r := health_report()) and _row(r, TASK)["succeeded"] == 2 and r,
        timeout=90,
        what="two runs recorded by the worker",
    )
    assert _row(report, TASK)["failed"] == 0
    periodic = next(t for t in report["components"]["periodic_tasks"]["tasks"] if t["task"] == TASK)
    assert periodic["last_outcome"] == "succeeded"
    assert periodic["last_finished_at"] is not None

    settings.METRICS_TOKEN = "scrape"
    scraper = Client(headers={"Authorization": "Bearer scrape"})

    body = scraper.get("/metrics").content.decode()
    assert f'tradevision_task_runs_total{{outcome="succeeded",task="{TASK}"}} 2.0' in body
    assert f'tradevision_task_duration_seconds_count{{outcome="succeeded",task="{TASK}"}} 2.0' in body
