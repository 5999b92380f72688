"""Sign-up and login forms. Password rules are Django's validators
(`AUTH_PASSWORD_VALIDATORS`); the login form consults the brute-force limiter."""

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm, UsernameField

from accounts.services import (
    LoginThrottled,
    client_ip,
    login_failure_record,
    login_failures_clear,
    login_throttle_check,
)
from core.forms import StrictFormMixin


class SignupForm(StrictFormMixin, UserCreationForm):
    email = forms.EmailField(required=True, help_text="For account recovery; never shown to others.")

    class Meta:
        model = get_user_model()
        fields = ("username", "email")
        field_classes = {"username": UsernameField}


class ThrottledAuthenticationForm(StrictFormMixin, AuthenticationForm):
    """Django's login form with the failed-login limiter (accounts.services)."""

    throttled = False

    def clean(self) -> dict[str, Any]:
        username = str(self.data.get("username", ""))
        ip = client_ip(self.request)
        try:
            login_throttle_check(username=username, client_ip=ip)
        except LoginThrottled as exc:
            self.throttled = True
            raise forms.ValidationError(exc.message, code=exc.code) from exc
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            login_failure_record(username=username, client_ip=ip)
            raise
        login_failures_clear(username=username, client_ip=ip)
        return cleaned
