"""The settlement and maturity emails: what they say.

`accounts.notifications.notify_emails` decides whether each goes (the user's
switch, an address) and sends after the writer's transaction commits. Plan
trades get no mail of their own: the plan's maturity mail sums them up, so a
plan does not fill an inbox with one mail per trade.
"""

from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from accounts.notifications import Mail
from trading.plans.models import Plan
from trading.trades.models import Trade


def _signed(amount: object) -> str:
    """A sign only when it is not zero, as the pages write it."""
    if amount is None:
        return "-"
    text = str(amount)
    if text.startswith("-") or Decimal(text) == 0:
        return text
    return f"+{text}"


def _at(price: Decimal | None, quantum: Decimal) -> str:
    return "-" if price is None else str(price.quantize(quantum))


def trade_settled_mail(trade: Trade) -> Mail:
    """The net result (P&L less both fees) leads, in the subject and the
    body; the P&L before fees and the fees follow it."""
    symbol = trade.instrument.symbol
    net = trade.net_pnl
    link = settings.PUBLIC_URL + reverse("trade-detail", args=[trade.pk])
    quantum = trade.instrument.price_quantum  # prices are stored at 8 places
    outcome = "a loss of" if net is not None and net < 0 else "a net result of"
    body = "\n".join(
        [
            f"Your {trade.side} trade #{trade.pk} on {symbol} has settled with {outcome} "
            f"{_signed(net)} {trade.currency} after fees.",
            "",
            f"Net result:    {_signed(net)} {trade.currency}",
            f"P&L (gross):   {_signed(trade.pnl)} {trade.currency}",
            f"Fees:          {trade.fee} {trade.currency} (opening and closing)",
            "",
            f"Reason:        {trade.get_close_reason_display()}",
            f"Stake:         {trade.stake} {trade.currency}",
            f"Entry price:   {_at(trade.entry_price, quantum)}",
            f"Exit price:    {_at(trade.exit_price, quantum)}",
            "",
            "Paper trading: prices are recorded market prices; no real money moved.",
            f"Details: {link}",
            f"Email settings: {settings.PUBLIC_URL}{reverse('notification-settings')}",
        ]
    )
    subject = f"Trade #{trade.pk} settled: {symbol} net {_signed(net)} {trade.currency}"
    return Mail(user_id=trade.user_id, subject=subject, body=body)


def plan_matured_mail(plan: Plan) -> Mail:
    """The plan's net result (realised P&L less every fee of its trades)
    leads; the realised P&L and the fees follow it."""
    symbol = plan.instrument.symbol
    net = plan.realised_pnl - plan.fees
    body = "\n".join(
        [
            f"Your {plan.get_strategy_display()} plan #{plan.pk} on {symbol} has matured.",
            "",
            f"Net result:    {_signed(net)} {plan.currency}",
            f"Realised P&L:  {_signed(plan.realised_pnl)} {plan.currency} (gross)",
            f"Fees:          {plan.fees} {plan.currency}",
            "",
            f"Principal:     {plan.principal} {plan.currency}",
            f"Returned:      {plan.returned} {plan.currency} (now available in your wallet)",
            "",
            "Paper trading: every result comes from recorded market prices.",
            f"Plans: {settings.PUBLIC_URL}{reverse('plans')}",
            f"Email settings: {settings.PUBLIC_URL}{reverse('notification-settings')}",
        ]
    )
    subject = f"Plan #{plan.pk} matured: {symbol} net {_signed(net)} {plan.currency}"
    return Mail(user_id=plan.user_id, subject=subject, body=body)
