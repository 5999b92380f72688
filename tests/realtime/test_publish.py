import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from realtime.errors import EventInvalid, PublishOutsideTransaction
from realtime.models import Event, EventCounter
from realtime.publish import Publication, publish, publish_many
from realtime.schemas import notification_data


def _note(n: int) -> dict:
    return notification_data(title=f"n{n}", body="b")


def test_seq_is_gapless_per_user(user, other_user):
    with transaction.atomic():
        a1 = publish(user_id=user.id, event="notification", data=_note(1))
        b1 = publish(user_id=other_user.id, event="notification", data=_note(1))
        a2 = publish(user_id=user.id, event="notification", data=_note(2))
    assert (a1.seq, a2.seq, b1.seq) == (1, 2, 1)
    assert EventCounter.objects.get(user=user).last_seq == 2


def test_rolled_back_publish_stores_nothing_and_frees_the_seq(user):
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(user_id=user.id, event="notification", data=_note(1))
        raise RuntimeError("service failed after publishing")
    assert not Event.objects.filter(user=user).exists()
    with transaction.atomic():
        again = publish(user_id=user.id, event="notification", data=_note(2))
    assert again.seq == 1


def test_publish_outside_a_transaction_is_refused(user):
    # pytest-django wraps the test in a transaction; leave it to test the guard.
    from django.db import connection

    in_block = connection.in_atomic_block
    connection.in_atomic_block = False
    try:
        with pytest.raises(PublishOutsideTransaction):
            publish(user_id=user.id, event="notification", data=_note(1))
    finally:
        connection.in_atomic_block = in_block
    assert not Event.objects.exists()


def test_invalid_data_is_refused_before_anything_is_written(user):
    with pytest.raises(EventInvalid), transaction.atomic():
        publish(user_id=user.id, event="notification", data={"title": "x"})
    with pytest.raises(EventInvalid), transaction.atomic():
        publish(user_id=user.id, event="trade.unknown", data={})
    assert not Event.objects.exists()
    assert not EventCounter.objects.exists()


async def _listen(group: str):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return layer, channel


@pytest.mark.django_db(transaction=True)
async def test_events_are_sent_after_commit_in_order_and_not_on_rollback(user):
    layer, channel = await _listen(f"user.{user.id}")

    def work():
        with pytest.raises(RuntimeError), transaction.atomic():
            publish(user_id=user.id, event="notification", data=_note(0))
            raise RuntimeError("rollback")
        with transaction.atomic():
            for n in range(1, 6):
                publish(user_id=user.id, event="notification", data=_note(n))

    await database_sync_to_async(work)()
    received = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(5)]
    assert [m["seq"] for m in received] == [1, 2, 3, 4, 5]
    assert [m["data"]["title"] for m in received] == ["n1", "n2", "n3", "n4", "n5"]
    assert all(m["type"] == "event.message" and m["event"] == "notification" for m in received)
    # Nothing else (the rolled-back event) is on the channel.
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.5)
    await layer.group_discard(f"user.{user.id}", channel)


def test_publish_many_numbers_each_users_events_after_their_last_in_input_order(user, other_user):
    with transaction.atomic():
        publish(user_id=user.id, event="notification", data=_note(0))
    with transaction.atomic():
        events = publish_many(
            [
                Publication(user.id, "notification", _note(1)),
                Publication(other_user.id, "notification", _note(1)),
                Publication(user.id, "notification", _note(2)),
                Publication(user.id, "notification", _note(3)),
            ]
        )
        after = publish(user_id=other_user.id, event="notification", data=_note(2))
    assert [(e.user_id, e.seq, e.data["title"]) for e in events] == [
        (user.id, 2, "n1"),
        (other_user.id, 1, "n1"),
        (user.id, 3, "n2"),
        (user.id, 4, "n3"),
    ]
    assert after.seq == 2
    stored = list(Event.objects.order_by("user_id", "seq").values_list("user_id", "seq", "data__title", "id"))
    assert [row[:3] for row in stored] == [
        (user.id, 1, "n0"),
        (user.id, 2, "n1"),
        (user.id, 3, "n2"),
        (user.id, 4, "n3"),
        (other_user.id, 1, "n1"),
        (other_user.id, 2, "n2"),
    ]
    # Each returned event is the stored row of that user and seq.
    ids = {(row[0], row[1]): row[3] for row in stored}
    assert [e.id for e in events] == [ids[(e.user_id, e.seq)] for e in events]
    assert EventCounter.objects.get(user=user).last_seq == 4


def test_publish_many_validates_everything_before_writing(user):
    with pytest.raises(EventInvalid), transaction.atomic():
        publish_many(
            [
                Publication(user.id, "notification", _note(1)),
                Publication(user.id, "notification", {"title": "no body"}),
            ]
        )
    assert not Event.objects.exists()
    assert not EventCounter.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_publish_many_sends_after_commit_in_order_and_not_on_rollback(user, other_user):
    layer, channel = await _listen(f"user.{user.id}")

    def work():
        with pytest.raises(RuntimeError), transaction.atomic():
            publish_many([Publication(user.id, "notification", _note(0))])
            raise RuntimeError("rollback")
        with transaction.atomic():
            publish_many(
                [
                    Publication(uid, "notification", _note(n))
                    for n in range(1, 4)
                    for uid in (user.id, other_user.id)
                ]
            )

    await database_sync_to_async(work)()
    received = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(3)]
    assert [(m["seq"], m["data"]["title"]) for m in received] == [(1, "n1"), (2, "n2"), (3, "n3")]
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.5)
    await layer.group_discard(f"user.{user.id}", channel)


def test_publish_many_stores_any_text_exactly(user):
    """The batch's data travels as one JSON text: quotes, backslashes,
    placeholders and non-ASCII come back as they went."""
    texts = ['say "hi"', "back\\slash", "it's", "%s %(x)s {}", "naïve ✓ ١٢", "line\nbreak\ttab", ""]
    with transaction.atomic():
        events = publish_many(
            [Publication(user.id, "notification", notification_data(title=t, body=t)) for t in texts]
        )
    stored = dict(Event.objects.filter(user=user).values_list("seq", "data"))
    assert [stored[e.seq]["title"] for e in events] == texts
    assert [stored[e.seq]["body"] for e in events] == texts
    assert [e.data for e in events] == [stored[e.seq] for e in events]


def test_the_field_order_publish_many_builds_events_with_is_the_models():
    from realtime.publish import _EVENT_FIELDS

    assert _EVENT_FIELDS == tuple(f.attname for f in Event._meta.concrete_fields)


def test_a_prepared_batch_is_checked_before_and_published_like_the_publications(user):
    from realtime.publish import publish_many_prepare

    with pytest.raises(EventInvalid):
        publish_many_prepare([Publication(user.id, "notification", {"title": "no body"})])
    prepared = publish_many_prepare([Publication(user.id, "notification", _note(n)) for n in (1, 2)])
    assert not Event.objects.exists()  # preparing writes nothing
    with transaction.atomic():
        events = publish_many(prepared)
    assert [(e.seq, e.data["title"]) for e in events] == [(1, "n1"), (2, "n2")]
    assert list(Event.objects.order_by("seq").values_list("data__title", flat=True)) == ["n1", "n2"]
