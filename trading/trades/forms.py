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
from django.http import QueryDict
from django.utils import timezone

from core.forms import PlainIntegerField, StrictFormMixin
from market.calendars import market_is_open
from market.models import Instrument
from market.selectors.instruments import market_closed_label
from trading.trades.models import TradeSide
from wallets.errors import InvalidAmount
from wallets.money import parse_amount

# "1,000", "12,345,678.50": commas only between groups of three digits.
_GROUPED = re.compile(r"\A[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?\Z")
_NUMBER = re.compile(r"\A[0-9]+(?:\.[0-9]+)?\Z")
# The form tokens the page makes are 32 hex digits; any 1 to 64 ASCII
# letters and digits are read (as `form:<token>`, a valid idempotency key).
FORM_TOKEN_MAX_LENGTH = 64
_FORM_TOKEN = re.compile(rf"[0-9A-Za-z]{{1,{FORM_TOKEN_MAX_LENGTH}}}")
MAX_DURATION_MINUTES = int(settings.TRADE_MAX_DURATION.total_seconds()) // 60

# What the page says when the token cannot place the trade (`token_renew`).
FORM_UNREADABLE_MESSAGE = (
    "This form was incomplete or out of date. Check the values and submit again to place the trade."
)
FORM_USED_MESSAGE = (
    "This form was already used for another trade. Check the values and submit again to place a new one."
)

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
    duration = PlainIntegerField(
        label="Duration (minutes)",
        min_value=1,
        # A bound before the instrument is known, so no timedelta overflows.
        max_value=MAX_DURATION_MINUTES,
        initial=24 * 60,
        help_text="1 minute to the instrument's maximum.",
        error_messages={
            "invalid": "Enter the duration as a whole number of minutes using the digits 0 to 9, e.g. 15.",
            "min_value": f"The duration must be between 1 and {MAX_DURATION_MINUTES:,} minutes.",
            "max_value": f"The duration must be between 1 and {MAX_DURATION_MINUTES:,} minutes.",
        },
    )
    take_profit = forms.CharField(max_length=32, required=False)
    take_profit_unit = forms.ChoiceField(choices=LEVEL_UNITS, initial="price", required=False)
    stop_loss = forms.CharField(max_length=32, required=False)
    stop_loss_unit = forms.ChoiceField(choices=LEVEL_UNITS, initial="price", required=False)
    # One token per rendered form: submitting it twice gives one trade.
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=FORM_TOKEN_MAX_LENGTH)

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
        self.instruments = {inst.symbol: inst for inst in instruments}
        if not self.is_bound:
            self.initial["form_token"] = form_token_new()
            self.initial["instrument"] = first_open or ""

    def token_renew(self, message: str) -> None:
        """Re-render with a fresh token and `message` as the token's error
        (shown above the form, the token being hidden): the
        token sent was missing, unreadable, or used for another trade, so
        the next submit of these values places a new trade."""
        data = self.data.copy() if isinstance(self.data, QueryDict) else dict(self.data)
        data["form_token"] = form_token_new()
        self.data = data
        # The hidden field's error is the sentence (not "This field is
        # required."); the page shows it above the form.
        self.errors.pop("form_token", None)
        self.add_error("form_token", message)

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
        token = str(self.cleaned_data["form_token"])
        if _FORM_TOKEN.fullmatch(token) is None:
            raise forms.ValidationError(FORM_UNREADABLE_MESSAGE, code="invalid")
        return token


def form_token_new() -> str:
    return uuid.uuid4().hex


def duration_refusal(instrument: Instrument, *, low_seconds: int, high_seconds: int) -> str:
    """The instrument's duration range in the form's unit (whole minutes in it)."""
    low, high = -(-low_seconds // 60), high_seconds // 60
    return f"The duration must be between {low:,} and {high:,} minutes for {instrument}."
