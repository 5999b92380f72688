"""Celery tasks of the realtime app (thin: ids in, one service call)."""

from celery import shared_task

from realtime import services


@shared_task(name="realtime.tasks.notify_user", acks_late=True)
def notify_user(user_id: int, title: str, body: str, level: str = "info") -> int:
    """Send a `notification` event to a user; returns its seq."""
    return services.notification_send(user_id=user_id, title=title, body=body, level=level).seq
