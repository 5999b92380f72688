"""JSON log lines for production: one object per line, with the trade and
task ids that lifecycle code passes in `extra=`."""

import json
import logging
from datetime import UTC, datetime

_CONTEXT_KEYS = ("trade_id", "task_id", "user_id", "plan_id", "event")


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
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
