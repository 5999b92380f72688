"""The batched reads a stream makes at accept and at each heartbeat."""

from django.db import transaction

from realtime.publish import publish
from realtime.schemas import NOTIFICATION, notification_data
from realtime.selectors import event_last_seqs, stream_starts
from tests.factories import UserFactory


def _notify(user, count: int) -> None:
    with transaction.atomic():
        for n in range(count):
            publish(user_id=user.pk, event=NOTIFICATION, data=notification_data(title=str(n), body=""))


def test_stream_starts_answers_each_user_in_the_order_asked(user, other_user):
    _notify(user, 2)
    inactive = UserFactory(is_active=False)
    _notify(inactive, 1)
    unknown = inactive.pk + 1000
    assert stream_starts([user.pk, other_user.pk, inactive.pk, unknown, user.pk]) == [2, 0, None, None, 2]


def test_stream_starts_is_one_statement_for_any_number_of_users(db, django_assert_num_queries):
    users = UserFactory.create_batch(25)
    with django_assert_num_queries(1):
        assert stream_starts([u.pk for u in users]) == [0] * 25


def test_event_last_seqs_answers_each_user_in_the_order_asked(user, other_user, django_assert_num_queries):
    _notify(other_user, 3)
    with django_assert_num_queries(1):
        assert event_last_seqs([user.pk, other_user.pk, other_user.pk + 1000, other_user.pk]) == [0, 3, 0, 3]
