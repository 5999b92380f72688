import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction
from django.utils import timezone

from realtime import services
from realtime.models import Event, EventCounter
from realtime.publish import publish
from realtime.schemas import notification_data
from realtime.selectors import ResumeStatus, event_resume_check

ticket_redeem = async_to_sync(services.ticket_redeem)


def test_ticket_is_single_use(user):
    ticket = services.ticket_create(user_id=user.pk)
    assert ticket_redeem(ticket=ticket) == user.pk
    assert ticket_redeem(ticket=ticket) is None
    assert ticket_redeem(ticket="unknown") is None
    assert ticket_redeem(ticket="") is None
    assert ticket_redeem(ticket="x" * 129) is None


def test_racing_redeems_of_one_ticket_succeed_exactly_once(user):
    ticket = services.ticket_create(user_id=user.pk)
    results: list[int | None] = []
    barrier = threading.Barrier(8)

    def redeem():
        barrier.wait()
        results.append(ticket_redeem(ticket=ticket))

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=lambda r: r is None) == [user.pk] + [None] * 7


async def test_tickets_redeemed_together_share_one_round_trip_and_each_still_works_once(user, other_user):
    first = services.ticket_create(user_id=user.pk)
    second = services.ticket_create(user_id=other_user.pk)
    before = services._redeemer.round_trips
    results = await asyncio.gather(
        services.ticket_redeem(ticket=first),
        services.ticket_redeem(ticket=second),
        services.ticket_redeem(ticket=first),
        services.ticket_redeem(ticket="unknown"),
    )
    assert results == [user.pk, other_user.pk, None, None]
    assert services._redeemer.round_trips - before == 1


def test_ticket_key_holds_no_usable_ticket(user, redis_url):
    import redis

    ticket = services.ticket_create(user_id=user.pk)
    keys = [k.decode() for k in redis.Redis.from_url(redis_url).keys("*wsticket*")]
    assert len(keys) == 1
    assert ticket not in keys[0]


def test_event_prune_deletes_only_old_events_and_keeps_numbering(user, other_user):
    with transaction.atomic():
        for n in range(3):
            publish(user_id=user.pk, event="notification", data=notification_data(title=str(n), body=""))
        publish(user_id=other_user.pk, event="notification", data=notification_data(title="o", body=""))
    Event.objects.filter(user=user, seq__lte=2).update(created_at=timezone.now() - timedelta(days=8))
    assert services.event_prune(older_than=timezone.now() - timedelta(days=7)) == 2
    assert list(Event.objects.filter(user=user).values_list("seq", flat=True)) == [3]
    assert Event.objects.filter(user=other_user).count() == 1
    assert EventCounter.objects.get(user=user).last_seq == 3
    assert event_resume_check(user_id=user.pk, since=1).status is ResumeStatus.PRUNED
    assert event_resume_check(user_id=user.pk, since=2).status is ResumeStatus.OK
    assert event_resume_check(user_id=user.pk, since=3).status is ResumeStatus.OK
    assert event_resume_check(user_id=user.pk, since=4).status is ResumeStatus.AHEAD
    with transaction.atomic():
        nxt = publish(user_id=user.pk, event="notification", data=notification_data(title="n", body=""))
    assert nxt.seq == 4


def test_event_prune_with_nothing_old_deletes_nothing(user):
    assert services.event_prune(older_than=datetime(2000, 1, 1, tzinfo=UTC)) == 0


def test_notification_send_publishes_one_event(user):
    event = services.notification_send(user_id=user.pk, title="Hi", body="there", level="warning")
    assert (event.seq, event.event, event.data) == (
        1,
        "notification",
        {"title": "Hi", "body": "there", "level": "warning"},
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishers_for_one_user_get_gapless_seqs(user):
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def writer(k: int):
        from django.db import connection

        try:
            barrier.wait()
            for n in range(25):
                with transaction.atomic():
                    publish(
                        user_id=user.pk,
                        event="notification",
                        data=notification_data(title=f"{k}.{n}", body=""),
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert list(Event.objects.filter(user=user).order_by("seq").values_list("seq", flat=True)) == list(
        range(1, 101)
    )
