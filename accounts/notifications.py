"""Notification preferences and the email channel.

Writers of settlement and maturity (trading services) call `notify_emails`
inside their transaction; the mail is sent only after that transaction
commits (a rolled-back settlement sends nothing), only if the user left that
email kind on and has an address. A mail server fault is logged and never
undoes or fails the settlement: the money and the event are already
committed, and the in-app event is the record the user always gets.

In-app and browser channels are applied by the browser (the base template
renders the preference into the page); this module only stores them.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction

from accounts.models import NotificationPreference

logger = logging.getLogger(__name__)

T = TypeVar("T")


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


@dataclass(frozen=True, slots=True)
class Mail:
    user_id: int
    subject: str
    body: str


def _send(*, mails: list[tuple[str, Mail]], kind: EmailKind) -> None:
    """One connection for the lot; each mail's fault is logged on its own."""
    try:
        connection = get_connection(fail_silently=False)
        connection.open()
    except Exception:  # any backend fault: logged, never raised into the caller
        logger.exception("notification email %s: no mail connection", kind)
        return
    try:
        for address, mail in mails:
            message = EmailMessage(
                mail.subject, mail.body, settings.DEFAULT_FROM_EMAIL, [address], connection=connection
            )
            try:
                message.send()
            except Exception:
                logger.exception("notification email %s to user %s failed", kind, mail.user_id)
    finally:
        connection.close()


def notify_emails(*, kind: EmailKind | str, mails: Sequence[Mail]) -> int:
    """Email each user after the current transaction commits, if they want
    that kind of mail and have an address. Two queries however many mails
    (settlement runs in batches). Returns how many were scheduled. Safe to
    call outside a transaction (the mails then go at once)."""
    return notify_emails_built(kind=kind, items=mails, user_id=_mail_user, build=_same_mail)


def notify_emails_built(
    *, kind: EmailKind | str, items: Sequence[T], user_id: Callable[[T], int], build: Callable[[T], Mail]
) -> int:
    """`notify_emails` for mails not built yet: `build(item)` runs only for
    the items whose user (`user_id(item)`) will be mailed, so a settlement
    batch of users who never get mail builds none (building a settlement mail
    cost more than the batch's trade UPDATE)."""
    kind = EmailKind(kind)
    user_ids = {user_id(item) for item in items}
    if not user_ids:
        return 0
    declined = set(
        NotificationPreference.objects.filter(user_id__in=user_ids, **{_KIND_FIELD[kind]: False}).values_list(
            "user_id", flat=True
        )
    )
    wanted_ids = user_ids - declined
    if not wanted_ids:
        return 0
    addresses = dict(
        get_user_model().objects.filter(pk__in=wanted_ids).exclude(email="").values_list("pk", "email")
    )
    wanted = [(addresses[uid], build(item)) for item in items if (uid := user_id(item)) in addresses]
    if wanted:
        transaction.on_commit(lambda: _send(mails=wanted, kind=kind), robust=True)
    return len(wanted)


def _mail_user(mail: Mail) -> int:
    return mail.user_id


def _same_mail(mail: Mail) -> Mail:
    return mail


def notify_email(*, user_id: int, kind: EmailKind | str, subject: str, body: str) -> bool:
    """One mail: `notify_emails` for a single user."""
    return notify_emails(kind=kind, mails=[Mail(user_id=user_id, subject=subject, body=body)]) == 1
