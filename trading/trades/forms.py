"""The HTML trade form (the order ticket). Money goes through
`wallets.money.parse_amount`, the one validator; the rest is checked by
`trade_request`, whose errors name the form field they belong to.

A person types amounts the way they read them, "1,000.50": the form takes
comma grouping and removes it before the strict validators see the number
(`ungroup`). Only here: the API stays a strict JSON decimal, where a comma
is a 400. Take-profit and stop-loss are a price, or a percentage of the
current price that the view turns into a price (`trade_level_from_percent`).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from core.forms import StrictFormMixin
from market.calendars import market_is_open
from market.models import Instrument
from market.selectors.instruments import market_closed_label
from trading.trades.models import TradeSide
from wallets.errors import InvalidAmount
from wallets.money import parse_amount

# "1,000", "12,345,678.50": commas only between groups of three digits.
_GROUPED = re.compile(r"\A[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?\Z")
_NUMBER = re.compile(r"\A[0-9]+(?:\.[0-9]+)?\Z")

LEVEL_UNITS = [("price", "Price"), ("percent", "% from the price")]
# Stake and duration presets of the ticket (buttons that fill the field).
STAKE_PRESETS = ("10", "50", "100", "500", "1,000")
DURATION_PRESETS = ((5, "5 min"), (15, "15 min"), (60, "1 h"), (240, "4 h"), (1440, "1 day"))


def ungroup(text: str, *, what: str) -> str:
    """`text` without its comma grouping ("1,000.50" → "1000.50"); a comma
    anywhere else is refused in words a trader understands."""
    text = text.strip()
    if "," in text:
        if _GROUPED.match(text) is None:
            raise forms.ValidationError(
                f"Write the {what} with commas only between groups of three digits, e.g. 1,000.50.",
                code="grouping",
            )
        text = text.replace(",", "")
    if text and _NUMBER.match(text) is None:
        # Before the strict validator's own wording, which speaks to programs.
        raise forms.ValidationError(f"Enter the {what} as a number, e.g. 1,000.50.", code="invalid")
    return text


def _open_now(instrument: Instrument, at: datetime) -> bool:
    try:
        return market_is_open(instrument, at)
    except Exception:  # outside the calendar's range: not open
        return False


class TradeForm(StrictFormMixin, forms.Form):
    instrument: forms.ChoiceField = forms.ChoiceField(choices=())
    side = forms.ChoiceField(choices=TradeSide.choices, widget=forms.RadioSelect, initial=TradeSide.BUY)
    stake = forms.CharField(max_length=32, help_text="USD, e.g. 1,000.50")
    duration = forms.IntegerField(
        label="Duration (minutes)",
        min_value=1,
        # A bound before the instrument is known, so no timedelta overflows.
        max_value=int(settings.TRADE_MAX_DURATION.total_seconds()) // 60,
        initial=24 * 60,
        help_text="1 minute to the instrument's maximum.",
    )
    take_profit = forms.CharField(max_length=32, required=False)
    take_profit_unit = forms.ChoiceField(choices=LEVEL_UNITS, initial="price", required=False)
    stop_loss = forms.CharField(max_length=32, required=False)
    stop_loss_unit = forms.ChoiceField(choices=LEVEL_UNITS, initial="price", required=False)
    # One token per rendered form: submitting it twice gives one trade.
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        at = now or timezone.now()
        instruments = list(Instrument.objects.filter(active=True).order_by("symbol"))
        field = self.fields["instrument"]
        assert isinstance(field, forms.ChoiceField)
        choices: list[tuple[str, str]] = []
        self.closed: dict[str, str] = {}
        for inst in instruments:
            label = f"{inst.symbol} · {inst.name}"
            closed = market_closed_label(instrument=inst, at=at)
            if closed:
                self.closed[inst.symbol] = closed
                label = f"{label} — {closed}"
            choices.append((inst.symbol, label))
        # A closed market is never preselected (its trade would be rejected
        # when it opens): the first open one is, else none.
        first_open = next((inst.symbol for inst in instruments if _open_now(inst, at)), None)
        self.all_closed = bool(instruments) and first_open is None
        blank = "Markets are closed: choose an instrument" if self.all_closed else "Choose an instrument"
        field.choices = [("", blank), *choices]
        if not self.is_bound:
            self.initial["form_token"] = uuid.uuid4().hex
            self.initial["instrument"] = first_open or ""

    @property
    def level_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """(level, its unit) pairs, as the ticket lays them out."""
        return [(self[name], self[f"{name}_unit"]) for name in ("take_profit", "stop_loss")]

    def clean_stake(self) -> Decimal:
        text = ungroup(self.cleaned_data["stake"], what="stake")
        try:
            return parse_amount(text, field="stake", currency="USD")
        except InvalidAmount as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc

    def clean_take_profit(self) -> str:
        return ungroup(self.cleaned_data["take_profit"], what="take-profit")

    def clean_stop_loss(self) -> str:
        return ungroup(self.cleaned_data["stop_loss"], what="stop-loss")

    def clean_form_token(self) -> str:
        token = self.cleaned_data["form_token"]
        if not token.isalnum():
            raise forms.ValidationError("Reload the form and submit again.")
        return str(token)
