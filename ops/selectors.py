"""The health report: one read of every part of the platform, each with a
red / amber / green status (thresholds in docs/operations.md).

Each component is checked on its own and a check that raises is reported
red with the error's text, so one broken part never hides the others. The
report takes about a second: the Celery ping waits `WORKER_PING_TIMEOUT`
for answers (it is skipped when Redis, the broker, is unreachable).

Money never appears here; latencies and ages are plain floats in
milliseconds and seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import redis
from celery import current_app as celery_app
from celery.schedules import maybe_schedule
from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from market.calendars import market_is_open
from market.models import Instrument
from market.prices import price_latest_many
from ops import processes, taskruns, wsmetrics
from ops.store import redis_client
from push.selectors import push_totals
from realtime.models import Event, EventCounter
from wallets.models import BalanceDrift

GREEN, AMBER, RED = "green", "amber", "red"
_RANK = {GREEN: 0, AMBER: 1, RED: 2}
WORKER_PING_TIMEOUT = 1.0
# kombu's Redis transport keeps messages of priority > 0 in `<queue>\x06\x16<n>`.
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)

Component = dict[str, Any]


def worst(statuses: list[str]) -> str:
    return max(statuses, key=_RANK.__getitem__, default=GREEN)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _latency_status(latency_ms: float) -> str:
    return AMBER if latency_ms > settings.OPS_LATENCY_WARN_MS else GREEN


def database_check() -> Component:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    latency = _ms(time.perf_counter() - started)
    return {"status": _latency_status(latency), "latency_ms": latency}


def redis_check() -> Component:
    started = time.perf_counter()
    redis_client().ping()
    latency = _ms(time.perf_counter() - started)
    return {"status": _latency_status(latency), "latency_ms": latency}


def workers_check() -> Component:
    replies = celery_app.control.ping(timeout=WORKER_PING_TIMEOUT) or []
    online = sorted(name for reply in replies for name in reply)
    return {"status": GREEN if online else RED, "online": online, "count": len(online)}


def _queue_names() -> list[str]:
    names = {celery_app.conf.task_default_queue or "celery"}
    names.update(queue.name for queue in celery_app.conf.task_queues or [])
    return sorted(names)


def queues_check() -> Component:
    broker = celery_app.conf.broker_url or ""
    if not broker.startswith(("redis://", "rediss://", "unix://")):
        return {"status": AMBER, "queues": [], "unacked": None, "error": "queue depth needs a Redis broker"}
    client = redis.Redis.from_url(broker, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        pipe = client.pipeline(transaction=False)
        names = _queue_names()
        for name in names:
            pipe.llen(name)
            for step in _PRIORITY_STEPS:
                pipe.llen(f"{name}{_PRIORITY_SEP}{step}")
        pipe.hlen("unacked")
        values = pipe.execute()
    finally:
        client.close()
    per_queue = 1 + len(_PRIORITY_STEPS)
    queues = [
        {"name": name, "depth": sum(values[i * per_queue : (i + 1) * per_queue])}
        for i, name in enumerate(names)
    ]
    deep = any(q["depth"] > settings.OPS_QUEUE_DEPTH_WARN for q in queues)
    return {"status": AMBER if deep else GREEN, "queues": queues, "unacked": values[-1]}


def _periodic_entry(key: str, entry: dict[str, Any], last: taskruns.TaskLast, since: datetime) -> Component:
    schedule = maybe_schedule(entry["schedule"], app=celery_app)
    # A task that never ran is judged from when monitoring started.
    baseline = last.started_at or since
    remaining: timedelta = schedule.remaining_estimate(baseline)
    now = timezone.now()
    overdue = remaining < -timedelta(seconds=settings.OPS_OVERDUE_GRACE_SECONDS)
    if overdue:
        status = RED
    elif last.outcome == taskruns.FAILED:
        status = AMBER
    else:
        status = GREEN
    return {
        "name": key,
        "task": entry["task"],
        "schedule": str(schedule),
        "last_started_at": _iso(last.started_at),
        "last_finished_at": _iso(last.finished_at),
        "last_outcome": last.outcome,
        "last_failure": last.failure,
        "due_at": _iso(now + remaining),
        "overdue": overdue,
        "status": status,
    }


def periodic_check() -> Component:
    entries = dict(settings.CELERY_BEAT_SCHEDULE)
    lasts = taskruns.task_last_many(sorted({entry["task"] for entry in entries.values()}))
    since = taskruns.monitor_since_mark()
    tasks = [_periodic_entry(key, entry, lasts[entry["task"]], since) for key, entry in entries.items()]
    return {"status": worst([t["status"] for t in tasks]), "tasks": tasks}


def tasks_check() -> Component:
    counts = taskruns.task_counts_last_hour()
    names = sorted(set(counts) | {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()})
    lasts = taskruns.task_last_many(names)
    rows = []
    for name in names:
        per = counts.get(name, {})
        rows.append(
            {
                "task": name,
                "succeeded": per.get(taskruns.SUCCEEDED, 0),
                "retried": per.get(taskruns.RETRIED, 0),
                "failed": per.get(taskruns.FAILED, 0),
                "last_failure_at": _iso(lasts[name].failed_at),
                "last_failure": lasts[name].failure,
            }
        )
    failing = any(row["failed"] for row in rows)
    return {"status": AMBER if failing else GREEN, "window_seconds": 3600, "tasks": rows}


def feed_check() -> Component:
    now = timezone.now()
    instruments = list(Instrument.objects.filter(active=True).order_by("symbol"))
    quotes = price_latest_many([i.symbol for i in instruments], now=now)
    rows: list[dict[str, Any]] = []
    for instrument in instruments:
        quote = quotes[instrument.symbol]
        is_open = market_is_open(instrument, now)
        age = (now - quote.at).total_seconds() if quote.at is not None else None
        rows.append(
            {
                "symbol": instrument.symbol,
                "price": str(quote.price) if quote.price is not None else None,
                "last_tick_at": _iso(quote.at),
                "age_seconds": round(age, 3) if age is not None else None,
                "stale": quote.stale,
                "market_open": is_open,
                # A closed market's price is expected to stand still.
                "status": RED if quote.stale and is_open else GREEN,
            }
        )
    return {
        "status": worst([r["status"] for r in rows]),
        "stale_after_seconds": settings.PRICE_STALE_AFTER,
        "instruments": rows,
    }


def processes_check() -> Component:
    """Every web and worker process with its last heartbeat: amber while one
    is lost (silent for 3 heartbeats and not stopped cleanly)."""
    rows = processes.processes_list()
    for row in rows:
        row["status"] = GREEN if row["live"] else AMBER
    live = [row for row in rows if row["live"]]
    return {
        "status": worst([row["status"] for row in rows]),
        "web": sum(1 for row in live if row["kind"] == processes.WEB),
        "workers": sum(1 for row in live if row["kind"] == processes.WORKER),
        "lost": len(rows) - len(live),
        "heartbeat_seconds": processes.heartbeat_seconds(),
        "processes": rows,
    }


def websockets_check() -> Component:
    return {
        "status": GREEN,
        "open_connections": wsmetrics.ws_connections_open(),
        "events_delivered": wsmetrics.ws_events_delivered(),
    }


def events_published_total() -> int:
    """Every event ever published: per-user counters are never pruned."""
    return int(EventCounter.objects.aggregate(total=Sum("last_seq"))["total"] or 0)


def _outbox_status(lag: float | None, connections: int) -> str:
    # Only judged while clients are connected: with nobody connected nothing
    # can be delivered and a growing lag is expected, not a fault.
    if lag is None or connections == 0:
        return GREEN
    if lag > settings.OPS_OUTBOX_LAG_RED_SECONDS:
        return RED
    if lag > settings.OPS_OUTBOX_LAG_WARN_SECONDS:
        return AMBER
    return GREEN


def outbox_check() -> Component:
    """Newest event written against the newest event frame sent to any client.

    Events are sent right after their commit, and a client that missed one
    recovers it by resume (docs/operations.md), so the lag is not lost data;
    a long one while clients are connected says delivery has stopped (the
    channel layer or the send after commit is failing)."""
    now = timezone.now()
    newest = Event.objects.order_by("-id").values_list("created_at", flat=True).first()
    delivered_raw = wsmetrics.ws_last_event_time()
    delivered_at = datetime.fromisoformat(delivered_raw) if delivered_raw else None
    lag = None
    if newest is not None and delivered_at is not None:
        lag = round(max((newest - delivered_at).total_seconds(), 0.0), 3)
    connections = wsmetrics.ws_connections_open()
    return {
        "status": _outbox_status(lag, connections),
        "events_published": events_published_total(),
        "newest_event_at": _iso(newest),
        "newest_event_age_seconds": round((now - newest).total_seconds(), 3) if newest else None,
        "last_delivered_event_at": _iso(delivered_at),
        "lag_seconds": lag,
        "open_connections": connections,
        "lag_warn_seconds": settings.OPS_OUTBOX_LAG_WARN_SECONDS,
        "lag_red_seconds": settings.OPS_OUTBOX_LAG_RED_SECONDS,
    }


def ledger_check() -> Component:
    day_ago = timezone.now() - timedelta(hours=24)
    recent = BalanceDrift.objects.filter(detected_at__gte=day_ago)
    unrepaired = recent.filter(repaired=False).count()
    repaired = recent.filter(repaired=True).count()
    last = BalanceDrift.objects.order_by("-id").values_list("detected_at", flat=True).first()
    status = RED if unrepaired else AMBER if repaired else GREEN
    return {
        "status": status,
        "drifts_total": BalanceDrift.objects.count(),
        "unrepaired_24h": unrepaired,
        "repaired_24h": repaired,
        "last_drift_at": _iso(last),
    }


def push_check() -> Component:
    """Web Push outcomes since the counters began (push.counters): amber when
    any delivery failed for good, so someone looks at the log."""
    totals = push_totals()
    outcomes = totals["outcomes"]
    return {
        "status": AMBER if outcomes["failed"] else GREEN,
        "sent": outcomes["sent"],
        "failed": outcomes["failed"],
        "retried": outcomes["retried"],
        "subscriptions_removed": outcomes["gone"],
        "subscriptions": totals["subscriptions"],
    }


def _run(check: Callable[[], Component]) -> Component:
    try:
        return check()
    except Exception as exc:
        return {"status": RED, "error": f"{type(exc).__name__}: {exc}"[:300]}


def health_report() -> dict[str, Any]:
    """Every component's state; `status` is the worst of them."""
    components: dict[str, Component] = {"database": _run(database_check), "redis": _run(redis_check)}
    if components["redis"]["status"] == RED:
        # The broker is Redis: a ping would only wait out its timeout.
        components["workers"] = {"status": RED, "error": "broker unreachable", "online": [], "count": 0}
    else:
        components["workers"] = _run(workers_check)
    for name, check in (
        ("queues", queues_check),
        ("periodic_tasks", periodic_check),
        ("tasks", tasks_check),
        ("feed", feed_check),
        ("processes", processes_check),
        ("websockets", websockets_check),
        ("outbox", outbox_check),
        ("ledger", ledger_check),
        ("push", push_check),
    ):
        components[name] = _run(check)
    return {
        "status": worst([c["status"] for c in components.values()]),
        "checked_at": timezone.now().isoformat(),
        "components": components,
    }


def liveness() -> bool:
    """For load balancers: can this process reach PostgreSQL and Redis?"""
    try:
        database_check()
        redis_check()
    except Exception:
        return False
    return True
