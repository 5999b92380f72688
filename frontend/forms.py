"""Forms of the frontend pages."""

from django import forms


class NotificationSettingsForm(forms.Form):
    in_app = forms.BooleanField(required=False, label="In-app messages (toasts)")
    browser = forms.BooleanField(
        required=False, label="Browser notifications when this tab is in the background"
    )
    email_settlement = forms.BooleanField(required=False, label="Email when a trade settles")
    email_maturity = forms.BooleanField(required=False, label="Email when a plan matures")
