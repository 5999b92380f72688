"""Forms of the frontend pages."""

from django import forms


class NotificationSettingsForm(forms.Form):
    in_app = forms.BooleanField(required=False, label="In-app messages (toasts)")
    browser = forms.BooleanField(
        required=False, label="Browser notifications when this tab is in the background"
    )
    email_settlement = forms.BooleanField(required=False, label="Email when a trade settles")
    email_maturity = forms.BooleanField(required=False, label="Email when a plan matures")


# Web Push per kind (push.models.PushPreference), beside the e-mail switches.
PUSH_FIELDS = ("push_trade_settled", "push_trade_failed", "push_plan_matured", "push_withdrawal_decided")


class NotificationSettingsWithPushForm(NotificationSettingsForm):
    push_trade_settled = forms.BooleanField(required=False, label="Push when a trade settles")
    push_trade_failed = forms.BooleanField(required=False, label="Push when a trade fails or is refused")
    push_plan_matured = forms.BooleanField(required=False, label="Push when a plan matures")
    push_withdrawal_decided = forms.BooleanField(required=False, label="Push when a withdrawal is decided")
