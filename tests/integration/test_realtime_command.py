"""An event published by a short-lived process (a management command that
exits right after publishing) still reaches the channel layer: the unwaited
after-commit send is drained at exit (realtime.layer.layer_drain)."""

import asyncio
import sys
from pathlib import Path

import pytest
from channels.layers import get_channel_layer

from tests.children import child_env

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


async def test_event_from_an_exiting_management_command_is_sent(user):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(f"user.{user.pk}", channel)
    env = child_env()
    code = (
        "from realtime.services import notification_send; "
        f"notification_send(user_id={user.pk}, title='from a command', body='bye')"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "manage.py", "shell", "-c", code, cwd=ROOT, env=env
    )
    assert await asyncio.wait_for(process.wait(), 60) == 0
    message = await asyncio.wait_for(layer.receive(channel), 10)
    assert (message["seq"], message["event"], message["data"]["title"]) == (
        1,
        "notification",
        "from a command",
    )
    await layer.group_discard(f"user.{user.pk}", channel)
