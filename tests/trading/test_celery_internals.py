"""`trading.trades.services._no_result_subscription` relies on a private part
of Celery: the `celery._state` flag that says joining a result "will block",
which `RedisBackend.on_task_call` reads to skip subscribing the sender to the
task's result channel. These tests pin what that code relies on, so an
upgrade of Celery that changes it fails here, loudly, and not as a slow leak
of result subscriptions in the web processes."""

import inspect
import threading
from unittest import mock

from celery import Celery, current_app
from celery import _state as celery_state
from celery.backends.redis import RedisBackend
from celery.fixups.django import DjangoWorkerFixup

from trading.trades.services import _no_result_subscription


def test_the_private_flag_and_its_setter_exist_and_round_trip():
    assert callable(celery_state.task_join_will_block), "celery._state.task_join_will_block is gone"
    assert callable(celery_state._set_task_join_will_block), "celery._state._set_task_join_will_block is gone"
    before = celery_state.task_join_will_block()
    with _no_result_subscription():
        assert celery_state.task_join_will_block() is True
    assert celery_state.task_join_will_block() is before


def test_the_redis_backend_skips_the_subscription_when_joining_will_block():
    backend = mock.Mock(spec=RedisBackend)
    backend.result_consumer = mock.Mock()
    with _no_result_subscription():
        RedisBackend.on_task_call(backend, producer=None, task_id="t-1")
    backend.result_consumer.consume_from.assert_not_called()

    RedisBackend.on_task_call(backend, producer=None, task_id="t-2")
    backend.result_consumer.consume_from.assert_called_once_with("t-2")


def test_send_task_still_calls_the_backends_on_task_call():
    # The hook we neutralise must still be the one `send_task` calls.
    assert "self.backend.on_task_call(" in inspect.getsource(Celery.send_task)


def test_the_project_uses_the_redis_result_backend(settings):
    # Another backend would make the context manager pointless, not wrong:
    # say so here rather than keep a workaround for a backend we do not use.
    assert settings.CELERY_RESULT_BACKEND.startswith("redis://")
    assert isinstance(current_app.backend, RedisBackend)


def test_interleaved_senders_on_threads_leave_the_flag_as_it_was():
    """Two threads inside at once, leaving in the other order than they came:
    the process-wide flag is back to False at the end (a per-thread save and
    restore would leave it True for good)."""
    import threading

    from celery import _state as celery_state

    assert celery_state.task_join_will_block() is False
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def a():
        with _no_result_subscription():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b():
        a_in.wait(5)
        with _no_result_subscription():
            b_in.set()
            a_out.wait(5)
            assert celery_state.task_join_will_block() is True  # still inside

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert celery_state.task_join_will_block() is False


def test_every_thread_of_a_process_shares_one_result_backend():
    """Django runs each request's sync code on a thread of its own under
    ASGI: a backend per thread was built again for every trade request's
    send (CELERY_RESULT_BACKEND_THREAD_SAFE, config/settings/base.py)."""
    seen = []
    thread = threading.Thread(target=lambda: seen.append(current_app.backend))
    thread.start()
    thread.join()
    assert seen == [current_app.backend]


def test_celery_closes_a_workers_connections_only_every_reuse_count_tasks():
    """What CELERY_DB_REUSE_MAX relies on: the Django fixup reads it, and its
    per-task `close_database` closes nothing until the count runs out (it
    would close the whole psycopg pool of a prefork child at every task)."""
    fixup = DjangoWorkerFixup(current_app)
    assert fixup.db_reuse_max == 10_000
    with mock.patch.object(fixup, "_close_database") as close:
        for _ in range(3):
            fixup.on_task_prerun(sender=mock.Mock(request=mock.Mock(is_eager=False)))
            fixup.on_task_postrun(sender=mock.Mock(request=mock.Mock(is_eager=False)))
    close.assert_not_called()
