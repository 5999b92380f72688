"""Net results (issue 13): every trade resource and trade event carries
`net_pnl`, the P&L minus every fee (opening and closing), beside `pnl` and
`fee`; the pages, the push and the e-mail lead with it and colour by it.

The case of the issue: a trade whose P&L before fees is +0.03 lost 0.17
after its two fees of 0.10, and was shown as a green +0.03."""

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator

from push.services import PushKind, push_payload
from realtime.models import Event
from tests.trading.trades_support import fund, make_instrument, quote
from trading.notifications import trade_settled_mail
from trading.trades.models import Trade, TradeStatus
from trading.trades.serializers import TRADE_FIELDS, TradeSerializer, trade_data
from trading.trades.services import trade_close, trade_open, trade_request

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def inst():
    return make_instrument("NET-USD", fee_bps=10, price_scale=2)


def settled_at(user, inst, exit_price: str, *, key="n1", stake="100.00") -> Trade:
    """Bought at 100.00 (qty = stake / 100), closed by its owner at `exit_price`."""
    fund(user, "1000.00")
    quote(inst, "100.00")
    trade = trade_open(
        trade_id=trade_request(
            user=user, instrument=inst.symbol, side="buy", stake=D(stake), idempotency_key=key
        ).trade.pk
    )
    quote(inst, exit_price)
    return trade_close(user=user, trade_id=trade.pk)


def test_a_gain_before_fees_is_a_loss_after_them(user, inst, auth_client):
    trade = settled_at(user, inst, "100.03")
    assert (trade.pnl, trade.fee, trade.net_pnl) == (D("0.03"), D("0.20"), D("-0.17"))
    resource = auth_client.get(f"/api/v1/trades/{trade.pk}/").json()
    assert (resource["pnl"], resource["fee"], resource["net_pnl"]) == ("0.03", "0.20", "-0.17")
    listed = auth_client.get("/api/v1/trades/").json()["results"][0]
    assert listed["net_pnl"] == "-0.17"
    (event,) = Event.objects.filter(user=user, event="trade.settled")
    assert (event.data["pnl"], event.data["fee"], event.data["net_pnl"]) == ("0.03", "0.20", "-0.17")


def test_the_worked_example_nets_18(user, inst):
    # docs/trading.md: P&L +20.00, fees 1.00 + 1.00.
    inst.max_stake = D("5000.00")
    inst.save()
    fund(user, "4000.00")
    trade = settled_at(user, inst, "102.00", stake="1000.00")
    assert trade_data(trade)["net_pnl"] == "18.00"


def test_no_net_result_before_settlement(user, inst):
    fund(user, "1000.00")
    quote(inst, "100.00")
    queued = trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D("10.00"), idempotency_key="q"
    )
    assert trade_data(queued.trade)["net_pnl"] is None
    opened = trade_open(trade_id=queued.trade.pk)
    assert opened.status == TradeStatus.OPEN and opened.fee == D("0.01")
    assert trade_data(opened)["net_pnl"] is None
    assert dict(TradeSerializer(opened).data)["net_pnl"] is None
    (event,) = Event.objects.filter(user=user, event="trade.opened")
    assert event.data["net_pnl"] is None


def test_the_openapi_schema_describes_net_pnl_beside_pnl_and_fee():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    trade = schema["components"]["schemas"]["Trade"]["properties"]
    assert list(trade)[list(trade).index("pnl") + 1] == "net_pnl"
    net = trade["net_pnl"]
    assert net["readOnly"] and net["nullable"] and net["format"] == "decimal"
    assert "minus every fee" in net["description"]
    assert "opening fee" in trade["fee"]["description"]
    assert "before fees" in trade["pnl"]["description"]


def test_the_asyncapi_trade_schema_is_the_resource():
    spec = yaml.safe_load((Path(settings.BASE_DIR) / "docs" / "asyncapi.yaml").read_text())
    trade = spec["components"]["schemas"]["Trade"]
    assert list(trade["properties"]) == list(TRADE_FIELDS)
    assert trade["required"] == list(TRADE_FIELDS)
    assert "minus every fee" in trade["properties"]["net_pnl"]["description"]


def test_the_push_leads_with_the_events_net_result(user, inst):
    trade = settled_at(user, inst, "100.03")
    event = Event.objects.get(user=user, event="trade.settled")
    payload = push_payload(event, PushKind.TRADE_SETTLED)
    assert payload["body"] == "Net result -0.17 USD (P&L +0.03, fees 0.20)"
    assert (payload["trade"]["net"], payload["trade"]["pnl"], payload["trade"]["fee"]) == (
        "-0.17",
        "0.03",
        "0.20",
    )
    # An event stored before `net_pnl` existed: the same figure, computed.
    event.data = {k: v for k, v in event.data.items() if k != "net_pnl"}
    assert push_payload(event, PushKind.TRADE_SETTLED)["body"] == payload["body"]
    assert trade.pk == payload["trade"]["id"]


def test_the_mail_leads_with_the_loss(user, inst):
    trade = settled_at(user, inst, "100.03")
    mail = trade_settled_mail(trade)
    assert mail.subject == f"Trade #{trade.pk} settled: NET-USD net -0.17 USD"
    lines = mail.body.splitlines()
    assert lines[0].endswith("has settled with a loss of -0.17 USD after fees.")
    assert lines[2:5] == [
        "Net result:    -0.17 USD",
        "P&L (gross):   +0.03 USD",
        "Fees:          0.20 USD (opening and closing)",
    ]
