"""What the trader's-view browser tests share: a user with an open trade,
a session tracking it on /trade-status/, and the page checks (no sideways
scroll, tap targets, axe) each page of the site is put through."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.test import Client

from market.models import Instrument
from tests.factories import UserFactory
from tests.trading.trades_support import quote
from trading.trades.models import Trade
from trading.trades.services import trade_open, trade_request
from wallets.services import wallet_deposit

D = Decimal
SERIOUS = {"serious", "critical"}


def trader(*, staff: bool = False) -> Any:
    user = UserFactory(is_staff=staff)
    wallet_deposit(user=user, amount=D("1000.00"), currency="USD", idempotency_key=f"view-{user.pk}")
    return user


def open_trade(user: Any, *, symbol: str = "BTC-USD", price: str = "65000.00") -> Trade:
    """A buy opened near `price` (the feed may tick meanwhile) with a
    take-profit and a stop-loss far enough away not to be hit."""
    inst = Instrument.objects.get(symbol=symbol)
    quote(inst, price)
    entry = D(price)
    trade = trade_request(
        user=user,
        instrument=symbol,
        side="buy",
        stake=D("100.00"),
        idempotency_key=f"view-trade-{user.pk}",
        take_profit=str((entry * D("1.02")).quantize(D("0.01"))),
        stop_loss=str((entry * D("0.98")).quantize(D("0.01"))),
    ).trade
    return trade_open(trade_id=trade.pk)


def login_tracking(page: Any, url: str, user: Any, trade: Trade) -> None:
    """A logged-in session that tracks `trade` on /trade-status/, as the
    trade form leaves it."""
    client = Client()
    client.force_login(user)
    session = client.session
    session["tracked_trade"] = {"trade_id": trade.pk, "task_id": trade.task_id}
    session.save()
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": url, "httpOnly": True}]
    )


def sideways_scroll(page: Any) -> list[int]:
    """[scrollWidth, innerWidth] of the document."""
    return page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")


def sticking_out(page: Any) -> list[str]:
    """The elements past the right edge (to say what made a page scroll)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
          .filter((n) => n.getBoundingClientRect().right > innerWidth + 0.5)
          .filter((n) => {
            // Not what scrolls inside its own box.
            for (let p = n.parentElement; p && p !== document.body; p = p.parentElement) {
              if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return false;
            }
            return true;
          })
          .slice(0, 8)
          .map((n) => {
            const right = Math.round(n.getBoundingClientRect().right);
            return `${n.tagName.toLowerCase()}#${n.id}.${n.className} ${right}`;
          })"""
    )


SMALL_TARGETS = """() => [...document.querySelectorAll('a, button, input, select')]
  .filter((n) => {
    // Only what can be tapped: rendered, not the off-screen skip link.
    if (n.closest('[hidden], .visually-hidden') || n.classList.contains('skip-link')) return false;
    if (n.type === 'hidden') return false;
    const style = getComputedStyle(n);
    if (style.display === 'none' || style.visibility === 'hidden') return false;
    const r = n.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && (r.width < 24 || r.height < 24);
  })
  .map((n) => {
    const r = n.getBoundingClientRect();
    const label = (n.textContent || n.name || '').trim().slice(0, 30);
    const size = `${Math.round(r.width)}x${Math.round(r.height)}`;
    return `${n.tagName.toLowerCase()}#${n.id}.${n.className} "${label}" ${size}`;
  })"""


def small_targets(page: Any) -> list[str]:
    """Every visible a/button/input/select smaller than 24 x 24 px."""
    return page.evaluate(SMALL_TARGETS)


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in SERIOUS:
            targets = [", ".join(node["target"]) for node in violation["nodes"]][:5]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found
