"""Models of the accounts app.

`NotificationPreference`: which channels a user wants notifications on. A
user without a row has every channel on (the defaults below); the row is
created the first time they save their settings.
"""

from django.conf import settings
from django.db import models


class NotificationPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_preference",
    )
    # In-app toasts for settlements, refusals, failures and matured plans.
    in_app = models.BooleanField(default=True)
    # The browser's Notification API when the tab is hidden (the browser's
    # own permission is asked separately).
    browser = models.BooleanField(default=True)
    email_settlement = models.BooleanField(default=True)
    email_maturity = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"notification preferences of {self.user_id}"
