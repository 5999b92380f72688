"""Notification preferences and the email channel (accounts.notifications)."""

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction

from accounts.models import NotificationPreference
from accounts.notifications import (
    EmailKind,
    notification_preference_get,
    notification_preference_update,
    notify_email,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_defaults_are_all_on_without_a_row(user):
    preference = notification_preference_get(user_id=user.pk)
    assert preference._state.adding is True
    channels = (preference.in_app, preference.browser, preference.email_settlement, preference.email_maturity)
    assert channels == (True, True, True, True)
    assert NotificationPreference.objects.count() == 0


def test_update_creates_then_changes_the_one_row(user):
    notification_preference_update(
        user_id=user.pk, in_app=False, browser=True, email_settlement=False, email_maturity=True
    )
    notification_preference_update(
        user_id=user.pk, in_app=True, browser=False, email_settlement=False, email_maturity=True
    )
    rows = list(NotificationPreference.objects.values_list("in_app", "browser", "email_settlement"))
    assert rows == [(True, False, False)]


def test_email_is_sent_only_after_the_transaction_commits(user):
    with transaction.atomic():
        scheduled = notify_email(
            user_id=user.pk, kind=EmailKind.SETTLEMENT, subject="Trade settled", body="P&L +1.00 USD"
        )
        assert scheduled is True
        assert mail.outbox == []
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert mail.outbox[0].subject == "Trade settled"
    assert mail.outbox[0].body == "P&L +1.00 USD"


def test_rolled_back_transaction_sends_nothing(user):
    with pytest.raises(RuntimeError), transaction.atomic():
        notify_email(user_id=user.pk, kind="maturity", subject="Plan matured", body="x")
        raise RuntimeError("settlement failed")
    assert mail.outbox == []


def test_each_email_kind_respects_its_own_switch(user):
    notification_preference_update(
        user_id=user.pk, in_app=True, browser=True, email_settlement=False, email_maturity=True
    )
    assert notify_email(user_id=user.pk, kind=EmailKind.SETTLEMENT, subject="s", body="b") is False
    assert notify_email(user_id=user.pk, kind=EmailKind.MATURITY, subject="m", body="b") is True
    assert [m.subject for m in mail.outbox] == ["m"]


def test_user_without_address_gets_no_mail(user):
    user.email = ""
    user.save()
    assert notify_email(user_id=user.pk, kind=EmailKind.SETTLEMENT, subject="s", body="b") is False
    assert mail.outbox == []


def test_mail_backend_fault_is_logged_not_raised(user, settings, caplog):
    settings.EMAIL_BACKEND = "tests.accounts.test_notifications.BrokenBackend"
    with transaction.atomic():
        notify_email(user_id=user.pk, kind=EmailKind.SETTLEMENT, subject="s", body="b")
    assert "notification email settlement to user" in caplog.text
    assert mail.outbox == []


def test_unknown_kind_is_refused(user):
    with pytest.raises(ValueError):
        notify_email(user_id=user.pk, kind="weekly", subject="s", body="b")


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp down")
