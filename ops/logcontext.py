"""Task and trade ids on every log line written while a Celery task runs.

`TaskContextFilter` (installed on the log handlers in production settings)
copies the running task's id onto each record, and the trade or
plan id when the task was called with one (`trade_id=` / `plan_id=` keyword,
or a first positional argument for the tasks named in `_FIRST_ARG_IDS`).
Values a caller passed in `extra=` win. `config.logging.JsonFormatter` then
writes them as JSON fields, so a grep for one trade id finds the web request,
the task and its retries.
"""

import logging
from typing import Any

from celery._state import get_current_task

# Tasks whose first positional argument is a trade / plan id.
_FIRST_ARG_IDS = {
    "trading.tasks.initiate_manual_trade": "trade_id",
}


def _ids_of(task: Any) -> dict[str, Any]:
    request = task.request
    ids: dict[str, Any] = {"task_id": request.id}
    kwargs = request.kwargs or {}
    for key in ("trade_id", "plan_id"):
        if key in kwargs:
            ids[key] = kwargs[key]
    first = _FIRST_ARG_IDS.get(task.name)
    if first and first not in ids and request.args:
        ids[first] = request.args[0]
    return ids


class TaskContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        task = get_current_task()
        if task is not None and task.request.id is not None:
            for key, value in _ids_of(task).items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True
