"""Celery task runs, recorded from Celery's signals into Redis.

Why Redis and not a `TaskRun` table: the worker already depends on Redis (it
is the broker), one pipelined round trip per run costs far less than a row
per run in PostgreSQL on the trade path, and every number the monitor needs
is a counter or a "last" value. What is kept, per task name:

- `task:last:<name>` (hash): the last start, finish, outcome, duration and
  task id; the last failure's time and reason; the last retry's reason.
- `task:min:<epoch minute>` (hash `<name>\\t<outcome>` -> count, expires
  after two hours): the "last hour" counts are the sum of 60 buckets.
- `task:total` and `task:dur` (hashes): all-time counts and a duration
  histogram, exported to Prometheus at scrape time (docs/operations.md).
- `since`: when this monitor first recorded anything; a periodic task that
  has never run is judged overdue against it.

Outcomes: `succeeded`, `failed`, `retried` (Celery's SUCCESS / FAILURE /
RETRY states at `task_postrun`). A worker killed mid-task records a start
and no finish; the redelivered message (acks late) records the next run.

Recording never raises: a monitoring outage must not fail a task.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from celery import signals
from redis.exceptions import RedisError

from ops.store import ops_key, redis_client

logger = logging.getLogger(__name__)

SUCCEEDED, FAILED, RETRIED = "succeeded", "failed", "retried"
OUTCOMES = (SUCCEEDED, FAILED, RETRIED)
_STATE_OUTCOME = {"SUCCESS": SUCCEEDED, "FAILURE": FAILED, "RETRY": RETRIED}
# Upper bounds (seconds) of the duration histogram; the last bucket is +Inf.
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
MINUTE_BUCKET_TTL_SECONDS = 2 * 3600
REASON_MAX_CHARS = 500
SEP = "\t"

# Start instants of the tasks running in this process, by task id (a worker
# child runs one task at a time with prefork, several with threads).
_started: dict[str, float] = {}
_started_lock = threading.Lock()
_connected = False


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _minute(at: float) -> int:
    return int(at // 60)


def _safely(what: str, fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except (RedisError, OSError):
        logger.warning("ops: could not record %s (Redis unavailable)", what)
    except Exception:
        # A bug here must not fail the task it observes.
        logger.exception("ops: could not record %s", what)


def task_run_started(*, name: str, task_id: str) -> None:
    with _started_lock:
        _started[task_id] = time.monotonic()
    pipe = redis_client().pipeline(transaction=False)
    pipe.hset(ops_key("task", "last", name), mapping={"started_at": _now_iso(), "task_id": task_id})
    pipe.setnx(ops_key("since"), _now_iso())
    pipe.execute()


def _bucket(duration: float) -> str:
    for bound in DURATION_BUCKETS:
        if duration <= bound:
            return str(bound)
    return "+Inf"


def task_run_finished(*, name: str, task_id: str, state: str) -> None:
    with _started_lock:
        started = _started.pop(task_id, None)
    duration = time.monotonic() - started if started is not None else None
    outcome = _STATE_OUTCOME.get(state, state.lower())
    field = f"{name}{SEP}{outcome}"
    minute_key = ops_key("task", "min", str(_minute(time.time())))
    last: dict[str, str] = {"finished_at": _now_iso(), "outcome": outcome, "task_id": task_id}
    if duration is not None:
        last["duration"] = f"{duration:.6f}"
    pipe = redis_client().pipeline(transaction=False)
    pipe.hset(ops_key("task", "last", name), mapping=last)
    pipe.hincrby(minute_key, field, 1)
    pipe.expire(minute_key, MINUTE_BUCKET_TTL_SECONDS)
    pipe.hincrby(ops_key("task", "total"), field, 1)
    if duration is not None:
        durations = ops_key("task", "dur")
        pipe.hincrby(durations, f"{field}{SEP}{_bucket(duration)}", 1)
        pipe.hincrbyfloat(durations, f"{field}{SEP}sum", duration)
    pipe.setnx(ops_key("since"), _now_iso())
    pipe.execute()


def _reason(exception: object) -> str:
    return f"{type(exception).__name__}: {exception}"[:REASON_MAX_CHARS]


def task_run_failed(*, name: str, exception: object) -> None:
    redis_client().hset(
        ops_key("task", "last", name), mapping={"failed_at": _now_iso(), "failure": _reason(exception)}
    )


def task_run_retried(*, name: str, reason: object) -> None:
    redis_client().hset(
        ops_key("task", "last", name), mapping={"retried_at": _now_iso(), "retry_reason": str(reason)[:500]}
    )


# --- signal receivers (thin: pull the fields out, record, never raise) ------


def _on_prerun(sender: Any = None, task_id: str = "", task: Any = None, **_: Any) -> None:
    _safely("a task start", lambda: task_run_started(name=task.name, task_id=task_id))


def _on_postrun(sender: Any = None, task_id: str = "", task: Any = None, state: str = "", **_: Any) -> None:
    _safely("a task finish", lambda: task_run_finished(name=task.name, task_id=task_id, state=state or ""))


def _on_failure(sender: Any = None, exception: object = None, **_: Any) -> None:
    _safely("a task failure", lambda: task_run_failed(name=sender.name, exception=exception))


def _on_retry(sender: Any = None, reason: object = None, **_: Any) -> None:
    _safely("a task retry", lambda: task_run_retried(name=sender.name, reason=reason))


def task_signals_connect() -> None:
    global _connected
    if _connected:
        return
    signals.task_prerun.connect(_on_prerun, weak=False, dispatch_uid="ops.task_prerun")
    signals.task_postrun.connect(_on_postrun, weak=False, dispatch_uid="ops.task_postrun")
    signals.task_failure.connect(_on_failure, weak=False, dispatch_uid="ops.task_failure")
    signals.task_retry.connect(_on_retry, weak=False, dispatch_uid="ops.task_retry")
    _connected = True


# --- readers -------------------------------------------------------------------


@dataclass(frozen=True)
class TaskLast:
    started_at: datetime | None
    finished_at: datetime | None
    outcome: str | None
    duration: float | None
    task_id: str | None
    failed_at: datetime | None
    failure: str | None
    retried_at: datetime | None
    retry_reason: str | None


def _parse_time(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


def task_last_many(names: list[str]) -> dict[str, TaskLast]:
    pipe = redis_client().pipeline(transaction=False)
    for name in names:
        pipe.hgetall(ops_key("task", "last", name))
    result = {}
    for name, raw in zip(names, pipe.execute(), strict=True):
        result[name] = TaskLast(
            started_at=_parse_time(raw.get("started_at")),
            finished_at=_parse_time(raw.get("finished_at")),
            outcome=raw.get("outcome"),
            duration=float(raw["duration"]) if raw.get("duration") else None,
            task_id=raw.get("task_id"),
            failed_at=_parse_time(raw.get("failed_at")),
            failure=raw.get("failure"),
            retried_at=_parse_time(raw.get("retried_at")),
            retry_reason=raw.get("retry_reason"),
        )
    return result


def task_counts_last_hour(*, now: float | None = None) -> dict[str, dict[str, int]]:
    """{task name: {outcome: count}} over the last 60 whole minutes and this one."""
    current = _minute(now if now is not None else time.time())
    pipe = redis_client().pipeline(transaction=False)
    for minute in range(current - 59, current + 1):
        pipe.hgetall(ops_key("task", "min", str(minute)))
    counts: dict[str, dict[str, int]] = {}
    for bucket in pipe.execute():
        for field, value in bucket.items():
            name, _, outcome = field.rpartition(SEP)
            per_task = counts.setdefault(name, dict.fromkeys(OUTCOMES, 0))
            per_task[outcome] = per_task.get(outcome, 0) + int(value)
    return counts


def task_totals() -> dict[tuple[str, str], int]:
    raw = cast(dict[str, str], redis_client().hgetall(ops_key("task", "total")))
    totals: dict[tuple[str, str], int] = {}
    for field, value in raw.items():
        name, outcome = field.rsplit(SEP, 1)
        totals[(name, outcome)] = int(value)
    return totals


def task_duration_histograms() -> dict[tuple[str, str], dict[str, float]]:
    """{(task, outcome): {bucket bound or "sum": value}} (bucket counts not cumulative)."""
    raw = cast(dict[str, str], redis_client().hgetall(ops_key("task", "dur")))
    result: dict[tuple[str, str], dict[str, float]] = {}
    for field, value in raw.items():
        name, outcome, bucket = field.rsplit(SEP, 2)
        result.setdefault((name, outcome), {})[bucket] = float(value)
    return result


def monitor_since_mark() -> datetime:
    """The monitoring baseline, set on first use."""
    client = redis_client()
    client.setnx(ops_key("since"), _now_iso())
    since = _parse_time(cast(str | None, client.get(ops_key("since"))))
    assert since is not None
    return since
