"""The HTML trade form. Money goes through `wallets.money.parse_amount`, the
one validator; the rest is checked by `trade_request`, whose errors name
the form field they belong to."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings

from core.forms import StrictFormMixin
from market.models import Instrument
from trading.trades.models import TradeSide
from wallets.errors import InvalidAmount
from wallets.money import parse_amount


class TradeForm(StrictFormMixin, forms.Form):
    instrument: forms.ChoiceField = forms.ChoiceField(choices=())
    side = forms.ChoiceField(choices=TradeSide.choices)
    stake = forms.CharField(max_length=32, help_text="USD, e.g. 100.00")
    duration = forms.IntegerField(
        label="Duration (minutes)",
        min_value=1,
        # A bound before the instrument is known, so no timedelta overflows.
        max_value=int(settings.TRADE_MAX_DURATION.total_seconds()) // 60,
        initial=24 * 60,
        help_text="1 minute to the instrument's maximum.",
    )
    take_profit = forms.CharField(max_length=32, required=False)
    stop_loss = forms.CharField(max_length=32, required=False)
    # One token per rendered form: submitting it twice gives one trade.
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        symbols = Instrument.objects.filter(active=True).order_by("symbol").values_list("symbol", "name")
        field = self.fields["instrument"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s, f"{s} · {n}") for s, n in symbols]
        if not self.is_bound:
            self.initial["form_token"] = uuid.uuid4().hex

    def clean_stake(self) -> Decimal:
        try:
            return parse_amount(self.cleaned_data["stake"], field="stake", currency="USD")
        except InvalidAmount as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc

    def clean_form_token(self) -> str:
        token = self.cleaned_data["form_token"]
        if not token.isalnum():
            raise forms.ValidationError("Reload the form and submit again.")
        return str(token)
