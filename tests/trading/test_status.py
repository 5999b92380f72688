"""The HTML trade form, the /trade-status/ page and /api/check-trade-status/:
session-tracked, owner only, cleared at a final state."""

from decimal import Decimal

import pytest
from django.test import Client

from realtime.models import Event
from tests.factories import PASSWORD
from tests.trading.trades_support import balance, fund, make_instrument, quote
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_open

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def inst():
    return make_instrument("WEB-USD", fee_bps=10, price_scale=2, max_stake=D("5000.00"))


@pytest.fixture
def browser(user):
    client = Client(enforce_csrf_checks=True)
    assert client.login(username=user.username, password=PASSWORD)
    return client


def form_token(client):
    page = client.get("/trade/new/")
    assert page.status_code == 200
    html = page.content.decode()
    token = html.split('name="form_token" value="')[1].split('"')[0]
    csrf = client.cookies["csrftoken"].value
    return token, csrf


def submit(client, *, token, csrf, **over):
    data = {
        "instrument": "WEB-USD",
        "side": "buy",
        "stake": "100.00",
        "duration": "60",
        "take_profit": "",
        "stop_loss": "",
        "form_token": token,
        "csrfmiddlewaretoken": csrf,
        **over,
    }
    return client.post("/trade/new/", data)


def test_form_requires_login():
    response = Client().get("/trade/new/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_status_check_without_a_session_is_a_json_403(db):
    response = Client().get("/api/check-trade-status/")
    assert response.status_code == 403
    assert response.json() == {"code": "not_authenticated", "detail": "Log in to check a trade."}


def test_form_without_csrf_is_refused(browser, inst):
    token, _ = form_token(browser)
    response = browser.post("/trade/new/", {"instrument": "WEB-USD", "form_token": token})
    assert response.status_code == 403
    assert Trade.objects.count() == 0


def test_form_creates_tracks_and_redirects_once_per_token(browser, user, inst):
    fund(user, "1000.00")
    token, csrf = form_token(browser)
    response = submit(browser, token=token, csrf=csrf)
    assert response.status_code == 302 and response["Location"] == "/trade-status/"
    again = submit(browser, token=token, csrf=csrf)  # a double click
    assert again.status_code == 302
    trade = Trade.objects.get()
    assert trade.duration.total_seconds() == 3600
    assert browser.session["tracked_trade"] == {"trade_id": trade.pk, "task_id": trade.task_id}
    page = browser.get("/trade-status/")
    assert page.status_code == 200
    assert b'data-status="queued"' in page.content
    assert b"> \xc2\xb7 100.10 USD held (stake + fee) until it opens</span>" in page.content


@pytest.mark.parametrize(
    ("over", "field", "status"),
    [
        ({"stake": "-5"}, "stake", 400),
        ({"stake": "1,00"}, "stake", 400),  # grouping is read ("1,000"), misplaced commas are not
        ({"stake": "10.001"}, "stake", 400),
        ({"instrument": "NOPE"}, "instrument", 400),
        ({"duration": "0"}, "duration", 400),
        # Refused by the service's rules (the instrument's, the price's): its status.
        ({"duration": str(8 * 24 * 60)}, "duration", 422),
        ({"take_profit": "90.00"}, "take_profit", 422),
    ],
)
def test_form_errors_name_the_field_and_write_nothing(browser, inst, over, field, status):
    quote(inst, "100.00")
    token, csrf = form_token(browser)
    response = submit(browser, token=token, csrf=csrf, **over)
    assert response.status_code == status
    assert field in response.context["form"].errors
    assert Trade.objects.count() == 0
    assert Event.objects.count() == 0


def test_status_endpoint_follows_the_trade_and_clears_at_the_end(browser, user, inst):
    fund(user, "1000.00")
    quote(inst, "100.00")
    token, csrf = form_token(browser)
    submit(browser, token=token, csrf=csrf)
    trade = Trade.objects.get()
    queued = browser.get("/api/check-trade-status/").json()
    assert queued["status"] == "queued" and queued["final"] is False
    assert queued["trade"] is None and queued["task_id"] == trade.task_id
    assert queued["task_state"] == "PENDING"
    trade_open(trade_id=trade.pk)
    opened = browser.get("/api/check-trade-status/").json()
    assert opened["status"] == "open" and opened["attempts"] == 1
    assert opened["trade"]["entry_price"] == "100.00000000"
    page = browser.get("/trade-status/")
    assert b'data-status="open"' in page.content
    browser.post(f"/api/v1/trades/{trade.pk}/close/", content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    settled = browser.get("/api/check-trade-status/").json()
    assert settled["status"] == "settled" and settled["final"] is True
    assert "tracked_trade" not in browser.session
    assert browser.get("/api/check-trade-status/").status_code == 404
    assert balance(user) == (D("999.80"), D("0.00"))


def test_a_stake_the_wallet_cannot_pay_is_refused_beside_the_stake(browser, user, inst):
    fund(user, "100.00")
    token, csrf = form_token(browser)
    response = submit(browser, token=token, csrf=csrf, stake="100.00")  # + the 0.10 fee
    assert response.status_code == 422
    assert response.context["form"].errors["stake"] == [
        "Not enough available balance: the stake 100.00 and its opening fee 0.10 need 100.10 USD."
    ]
    assert "Not enough available balance" in response.content.decode()
    assert Trade.objects.count() == 0
    assert balance(user) == (D("100.00"), D("0.00"))


def test_rejection_reason_is_reported(browser, user, inst, settings):
    settings.MAX_OPEN_TRADES = 0
    fund(user, "1000.00")
    quote(inst, "100.00")
    token, csrf = form_token(browser)
    submit(browser, token=token, csrf=csrf)
    trade_open(trade_id=Trade.objects.get().pk)
    status = browser.get("/api/check-trade-status/").json()
    assert status["status"] == TradeStatus.REJECTED
    assert status["reason"]["code"] == "max_open_trades"
    assert balance(user) == (D("1000.00"), D("0.00"))


def test_other_ids_and_other_users_get_404(browser, user, other_user, inst):
    fund(user, "1000.00")
    token, csrf = form_token(browser)
    submit(browser, token=token, csrf=csrf)
    mine = Trade.objects.get()
    assert browser.get("/api/check-trade-status/", {"trade_id": mine.pk + 1}).status_code == 404
    assert browser.get("/trade-status/", {"trade_id": mine.pk + 1}).status_code == 404
    assert browser.get("/api/check-trade-status/", {"trade_id": mine.pk}).status_code == 200
    other = Client()
    assert other.login(username=other_user.username, password=PASSWORD)
    assert other.get("/api/check-trade-status/", {"trade_id": mine.pk}).status_code == 404
    assert b"No trade is being watched" in other.get("/trade-status/").content


def test_a_session_pointing_at_another_users_trade_is_404(browser, user, other_user, inst):
    from trading.trades.services import trade_request

    fund(other_user, "100.00")
    theirs = trade_request(
        user=other_user, instrument="WEB-USD", side="buy", stake=D("10.00"), idempotency_key="t"
    ).trade
    session = browser.session
    session["tracked_trade"] = {"trade_id": theirs.pk, "task_id": theirs.task_id}
    session.save()
    assert browser.get("/api/check-trade-status/").status_code == 404
    assert "tracked_trade" not in browser.session
