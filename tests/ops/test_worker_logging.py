"""A real `celery -A config worker` (prefork, as in docker/worker/start) logs
through Django's LOGGING: with `LOG_FORMAT=json` every stderr line is a JSON
object, and the lines written while it opens a trade carry that trade's id
and the task's id.

Celery's worker, left alone, empties the root logger's handlers and installs
its own plain-text one (`worker_hijack_root_logger`); this test fails then,
because the worker's lines are not JSON and carry no ids."""

import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest

from config.celery_app import app
from tests.factories import UserFactory
from tests.faults.processes import ROOT, child_env, group_stop, wait_for
from tests.trading.trades_support import fund, make_instrument, quote
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_request

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TASK = "trading.tasks.initiate_manual_trade"


@pytest.fixture
def queue():
    """A queue of our own, made the default for this test's sends."""
    name = f"logs-{os.environ['CHANNEL_PREFIX']}-{uuid.uuid4().hex[:6]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = name
    yield name
    app.conf.task_default_queue = previous


@pytest.fixture
def worker(queue, tmp_path):
    stdout, stderr = tmp_path / "worker.out", tmp_path / "worker.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork"),
                *("--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle"),
                *("--without-heartbeat", "-n", f"{queue}@%h", "-Q", queue),
            ],
            cwd=ROOT,
            env=child_env(
                LOG_FORMAT="json",
                LOG_LEVEL="INFO",
                # This sandbox runs tests as root, and Celery warns about that
                # through `warnings` before logging is set up (a plain-text
                # line). The image runs as `app` (docker/Dockerfile USER): no warning.
                PYTHONWARNINGS="ignore:You're running the worker with superuser privileges",
            ),
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    try:
        yield process, stderr
    finally:
        group_stop(process)


def _json_lines(path) -> list[dict]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"a worker stderr line is not JSON: {line!r}") from None
    return parsed


def test_worker_lines_are_json_with_trade_and_task_ids(worker):
    process, stderr = worker
    user = UserFactory()
    inst = make_instrument("WLG-USD", fee_bps=10, price_scale=2)
    fund(user, "1000.00")
    quote(inst, "100.00")
    trade = trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=Decimal("100.00"), idempotency_key="log"
    ).trade

    wait_for(
        lambda: Trade.objects.get(pk=trade.pk).status == TradeStatus.OPEN,
        timeout=90,
        what=f"the worker to open the trade (log: {stderr})",
    )
    wait_for(
        lambda: f"{TASK}[{trade.task_id}] succeeded" in stderr.read_text(),
        timeout=30,
        what=f"the task's success line (log: {stderr})",
    )
    group_stop(process)

    lines = _json_lines(stderr)
    # The worker's own start-up line went through the same handler.
    assert any(
        line["logger"] == "celery.apps.worker" and line["message"].endswith("ready.") for line in lines
    )

    opened = [line for line in lines if line["message"].startswith(f"trade {trade.pk} opened")]
    assert len(opened) == 1
    assert opened[0] == {
        "time": opened[0]["time"],
        "level": "INFO",
        "logger": "trading.trades.services",
        "message": f"trade {trade.pk} opened at 100.00 on attempt 1",
        "trade_id": trade.pk,
        "task_id": trade.task_id,
        "user_id": user.pk,
        "status": "open",
    }
    # Celery's own line for the run: ids from ops.logcontext.TaskContextFilter.
    (done,) = [
        line for line in lines if line["logger"] == "celery.app.trace" and trade.task_id in line["message"]
    ]
    assert (done["task_id"], done["trade_id"]) == (trade.task_id, trade.pk)
