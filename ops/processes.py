"""Every web and worker process, with its last heartbeat (docs/operations.md,
"Processes").

Each process keeps one hash in Redis, `ops:proc:<kind>:<name>`, with `kind`
(`web` or `worker`), `name`, `host`, `pid`, `started_at`, `heartbeat_at`
(epoch seconds), `state` (`serving`, `draining`) and, for a web process, its
open WebSocket `connections`, for a worker its pool `concurrency`. It is
written every `OPS_HEARTBEAT_SECONDS` (10) and expires after
`PROCESS_KEY_TTL_SECONDS` (10 minutes); a process that exits cleanly deletes
it, and a write of its that arrives after that is refused in Redis (a
tombstone per process life, below).

A process whose heartbeat is older than 3 intervals is *lost* (killed, hung
or cut off from Redis): shown amber until its hash expires, and its sockets
are no longer counted. Everything global about web processes (the open
connection count in the health report and /metrics) is the sum over the
live ones.

Web processes write theirs from their event loop (ops/wsmetrics.py, started
by the server's start hook: realtime/lifecycle.py); workers from a thread
started by Celery's `worker_ready` signal (below).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any, cast

from django.conf import settings
from redis.exceptions import RedisError

from ops.store import ops_key, redis_client

logger = logging.getLogger(__name__)

PROCESS_KEY_TTL_SECONDS = 600
LOST_AFTER_HEARTBEATS = 3
WEB, WORKER = "web", "worker"


def heartbeat_seconds() -> float:
    return float(settings.OPS_HEARTBEAT_SECONDS)


def lost_after_seconds() -> float:
    return LOST_AFTER_HEARTBEATS * heartbeat_seconds()


def process_key(kind: str, name: str) -> str:
    return ops_key("proc", kind, name)


def this_host() -> str:
    return socket.gethostname()


def process_record(kind: str, name: str, **fields: str | int | float) -> dict[str, str | int | float]:
    """The hash of one process, `heartbeat_at` now unless given."""
    record: dict[str, str | int | float] = {
        "kind": kind,
        "name": name,
        "host": this_host(),
        "pid": os.getpid(),
        "state": "serving",
        "heartbeat_at": time.time(),
    }
    record.update(fields)
    return record


# A record is written only while its process has not said goodbye. The
# goodbye (`process_forget`) deletes the record and leaves a tombstone for the
# process's instance; the write checks the tombstone inside Redis, so a
# heartbeat already on its way as the process exits (an async flush, a
# heartbeat thread) cannot bring the record back for its TTL.
_WRITE_UNLESS_GONE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""


def _gone_key(instance: str) -> str:
    return ops_key("gone", instance)


def process_write_args(
    kind: str, name: str, instance: str, record: dict[str, str | int | float]
) -> tuple[Any, ...]:
    """The EVAL of one record write, for a sync or an async client or pipeline."""
    flat = [item for pair in record.items() for item in pair]
    keys = (process_key(kind, name), _gone_key(instance))
    return (_WRITE_UNLESS_GONE, len(keys), *keys, PROCESS_KEY_TTL_SECONDS, *flat)


def process_write(kind: str, name: str, *, instance: str = "", **fields: str | int | float) -> None:
    """Write (or refresh) a process's hash unless `instance` has said
    goodbye (sync: workers, tests)."""
    redis_client().eval(*process_write_args(kind, name, instance, process_record(kind, name, **fields)))


def process_forget(kind: str, name: str, *, instance: str = "") -> None:
    """The process exits: its hash goes, and no late write of `instance` brings it back."""
    pipe = redis_client().pipeline(transaction=True)
    pipe.set(_gone_key(instance), 1, ex=PROCESS_KEY_TTL_SECONDS)
    pipe.delete(process_key(kind, name))
    pipe.execute()


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat() if epoch is not None else None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def processes_list(*, now: float | None = None) -> list[dict[str, Any]]:
    """Every process with a hash, web first, each with its heartbeat's age
    and whether it is live."""
    now = time.time() if now is None else now
    client = redis_client()
    keys = sorted(client.scan_iter(match=ops_key("proc", "*"), count=500))
    if not keys:
        return []
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    rows: list[dict[str, Any]] = []
    for raw in cast(list[dict[str, str]], pipe.execute()):
        if not raw:  # expired between the scan and the read
            continue
        beat = _number(raw.get("heartbeat_at"))
        age = round(now - beat, 1) if beat is not None else None
        connections = _number(raw.get("connections"))
        concurrency = _number(raw.get("concurrency"))
        pid = _number(raw.get("pid"))
        rows.append(
            {
                "kind": raw.get("kind", ""),
                "name": raw.get("name", ""),
                "host": raw.get("host", ""),
                "pid": int(pid) if pid is not None else None,
                "state": raw.get("state", ""),
                "connections": int(connections) if connections is not None else None,
                "concurrency": int(concurrency) if concurrency is not None else None,
                "started_at": _iso(_number(raw.get("started_at"))),
                "last_heartbeat_at": _iso(beat),
                "heartbeat_age_seconds": age,
                "live": age is not None and age <= lost_after_seconds(),
            }
        )
    order = {WEB: 0, WORKER: 1}
    rows.sort(key=lambda row: (order.get(row["kind"], 2), row["name"]))
    return rows


def web_connections_open() -> int:
    """Open WebSockets over every live web process."""
    return sum(row["connections"] or 0 for row in processes_list() if row["kind"] == WEB and row["live"])


# --- Celery workers ----------------------------------------------------------------


class WorkerHeartbeat:
    """A daemon thread in the worker's main process writing its hash."""

    def __init__(self, name: str, concurrency: int | None) -> None:
        self.name = name
        self.instance = uuid.uuid4().hex  # this process's life, for its goodbye
        self.fields: dict[str, str | int | float] = {"started_at": time.time()}
        if concurrency is not None:
            self.fields["concurrency"] = concurrency
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ops-heartbeat", daemon=True)

    def _beat(self) -> None:
        try:
            process_write(WORKER, self.name, instance=self.instance, **self.fields)
        except (RedisError, OSError):
            logger.warning("ops: could not write the worker heartbeat (Redis unavailable)")
        except Exception:
            logger.exception("ops: could not write the worker heartbeat")

    def _run(self) -> None:
        while not self.stopped.is_set():
            self._beat()
            self.stopped.wait(heartbeat_seconds())

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        try:
            process_forget(WORKER, self.name, instance=self.instance)
        except (RedisError, OSError):
            pass


_worker_heartbeat: WorkerHeartbeat | None = None


def _worker_ready(sender: Any = None, **kwargs: Any) -> None:
    global _worker_heartbeat
    hostname = getattr(sender, "hostname", None) or f"worker@{this_host()}"
    controller = getattr(sender, "controller", None)
    concurrency = getattr(controller, "concurrency", None)
    _worker_heartbeat = WorkerHeartbeat(str(hostname), concurrency if isinstance(concurrency, int) else None)
    _worker_heartbeat.start()


def _worker_shutdown(sender: Any = None, **kwargs: Any) -> None:
    if _worker_heartbeat is not None:
        _worker_heartbeat.stop()


def worker_signals_connect() -> None:
    from celery.signals import worker_ready, worker_shutdown

    worker_ready.connect(_worker_ready, weak=False, dispatch_uid="ops.worker_ready")
    worker_shutdown.connect(_worker_shutdown, weak=False, dispatch_uid="ops.worker_shutdown")
