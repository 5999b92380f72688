"""The trades and plans API: 202 with Location and status URL, Idempotency-Key,
bad input 400 naming the field with nothing written, owner scoping, batch."""

import json
import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from realtime.models import Event
from tests.factories import UserFactory
from tests.trading.trades_support import balance, fund, make_instrument, quote
from trading.plans.models import Plan
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_open

D = Decimal
URL = "/api/v1/trades/"


@pytest.fixture
def inst(db):
    return make_instrument("API-USD", fee_bps=10, price_scale=2, max_stake=D("5000.00"))


def post(client, body, *, key=None, url=URL):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def body(**over):
    return {"instrument": "API-USD", "side": "buy", "stake": "100.00", **over}


@pytest.mark.django_db
def test_create_answers_202_with_location_and_status_url(auth_client, user, inst):
    fund(user, "1000.00")
    response = post(auth_client, body(), key="abc")
    assert response.status_code == 202
    data = response.json()
    assert data["status"] == "queued"
    assert data["stake"] == "100.00"
    assert data["status_url"] == f"/api/v1/trades/{data['id']}/"
    assert response["Location"] == data["status_url"]
    detail = auth_client.get(data["status_url"])
    assert detail.status_code == 200
    assert detail.json()["id"] == data["id"]
    assert (data["fee"], data["held"]) == ("0.10", "100.10")
    # The 202 body is built without the serializer; it must be what the serializer says.
    from trading.trades.api import TradeAcceptedSerializer

    assert data == json.loads(json.dumps(TradeAcceptedSerializer(Trade.objects.get()).data))


@pytest.mark.django_db
def test_a_stake_the_wallet_cannot_pay_is_422_naming_stake_and_writes_nothing(auth_client, user, inst):
    fund(user, "100.09")
    events_before = Event.objects.count()
    response = post(auth_client, body(), key="poor")
    assert response.status_code == 422
    assert response.json() == {
        "code": "insufficient_funds",
        "detail": "Not enough available balance: the stake 100.00 and its opening fee 0.10 need 100.10 USD.",
        "stake": ["Not enough available balance: the stake 100.00 and its opening fee 0.10 need 100.10 USD."],
    }
    assert Trade.objects.count() == 0
    assert Event.objects.count() == events_before
    assert balance(user) == (D("100.09"), D("0.00"))
    # The same key after a deposit: accepted (the refusal kept nothing under it).
    fund(user, "0.01")
    assert post(auth_client, body(), key="poor").status_code == 202
    assert balance(user) == (D("0.00"), D("100.10"))


@pytest.mark.django_db
def test_same_key_same_answer_other_params_422(auth_client, user, inst):
    fund(user, "1000.00")
    first = post(auth_client, body(), key="same")
    second = post(auth_client, body(), key="same")
    assert second.status_code == 202
    assert second.json() == first.json()
    third = post(auth_client, body(stake="101.00"), key="same")
    assert third.status_code == 422
    assert third.json()["code"] == "idempotency_key_reused"
    assert Trade.objects.count() == 1


BAD_INPUTS = [
    ({"stake": "-1.00"}, "stake"),
    ({"stake": "-0"}, "stake"),
    ({"stake": "0"}, "stake"),
    ({"stake": "1.005"}, "stake"),
    ({"stake": "1e3"}, "stake"),
    ({"stake": "1_000"}, "stake"),
    ({"stake": "NaN"}, "stake"),
    ({"stake": "Infinity"}, "stake"),
    ({"stake": "١٠٠"}, "stake"),
    ({"stake": " 100.00"}, "stake"),
    ({"stake": "100.00 "}, "stake"),
    ({"stake": "+100.00"}, "stake"),
    ({"stake": ""}, "stake"),
    ({"stake": "nan"}, "stake"),
    ({"stake": "-inf"}, "stake"),
    ({"stake": "-Infinity"}, "stake"),
    ({"stake": "0x64"}, "stake"),
    ({"stake": "10000000.01"}, "stake"),  # over the platform's maximum amount
    ({"stake": ["100.00"]}, "stake"),
    ({"stake": 100.001}, "stake"),  # a JSON number is parsed exactly: three places refused
    ({"stake": True}, "stake"),
    ({"stake": None}, "stake"),
    ({"side": "long"}, "side"),
    ({"instrument": 7}, "instrument"),  # DRF would read it as "7"
    ({"duration": 30}, "duration"),
    ({"duration": 10**9}, "duration"),
    ({"duration": "soon"}, "duration"),
    ({"duration": "3600"}, "duration"),  # DRF would read it as 3600
    ({"take_profit": "1e9"}, "take_profit"),
    ({"take_profit": "-1"}, "take_profit"),
    ({"take_profit": "1000000000000"}, "take_profit"),
]

# Well formed (the schema allows them) and refused by a rule the schema
# cannot state: the instrument's limits, the instruments that exist, the
# current price (docs/api.md, "Errors").
REFUSED_INPUTS = [
    ({"stake": "1000000.00"}, "stake"),  # over the instrument's maximum
    ({"stake": "0.50"}, "stake"),  # under its minimum
    ({"instrument": " API-USD"}, "instrument"),
    ({"instrument": "NOPE"}, "instrument"),
    ({"duration": 8 * 24 * 3600}, "duration"),  # over the instrument's maximum
    ({"take_profit": "90.00"}, "take_profit"),  # a buy's take-profit below the price
    ({"stop_loss": "110.00"}, "stop_loss"),
    ({"take_profit": "100.001"}, "take_profit"),  # finer than the instrument's price scale
]


@pytest.mark.django_db
@pytest.mark.parametrize(("over", "field"), BAD_INPUTS)
def test_bad_input_is_400_naming_the_field_and_nothing_written(auth_client, inst, over, field):
    quote(inst, "100.00")
    response = post(auth_client, body(**over), key="bad")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Trade.objects.count() == 0
    assert Event.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("over", "field"), REFUSED_INPUTS)
def test_refused_input_is_422_naming_the_field_and_nothing_written(auth_client, inst, over, field):
    quote(inst, "100.00")
    response = post(auth_client, body(**over), key="refused")
    assert response.status_code == 422, response.content
    assert field in response.json()
    assert Trade.objects.count() == 0
    assert Event.objects.count() == 0


@pytest.mark.django_db
def test_a_duplicate_json_key_is_refused_and_nothing_written(auth_client, inst):
    quote(inst, "100.00")
    raw = '{"instrument": "API-USD", "side": "buy", "stake": "1.00", "stake": "100.00"}'
    response = auth_client.post(URL, data=raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="dup")
    assert response.status_code == 400
    assert "stake" in json.dumps(response.json())
    assert Trade.objects.count() == 0


@pytest.mark.django_db
def test_missing_fields_are_named(auth_client, inst):
    response = post(auth_client, {}, key="empty")
    assert response.status_code == 400
    assert {"instrument", "side", "stake"} <= set(response.json())
    assert Trade.objects.count() == 0


@pytest.mark.django_db
def test_another_users_trade_is_404_everywhere(auth_client, other_user, inst):
    fund(other_user, "1000.00")
    quote(inst, "100.00")
    client = APIClient()
    client.force_authenticate(other_user)
    theirs = post(client, body(), key="o").json()["id"]
    for method, url in [
        ("get", f"{URL}{theirs}/"),
        ("post", f"{URL}{theirs}/cancel/"),
        ("post", f"{URL}{theirs}/close/"),
    ]:
        assert getattr(auth_client, method)(url).status_code == 404
    assert auth_client.get(URL).json()["results"] == []
    assert Trade.objects.get(pk=theirs).status == TradeStatus.QUEUED


@pytest.mark.django_db
def test_list_filters_and_cursor_pages(auth_client, user, inst):
    fund(user, "1000.00")
    for i in range(3):
        post(auth_client, body(), key=f"l{i}")
    other = make_instrument("OTH-USD")
    post(auth_client, body(instrument=other.symbol), key="l3")
    page = auth_client.get(URL, {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
    rest = auth_client.get(page["next"]).json()
    assert len(rest["results"]) == 2 and rest["next"] is None
    assert len(auth_client.get(URL, {"instrument": "OTH-USD"}).json()["results"]) == 1
    assert len(auth_client.get(URL, {"status": "open"}).json()["results"]) == 0
    assert auth_client.get(URL, {"status": "sideways"}).status_code == 400


@pytest.mark.django_db
def test_staff_read_everything_and_filter_by_user(staff_user, user, other_user, inst):
    for u in (user, other_user):
        fund(u, "1000.00")
        c = APIClient()
        c.force_authenticate(u)
        post(c, body(), key="s")
    staff = APIClient()
    staff.force_authenticate(staff_user)
    assert len(staff.get(URL).json()["results"]) == 2
    assert len(staff.get(URL, {"user": user.pk}).json()["results"]) == 1


@pytest.mark.django_db
def test_cancel_and_close_endpoints(auth_client, user, inst):
    fund(user, "1000.00")
    quote(inst, "100.00")
    queued = post(auth_client, body(), key="c1").json()["id"]
    response = auth_client.post(f"{URL}{queued}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert auth_client.post(f"{URL}{queued}/cancel/").json()["status"] == "cancelled"
    to_close = post(auth_client, body(), key="c2").json()["id"]
    assert auth_client.post(f"{URL}{to_close}/close/").status_code == 409  # still queued
    trade_open(trade_id=to_close)
    quote(inst, "101.00")
    closed = auth_client.post(f"{URL}{to_close}/close/").json()
    assert (closed["status"], closed["pnl"], closed["fee"]) == ("settled", "1.00", "0.20")
    assert balance(user) == (D("1000.80"), D("0.00"))


@pytest.mark.django_db
def test_batch_answers_each_item(auth_client, user, inst):
    fund(user, "1000.00")
    items = [body(stake="10.00"), body(side="sell", stake="20.00")]
    response = post(auth_client, {"trades": items}, key="b", url=f"{URL}batch/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["index"], r["status"], r["trade"]["stake"]) for r in results] == [
        (0, 202, "10.00"),
        (1, 202, "20.00"),
    ]
    assert Trade.objects.filter(source="batch").count() == 2
    # The same batch again: the same trades.
    again = post(auth_client, {"trades": items}, key="b", url=f"{URL}batch/").json()["results"]
    assert [r["trade"]["id"] for r in again] == [r["trade"]["id"] for r in results]
    assert Trade.objects.count() == 2
    assert balance(user) == (D("1000.00") - D("30.03"), D("30.03"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("retried", "code"),
    [
        # Another set of items under the key: the whole batch is refused.
        pytest.param(lambda items: items[:1], "idempotency_key_reused", id="fewer"),
        pytest.param(lambda items: [*items, body(stake="5.00")], "idempotency_key_reused", id="more"),
        # The same items' keys with other parameters: each such item is refused.
        pytest.param(lambda items: [items[1], items[0]], "batch_refused", id="reordered"),
        pytest.param(
            lambda items: [items[0], body(side="sell", stake="21.00")], "batch_refused", id="changed"
        ),
    ],
)
def test_a_batch_key_used_again_for_another_batch_is_refused_whole(auth_client, user, inst, retried, code):
    """A batch's Idempotency-Key names that batch: a retry with more or fewer
    items, or changed ones, must neither replay part of it nor add to it."""
    fund(user, "1000.00")
    items = [body(stake="10.00"), body(side="sell", stake="20.00")]
    assert post(auth_client, {"trades": items}, key="once", url=f"{URL}batch/").status_code == 200
    before = balance(user)
    response = post(auth_client, {"trades": retried(items)}, key="once", url=f"{URL}batch/")
    assert response.status_code == 422, response.json()
    answer = response.json()
    assert answer["code"] == code, answer
    assert "idempotency_key" in str(answer)
    assert Trade.objects.count() == 2
    assert balance(user) == before


@pytest.mark.django_db
def test_a_batch_the_wallet_cannot_pay_names_each_item_it_cannot_and_writes_nothing(auth_client, user, inst):
    fund(user, "100.00")
    events_before = Event.objects.count()
    # 60.06 and 30.03 fit; 20.02 more does not, the 9.90 (+0.01) after it would.
    items = [body(stake="60.00"), body(stake="30.00"), body(stake="20.00"), body(stake="9.90")]
    response = post(auth_client, {"trades": items}, key="poor-batch", url=f"{URL}batch/")
    assert response.status_code == 422  # every item well formed; the balance refuses one
    answer = response.json()
    assert answer["code"] == "batch_refused"
    assert [(i["index"], i["status"], i["errors"]["code"]) for i in answer["items"]] == [
        (2, 422, "insufficient_funds")
    ]
    assert "stake" in answer["items"][0]["errors"]
    assert Trade.objects.count() == 0
    assert Event.objects.count() == events_before
    assert balance(user) == (D("100.00"), D("0.00"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("bad", "field", "item_status"),
    [
        (body(stake="0"), "stake", 400),  # refused by the item serializer
        (body(instrument="NOPE"), "instrument", 422),  # refused by the service
        (body(duration=59), "duration", 400),
        (body(take_proft="1"), "take_proft", 400),  # unknown field
    ],
)
def test_a_refused_item_refuses_the_whole_batch_and_writes_nothing(
    auth_client, inst, bad, field, item_status
):
    """The batch's status: 400 when an item is malformed, 422 when every
    item is well formed and a rule refuses some."""
    from realtime.models import Event

    events_before = Event.objects.count()
    items = [body(), bad, body(side="sell"), bad]
    response = post(auth_client, {"trades": items}, key="all-or-nothing", url=f"{URL}batch/")
    assert response.status_code == item_status
    answer = response.json()
    assert answer["code"] == "batch_refused"
    assert [(i["index"], i["status"]) for i in answer["items"]] == [(1, item_status), (3, item_status)]
    assert all(field in i["errors"] for i in answer["items"])
    assert Trade.objects.count() == 0
    assert Event.objects.count() == events_before


@pytest.mark.django_db
def test_two_items_with_one_key_refuse_the_batch(auth_client, inst):
    items = [body(idempotency_key="same"), body(idempotency_key="same", side="sell")]
    response = post(auth_client, {"trades": items}, key="dup", url=f"{URL}batch/")
    assert response.status_code == 422
    assert [(i["index"], list(i["errors"])) for i in response.json()["items"]] == [
        (1, ["code", "detail", "idempotency_key"])
    ]
    assert Trade.objects.count() == 0


@pytest.mark.django_db
def test_batch_of_more_than_20_is_refused(auth_client, inst):
    response = post(auth_client, {"trades": [body()] * 21}, key="big", url=f"{URL}batch/")
    assert response.status_code == 400 and "trades" in response.json()
    assert Trade.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_50_identical_parallel_requests_make_one_trade(inst):
    user = UserFactory()
    fund(user, "1000.00")
    answers = []
    barrier = threading.Barrier(50)

    def send():
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait()
            r = post(client, body(), key="parallel")
            answers.append((r.status_code, r.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 50
    assert {code for code, _ in answers} == {202}
    assert len({trade_id for _, trade_id in answers}) == 1
    assert Trade.objects.filter(user=user).count() == 1
    assert Event.objects.filter(user=user, event="trade.queued").count() == 1
    assert balance(user) == (D("899.90"), D("100.10"))  # held once


@pytest.mark.django_db
def test_unauthenticated_is_refused(api_client, inst):
    assert post(api_client, body(), key="x").status_code in (401, 403)
    assert Trade.objects.count() == 0


@pytest.mark.django_db
def test_plans_api_create_list_cancel(auth_client, user, other_user, inst):
    fund(user, "1000.00")
    payload = {
        "instrument": "API-USD",
        "strategy": "dca",
        "principal": "500.00",
        "trade_fraction": "0.1",
        "term_days": 7,
    }
    created = post(auth_client, payload, key="plan", url="/api/v1/plans/")
    assert created.status_code == 201, created.content
    plan_id = created.json()["id"]
    assert balance(user) == (D("500.00"), D("500.00"))
    assert [p["id"] for p in auth_client.get("/api/v1/plans/").json()["results"]] == [plan_id]
    bad = post(auth_client, {**payload, "principal": "1.001"}, key="plan2", url="/api/v1/plans/")
    assert bad.status_code == 400 and "principal" in bad.json()
    other = APIClient()
    other.force_authenticate(other_user)
    assert other.get(f"/api/v1/plans/{plan_id}/").status_code == 404
    assert other.post(f"/api/v1/plans/{plan_id}/cancel/").status_code == 404
    cancelled = auth_client.post(f"/api/v1/plans/{plan_id}/cancel/").json()
    assert (cancelled["status"], cancelled["returned"]) == ("cancelled", "500.00")
    assert balance(user) == (D("1000.00"), D("0.00"))
    assert Plan.objects.count() == 1


@pytest.mark.parametrize("url", [URL, f"{URL}batch/", "/api/v1/plans/"])
@pytest.mark.parametrize("key", [None, "", "x" * 101, "tab\tkey"])
def test_initiation_without_a_valid_idempotency_key_is_400_naming_the_header(
    auth_client, user, inst, url, key
):
    fund(user, "1000.00")
    payload = {"trades": [body()]} if url.endswith("batch/") else body()
    if url.startswith("/api/v1/plans/"):
        payload = {
            "instrument": inst.symbol,
            "strategy": "dca",
            "principal": "100.00",
            "trade_fraction": "0.1",
            "term_days": 7,
        }
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    response = auth_client.post(url, data=json.dumps(payload), content_type="application/json", **headers)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Trade.objects.exists() and not Plan.objects.exists()
    assert balance(user) == (Decimal("1000.00"), Decimal("0.00"))


@pytest.mark.django_db
def test_a_trade_post_costs_a_counted_number_of_statements(
    auth_client, user, inst, django_assert_num_queries
):
    """Counted, not timed (bench/post_profile.py has the times): no lookup
    (instruments come from the process's cache, a repeated key is found by
    the INSERT's unique constraint), the transaction (a savepoint here,
    inside the test's), the trade INSERT, the hold's posting + balances +
    wallet.balance event (no savepoint of its own: a refusal ends the
    request's transaction), the trade.queued event. (A token client adds
    its token lookup; a server, BEGIN and COMMIT.)"""
    fund(user, "1000.00")
    post(auth_client, body(), key="warm")  # the first request of a process loads more
    with django_assert_num_queries(7):
        assert post(auth_client, body(), key="counted").status_code == 202
