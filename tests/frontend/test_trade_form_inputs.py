"""The HTML trade form against a hostile or clumsy user (issue 11): integers
in plain ASCII digits on every page form, the duration refused in the
field's unit (minutes), and a used or broken form token that comes back
fresh with a sentence instead of leaving the user stuck. Each refusal is
beside its field (or above the form, for the hidden token) and writes no
trade."""

import importlib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django import forms
from django.test import Client

from core.forms import PlainIntegerField, StrictFormMixin
from tests.factories import PASSWORD
from tests.trading.trades_support import fund, make_instrument
from trading.trades.forms import FORM_UNREADABLE_MESSAGE, FORM_USED_MESSAGE
from trading.trades.models import Trade

D = Decimal
pytestmark = pytest.mark.django_db

DURATION_INVALID = "Enter the duration as a whole number of minutes using the digits 0 to 9, e.g. 15."
_TOKEN = re.compile(r'name="form_token" value="([^"]*)"')


@pytest.fixture
def btc():
    # The seeded instrument (get-or-create): 7 days at most, always open.
    inst = make_instrument("BTC-USD")
    assert inst.max_trade_duration == timedelta(days=7)
    return inst


@pytest.fixture
def browser(user):
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    fund(user, "5000.00")
    return client


def page_token(html: str) -> str:
    found = _TOKEN.findall(html)
    assert len(found) == 1, found
    return found[0]


def alert(message: str) -> str:
    """The message as the page shows a hidden token's error: above the form."""
    return f'<div class="form-error" role="alert" data-testid="form-errors"><p>{message}</p>'


def new_token(client) -> str:
    page = client.get("/trade/new/")
    assert page.status_code == 200
    return page_token(page.content.decode())


def submit(client, token, **over):
    data = {
        "instrument": "BTC-USD",
        "side": "buy",
        "stake": "100.00",
        "duration": "60",
        "take_profit": "",
        "stop_loss": "",
        "form_token": token,
        **over,
    }
    return client.post("/trade/new/", {k: v for k, v in data.items() if v is not None})


# --- M4: integers are plain ASCII digits -------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "١٠٠",  # Arabic-Indic: int() reads 100
        "۱۰۰",  # Extended Arabic-Indic
        "१००",  # Devanagari
        "１００",  # full-width
        "𝟙𝟘",  # mathematical double-struck
        "1_000",
        "+10",
        "10.",
        "10.0",
        "1 0",
        "-10",
        "-0",
        "--10",
        "1e2",
        "0x10",
        "10\u00a0",  # a no-break space is not one the form forgives
        "\u200b10",
        "ten",
    ],
)
def test_a_duration_not_in_plain_digits_is_refused_beside_duration(browser, btc, typed):
    before = Trade.objects.count()
    response = submit(browser, new_token(browser), duration=typed)
    assert response.status_code == 400
    assert response.context["form"].errors == {"duration": [DURATION_INVALID]}
    assert DURATION_INVALID in response.content.decode()
    assert Trade.objects.count() == before


@pytest.mark.parametrize(("typed", "seconds"), [("15", 900), (" 15 ", 900), ("0015", 900), ("10080", 604800)])
def test_a_duration_in_plain_digits_places_the_trade(browser, btc, typed, seconds):
    response = submit(browser, new_token(browser), duration=typed)
    assert response.status_code == 302, response.context["form"].errors
    assert Trade.objects.get().duration == timedelta(seconds=seconds)


@pytest.mark.parametrize("typed", ["0", "527041", "9" * 40, "9" * 5000])
def test_a_duration_beyond_the_platform_range_is_in_minutes(browser, btc, typed):
    response = submit(browser, new_token(browser), duration=typed)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors == {"duration": ["The duration must be between 1 and 527,040 minutes."]} or (
        # Longer than Python reads as an int: not a number the form can use.
        len(typed) > 4000 and errors == {"duration": [DURATION_INVALID]}
    )
    assert Trade.objects.count() == 0


class _Counts(StrictFormMixin, forms.Form):
    """Any page form: an integer that may be negative, one that may not."""

    signed = forms.IntegerField(required=False)
    count = forms.IntegerField(required=False, min_value=0)


@pytest.mark.parametrize("typed", ["١", "１", "𝟙", "1_0", "+1", "1.", "1.0", "1 0", "--1", "- 1", "1-"])
@pytest.mark.parametrize("field", ["signed", "count"])
def test_every_page_form_integer_takes_plain_digits_only(field, typed):
    form = _Counts(data={field: typed})
    assert not form.is_valid()
    assert form.errors == {field: ["Enter a whole number using the digits 0 to 9, e.g. 15."]}


@pytest.mark.parametrize(
    ("field", "typed", "value"), [("signed", "-12", -12), ("signed", "12", 12), ("count", "0", 0)]
)
def test_a_plain_integer_is_read(field, typed, value):
    form = _Counts(data={field: typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data[field] == value


def test_a_minus_only_where_negatives_make_sense():
    form = _Counts(data={"count": "-1"})
    assert not form.is_valid()
    assert form.errors == {"count": ["Enter a whole number using the digits 0 to 9, e.g. 15."]}


FORM_MODULES = ["accounts.forms", "frontend.forms", "trading.trades.forms", "market.admin"]


def _project_forms() -> list[type[forms.BaseForm]]:
    for name in FORM_MODULES:
        importlib.import_module(name)
    found, todo = [], list(forms.BaseForm.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__ in FORM_MODULES:
            found.append(cls)
    return found


def test_every_integer_field_of_every_project_form_is_plain():
    """The category, not one field: a page form is strict (`StrictFormMixin`
    turns Django's `IntegerField` into `PlainIntegerField`), or declares
    plain integer fields, or has none."""
    checked = []
    for cls in _project_forms():
        for name, field in cls.base_fields.items():
            if isinstance(field, forms.IntegerField) and not isinstance(
                field, (forms.FloatField, forms.DecimalField)
            ):
                assert isinstance(field, PlainIntegerField) or issubclass(cls, StrictFormMixin), (cls, name)
                checked.append((cls.__name__, name))
            if isinstance(field, forms.TypedChoiceField):
                # Choices are compared as text before `coerce`: "１" is not "1".
                assert field.choices, (cls, name)
    assert ("TradeForm", "duration") in checked and ("InstrumentAdminForm", "fee_bps") in checked


# --- L5: the duration's refusal in the field's unit --------------------------


@pytest.mark.parametrize(
    ("maximum", "typed", "message"),
    [
        (timedelta(days=7), "10081", "The duration must be between 1 and 10,080 minutes for {}."),
        (timedelta(days=7), "527040", "The duration must be between 1 and 10,080 minutes for {}."),
        (timedelta(hours=1), "61", "The duration must be between 1 and 60 minutes for {}."),
        # Whole minutes within the maximum: 90 s allows 1 minute.
        (timedelta(seconds=90), "2", "The duration must be between 1 and 1 minutes for {}."),
    ],
)
def test_a_duration_beyond_the_instruments_maximum_is_said_in_minutes(browser, maximum, typed, message):
    inst = make_instrument("MIN-USD", max_trade_duration=maximum)
    response = submit(browser, new_token(browser), instrument=inst.symbol, duration=typed)
    assert response.status_code == 422
    expected = message.format(inst.symbol)
    assert response.context["form"].errors == {"duration": [expected]}
    html = response.content.decode()
    assert expected in html and "seconds" not in html
    assert Trade.objects.count() == 0


def test_btc_usd_duration_refusal_reads_in_minutes(browser, btc):
    response = submit(browser, new_token(browser), duration=str(10_081))
    assert response.status_code == 422
    assert response.context["form"].errors == {
        "duration": ["The duration must be between 1 and 10,080 minutes for BTC-USD."]
    }
    assert Trade.objects.count() == 0


# --- M5: a used or broken form token -----------------------------------------


def test_a_used_token_with_other_values_comes_back_fresh_and_then_places_one_trade(browser, btc):
    token = new_token(browser)
    assert submit(browser, token).status_code == 302
    assert Trade.objects.count() == 1

    # Back, change the stake, submit again.
    response = submit(browser, token, stake="250.00")
    assert 400 <= response.status_code < 500
    form = response.context["form"]
    assert form.errors["form_token"] == [FORM_USED_MESSAGE]
    assert list(form.errors) == ["form_token"]
    html = response.content.decode()
    assert alert(FORM_USED_MESSAGE) in html and "Idempotency" not in html
    fresh = page_token(html)
    assert fresh != token and re.fullmatch(r"[0-9a-f]{32}", fresh)
    assert 'name="stake" value="250.00"' in html  # the user's values are kept
    assert Trade.objects.count() == 1

    # Submitting again (the fresh token) places exactly one new trade.
    placed = submit(browser, fresh, stake="250.00")
    assert placed.status_code == 302
    assert Trade.objects.count() == 2
    assert Trade.objects.order_by("-pk").first().stake == D("250.00")
    # ...and a double click of that submit is still one trade.
    assert submit(browser, fresh, stake="250.00").status_code == 302
    assert Trade.objects.count() == 2


@pytest.mark.parametrize("over", [{}, {"stake": "100"}, {"duration": " 60 "}])
def test_the_same_token_with_the_same_values_replays_the_trade(browser, btc, over):
    token = new_token(browser)
    first = submit(browser, token)
    assert first.status_code == 302
    again = submit(browser, token, **over)  # the same values, as typed or not
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert Trade.objects.count() == 1


def test_a_used_token_with_values_the_form_refuses_comes_back_fresh_too(browser, btc):
    token = new_token(browser)
    assert submit(browser, token).status_code == 302
    response = submit(browser, token, stake="１００")
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["form_token"] == [FORM_USED_MESSAGE]
    assert form.errors["stake"] == ["Enter the stake as a number, e.g. 1,000.50."]
    fresh = page_token(response.content.decode())
    assert fresh != token
    assert submit(browser, fresh, stake="100.50").status_code == 302
    assert Trade.objects.count() == 2


@pytest.mark.parametrize(
    "token",
    [None, "", " ", "x" * 100_000, "\x00", "ab\x00cd", "abc-123", "١٢٣", "ａｂｃ", "a" * 65, "<script>"],
    ids=[
        "missing",
        "blank",
        "space",
        "100KB",
        "nul",
        "inner-nul",
        "dash",
        "arabic",
        "fullwidth",
        "65",
        "markup",
    ],
)
def test_a_blank_or_broken_token_comes_back_fresh_with_a_sentence(browser, btc, token):
    response = submit(browser, token)
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors == {"form_token": [FORM_UNREADABLE_MESSAGE]}
    html = response.content.decode()
    assert alert(FORM_UNREADABLE_MESSAGE) in html
    fresh = page_token(html)
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    assert 'name="stake" value="100.00"' in html
    assert Trade.objects.count() == 0
    # The page is usable again: its token places the trade.
    assert submit(browser, fresh).status_code == 302
    assert Trade.objects.count() == 1


def test_a_broken_token_and_a_bad_field_say_both(browser, btc):
    response = submit(browser, "", duration="١٠")
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "duration": [DURATION_INVALID],
        "form_token": [FORM_UNREADABLE_MESSAGE],
    }
    assert re.fullmatch(r"[0-9a-f]{32}", page_token(response.content.decode()))
    assert Trade.objects.count() == 0
