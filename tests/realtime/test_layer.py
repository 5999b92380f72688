"""The sender: a layer that is down loses no event (the row is committed and
the consumer fills the gap) and never fails the writer's transaction."""

import socket

import pytest
from django.db import transaction

from realtime import layer
from realtime.models import Event
from realtime.publish import publish
from realtime.schemas import notification_data


@pytest.fixture
def dead_layer(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    config = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {
        "default": {**config, "CONFIG": {**config["CONFIG"], "hosts": [f"redis://127.0.0.1:{port}/0"]}}
    }


def test_a_waited_send_to_a_dead_layer_reports_false(dead_layer, caplog):
    assert layer.layer_group_send(group="user.1", message={"type": "x"}, wait=True) is False
    assert "send to user.1 failed" in caplog.text


def test_publish_commits_even_when_the_layer_is_down(
    dead_layer, user, caplog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            event = publish(
                user_id=user.pk, event="notification", data=notification_data(title="t", body="b")
            )
    layer.layer_drain()
    assert Event.objects.filter(pk=event.pk, seq=1).exists()
    assert "channel layer send to user." in caplog.text


def test_a_working_send_reports_true():
    assert layer.layer_group_send(group="user.1", message={"type": "x"}, wait=True) is True


def test_a_send_while_redis_is_away_logs_one_line_without_a_traceback(monkeypatch, caplog):
    """Redis restarting: every send fails alike, each logged once, briefly
    (tests/faults/test_feed_redis.py checks the feed's log has no traceback)."""
    import redis.exceptions

    from realtime import layer as layer_module

    class AwayLayer:
        async def group_send(self, group, message):
            raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(layer_module, "get_channel_layer", lambda: AwayLayer())
    with caplog.at_level("WARNING", logger="realtime.layer"):
        assert layer_module.layer_group_send(group="g", message={"type": "x"}) is False
    (record,) = [r for r in caplog.records if r.name == "realtime.layer"]
    assert record.exc_info is None
    assert "Connection refused" in record.getMessage() and "recover it by resume" in record.getMessage()
