"""Log lines written while a Celery task runs carry its task id and the
trade id it was called with, as JSON fields in production's format."""

import json
import logging

import pytest

from config.logging import JsonFormatter
from ops.logcontext import TaskContextFilter
from tests.ops.conftest import flaky


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(JsonFormatter())
        self.addFilter(TaskContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def capture():
    handler = _Capture()
    logger = logging.getLogger("tests.ops")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)


def test_a_line_inside_a_task_carries_task_and_trade_ids(capture):
    result = flaky.apply(args=["ok"], kwargs={"trade_id": 42}, task_id="task-abc")
    assert result.successful()
    line = json.loads(capture.lines[-1])
    assert (line["task_id"], line["trade_id"]) == ("task-abc", 42)
    assert line["message"] == "flaky running in mode ok"


def test_a_line_outside_any_task_has_no_task_id(capture):
    logging.getLogger("tests.ops").info("outside")
    line = json.loads(capture.lines[-1])
    assert "task_id" not in line and line["message"] == "outside"


def test_extra_given_by_the_caller_wins(capture):
    assert flaky.apply(args=["extra"], kwargs={"trade_id": 42}, task_id="task-x").successful()
    line = json.loads(capture.lines[-1])
    assert (line["task_id"], line["trade_id"]) == ("task-x", 7)
