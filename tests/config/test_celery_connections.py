"""config.celery_app.connections_back_to_pool: around each task a worker does
what Django does around a request. With the pool of local and production
settings, closing hands the connection back to it (the integration test in
tests/integration/test_trade_worker.py shows the session kept); here, with
the suite's unpooled settings, the close itself is what is observed."""

from unittest import mock

import pytest
from celery import signals
from django.db import connection

from config.celery_app import connections_back_to_pool

pytestmark = pytest.mark.django_db(transaction=True)


def _task(*, eager: bool) -> mock.Mock:
    task = mock.Mock(request=mock.Mock(is_eager=eager))
    task.name = "tests.connections_probe"
    return task


def test_celerys_task_finished_signal_closes_the_tasks_connection():
    connection.ensure_connection()
    assert connection.connection is not None
    task = _task(eager=False)
    signals.task_postrun.send(
        sender=task, task_id="t-1", task=task, args=(), kwargs={}, retval=None, state="SUCCESS"
    )
    assert connection.connection is None


def test_celerys_task_start_signal_closes_a_connection_left_from_before():
    connection.ensure_connection()
    task = _task(eager=False)
    signals.task_prerun.send(sender=task, task_id="t-2", task=task, args=(), kwargs={})
    assert connection.connection is None


def test_an_eager_task_leaves_its_callers_connection_alone():
    # An eager task runs inside its caller's transaction, which must stay open.
    connection.ensure_connection()
    connections_back_to_pool(task=_task(eager=True))
    assert connection.connection is not None
