"""Task runs recorded from Celery's signals: counts per outcome over the last
hour, the last failure's reason, all-time totals and durations, and periodic
tasks judged overdue against their schedule."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ops import taskruns
from ops.selectors import periodic_check, tasks_check
from ops.store import ops_key, redis_client
from tests.ops.conftest import FLAKY_TASK, run_task

pytestmark = pytest.mark.django_db


def _row(name):
    return next(row for row in tasks_check()["tasks"] if row["task"] == name)


def test_each_outcome_is_counted_once():
    run_task("ok")
    run_task("ok")
    run_task("fail")
    run_task("retry")
    row = _row(FLAKY_TASK)
    # The retried run counts as one retry and then one success.
    assert (row["succeeded"], row["retried"], row["failed"]) == (3, 1, 1)
    assert row["last_failure"] == "ValueError: the price feed said no"
    assert tasks_check()["status"] == "amber"


def test_no_failure_in_the_last_hour_is_green():
    run_task("ok")
    assert _row(FLAKY_TASK)["failed"] == 0
    assert tasks_check()["status"] == "green"


def test_counts_older_than_an_hour_drop_out_of_the_window():
    run_task("fail")
    in_two_hours = timezone.now().timestamp() + 7200
    assert FLAKY_TASK not in taskruns.task_counts_last_hour(now=in_two_hours)
    assert taskruns.task_counts_last_hour()[FLAKY_TASK]["failed"] == 1


def test_totals_and_durations_are_kept_for_metrics():
    run_task("ok")
    run_task("fail")
    totals = taskruns.task_totals()
    assert totals[(FLAKY_TASK, "succeeded")] == 1
    assert totals[(FLAKY_TASK, "failed")] == 1
    histograms = taskruns.task_duration_histograms()
    counted = sum(v for k, v in histograms[(FLAKY_TASK, "succeeded")].items() if k != "sum")
    assert counted == 1
    assert histograms[(FLAKY_TASK, "succeeded")]["sum"] >= 0


def test_last_run_is_recorded_with_task_id_and_outcome():
    run_task("fail")
    last = taskruns.task_last_many([FLAKY_TASK])[FLAKY_TASK]
    assert last.outcome == "failed"
    assert last.task_id
    assert last.started_at is not None and last.finished_at is not None
    assert last.finished_at >= last.started_at


def _periodic(name):
    return next(t for t in periodic_check()["tasks"] if t["name"] == name)


def test_a_minutely_task_never_run_since_monitoring_began_long_ago_is_overdue():
    redis_client().set(ops_key("since"), (timezone.now() - timedelta(hours=3)).isoformat())
    entry = _periodic("process-completed-trades")
    assert entry["overdue"] is True
    assert entry["status"] == "red"
    assert periodic_check()["status"] == "red"


def test_a_task_that_just_ran_is_not_overdue():
    redis_client().set(ops_key("since"), (timezone.now() - timedelta(hours=3)).isoformat())
    taskruns.task_run_started(name="trading.tasks.process_completed_trades", task_id="t-1")
    taskruns.task_run_finished(name="trading.tasks.process_completed_trades", task_id="t-1", state="SUCCESS")
    entry = _periodic("process-completed-trades")
    assert entry["overdue"] is False
    assert entry["last_outcome"] == "succeeded"
    assert entry["status"] == "green"


def test_a_periodic_task_whose_last_run_failed_is_amber():
    taskruns.task_run_started(name="wallets.tasks.update_wallet_balances", task_id="t-2")
    taskruns.task_run_failed(name="wallets.tasks.update_wallet_balances", exception=RuntimeError("db gone"))
    taskruns.task_run_finished(name="wallets.tasks.update_wallet_balances", task_id="t-2", state="FAILURE")
    entry = _periodic("update-wallet-balances")
    assert (entry["status"], entry["last_failure"]) == ("amber", "RuntimeError: db gone")


def test_recording_never_raises_when_redis_is_down(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    # A task still runs and succeeds; the monitor just misses it.
    run_task("ok")
