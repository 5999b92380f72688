"""Models of the push app.

`PushSubscription`: one browser's (or installed app's) Web Push subscription,
as `PushManager.subscribe()` gave it: the push service's endpoint URL and the
two keys the message is encrypted to (RFC 8291). The endpoint is unique: it
names one browser profile, so saving it again is the same subscription (if
another user logs in on that browser, it becomes theirs).

`PushPreference`: which kinds of event a user wants pushed. A user without a
row has every kind on (the field defaults), like the e-mail switches: nothing
is pushed anyway until they subscribe a device.
"""

from django.conf import settings
from django.db import models

ENDPOINT_MAX_LENGTH = 1024


class PushSubscription(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=ENDPOINT_MAX_LENGTH, unique=True)
    # base64url without padding, as the browser's PushSubscription.toJSON() gives them.
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=50)
    user_agent = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"push subscription #{self.pk} of user {self.user_id}"


class PushPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="push_preference"
    )
    trade_settled = models.BooleanField(default=True)
    trade_failed = models.BooleanField(default=True)  # failed or refused
    plan_matured = models.BooleanField(default=True)
    withdrawal_decided = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"push preferences of {self.user_id}"
