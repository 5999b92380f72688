"""Log configuration shared by every process (web, worker, beat, feed).

`logging_config` builds the `LOGGING` setting; `JsonFormatter` writes one
JSON object per line with the trade and task ids that lifecycle code passes
in `extra=` (and `ops.logcontext.TaskContextFilter` adds inside a task).
Celery workers and beat apply the same `LOGGING` (config/celery_app.py), so
a worker's lines look like the web's."""

import json
import logging
from datetime import UTC, datetime
from typing import Any

# Fields copied from `extra=` (or the task filter) into the JSON object.
_CONTEXT_KEYS = (
    "trade_id",
    "trade_ids",
    "task_id",
    "request_id",
    "user_id",
    "plan_id",
    "event",
    "status",
    "code",
    "attempt",
    "retry_at",
    "close_reason",
    "pnl",
)

LOG_FORMATS = ("plain", "json")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _CONTEXT_KEYS:
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        # "-" is the plain format's placeholder outside a web request.
        if payload.get("request_id") == "-":
            del payload["request_id"]
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def logging_config(*, fmt: str, level: str) -> dict[str, Any]:
    """The `LOGGING` dict: one stderr handler in `fmt` ("plain" or "json").

    The task filter is installed whatever the format: it is a dict lookup
    per line, and it lets a test or a custom formatter see the ids."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {LOG_FORMATS}, not {fmt!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
            "json": {"()": "config.logging.JsonFormatter"},
        },
        # Put the running Celery task's id (and its trade/plan id), and the
        # web request's id ("-" outside a request), on every line.
        "filters": {
            "task_context": {"()": "ops.logcontext.TaskContextFilter"},
            "request_context": {"()": "ops.requestid.RequestContextFilter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["task_context", "request_context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
    }
