"""Template tags of the base template, so that every page extending it
(the trading app's pages too) gets the realtime client's starting point
without its view having to provide it."""

from django import template
from django.http import HttpRequest

from accounts.models import NotificationPreference
from accounts.notifications import notification_preference_get
from frontend import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def event_last_seq(context: template.Context) -> str:
    """The user's last event seq at render time ("" when logged out): the
    realtime client resumes from it on its first connection, so nothing
    published between this render and the socket opening is missed."""
    request: HttpRequest | None = context.get("request")
    if request is None or not request.user.is_authenticated:
        return ""
    return str(selectors.event_last_seq(user_id=request.user.pk))


@register.simple_tag(takes_context=True)
def notification_prefs(context: template.Context) -> NotificationPreference | None:
    """The user's notification channels, for the page's toasts and browser
    notifications (rendered as data attributes of <body>)."""
    request: HttpRequest | None = context.get("request")
    if request is None or not request.user.is_authenticated:
        return None
    return notification_preference_get(user_id=request.user.pk)
