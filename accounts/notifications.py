"""Notification preferences and the email channel.

Writers of settlement and maturity (trading services) call `notify_email`
inside their transaction; the mail is sent only after that transaction
commits (a rolled-back settlement sends nothing), only if the user left that
email kind on and has an address. A mail server fault is logged and never
undoes or fails the settlement: the money and the event are already
committed, and the in-app event is the record the user always gets.

In-app and browser channels are applied by the browser (the base template
renders the preference into the page); this module only stores them.
"""

import logging
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction

from accounts.models import NotificationPreference

logger = logging.getLogger(__name__)


class EmailKind(StrEnum):
    SETTLEMENT = "settlement"
    MATURITY = "maturity"


_KIND_FIELD = {EmailKind.SETTLEMENT: "email_settlement", EmailKind.MATURITY: "email_maturity"}


def notification_preference_get(*, user_id: int) -> NotificationPreference:
    """The user's preferences; an unsaved all-on row when they never chose."""
    preference = NotificationPreference.objects.filter(user_id=user_id).first()
    return preference or NotificationPreference(user_id=user_id)


def notification_preference_update(
    *, user_id: int, in_app: bool, browser: bool, email_settlement: bool, email_maturity: bool
) -> NotificationPreference:
    with transaction.atomic():
        preference, _ = NotificationPreference.objects.update_or_create(
            user_id=user_id,
            defaults={
                "in_app": in_app,
                "browser": browser,
                "email_settlement": email_settlement,
                "email_maturity": email_maturity,
            },
        )
    return preference


def _send(*, to: str, subject: str, body: str, user_id: int, kind: EmailKind) -> None:
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
    except Exception:  # any backend fault: logged, never raised into the caller
        logger.exception("notification email %s to user %s failed", kind, user_id)


def notify_email(*, user_id: int, kind: EmailKind | str, subject: str, body: str) -> bool:
    """Email the user after the current transaction commits, if they want it.

    Returns whether a mail was scheduled. Safe to call outside a transaction
    (the mail then goes at once)."""
    kind = EmailKind(kind)
    preference = notification_preference_get(user_id=user_id)
    if not getattr(preference, _KIND_FIELD[kind]):
        return False
    address = get_user_model().objects.filter(pk=user_id).values_list("email", flat=True).first()
    if not address:
        return False
    transaction.on_commit(
        lambda: _send(to=address, subject=subject, body=body, user_id=user_id, kind=kind), robust=True
    )
    return True
