"""Page views: login required, render for their owner, others' trades 404."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from market.models import Instrument
from realtime.models import EventCounter
from trading.trades.models import Trade

pytestmark = pytest.mark.django_db

PAGES = ["dashboard", "trade-list", "wallet", "plans", "notification-settings"]


def make_trade(user, **fields):
    instrument = Instrument.objects.get(symbol="BTC-USD")
    defaults = {
        "instrument": instrument,
        "side": "buy",
        "currency": "USD",
        "stake": Decimal("100.00"),
        "duration": timedelta(hours=1),
        "idempotency_key": f"k-{user.pk}-{Trade.objects.count()}",
        "request_fingerprint": "0" * 64,
    }
    defaults.update(fields)
    return Trade.objects.create(user=user, **defaults)


@pytest.mark.parametrize("name", PAGES)
def test_pages_require_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse(name)}"


def test_trade_detail_requires_login(client, user):
    trade = make_trade(user)
    url = reverse("trade-detail", kwargs={"pk": trade.pk})
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", PAGES)
def test_pages_render_for_a_logged_in_user(client, user, name):
    client.force_login(user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'src="/static/frontend/js/app.js"' in body
    assert f'data-user-id="{user.pk}"' in body
    assert response.templates[0].name == f"frontend/{name.replace('-', '_')}.html"


def test_dashboard_renders_its_sections(client, user):
    client.force_login(user)
    body = client.get(reverse("dashboard")).content.decode()
    for testid in ("tickers", "balances", "open-trades", "notifications"):
        assert f'data-testid="{testid}"' in body
    assert 'src="/static/frontend/js/dashboard.js"' in body


def test_page_carries_the_users_last_event_seq(client, user, other_user):
    EventCounter.objects.create(user=user, last_seq=41)
    EventCounter.objects.create(user=other_user, last_seq=7)
    client.force_login(user)
    assert 'data-last-seq="41"' in client.get(reverse("dashboard")).content.decode()


def test_staff_links_only_for_staff(client, user, staff_user):
    client.force_login(user)
    body = client.get(reverse("dashboard")).content.decode()
    assert 'href="/admin/"' not in body
    assert "/ops/" not in body
    client.force_login(staff_user)
    body = client.get(reverse("dashboard")).content.decode()
    assert 'href="/admin/"' in body
    assert 'href="/api/v1/"' in body
    assert f'href="{reverse("ops-health-page")}"' in body


def test_trade_detail_renders_for_its_owner(client, user):
    trade = make_trade(user, status="rejected", failure_code="market_closed", failure_reason="market closed")
    client.force_login(user)
    response = client.get(reverse("trade-detail", kwargs={"pk": trade.pk}))
    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-trade-id="{trade.pk}"' in body
    assert 'data-symbol="BTC-USD"' in body
    assert "market closed" in body


def test_another_users_trade_is_a_404(client, user, other_user):
    trade = make_trade(other_user)
    client.force_login(user)
    assert client.get(reverse("trade-detail", kwargs={"pk": trade.pk})).status_code == 404


def test_missing_trade_is_a_404(client, user):
    client.force_login(user)
    assert client.get(reverse("trade-detail", kwargs={"pk": 999999})).status_code == 404


def test_trade_list_offers_statuses_and_instruments(client, user):
    client.force_login(user)
    body = client.get(reverse("trade-list")).content.decode()
    assert '<option value="settled">Settled</option>' in body
    assert '<option value="BTC-USD">' in body


def test_notification_settings_save_the_users_choice(client, user, other_user):
    from accounts.notifications import notification_preference_get

    client.force_login(user)
    page = client.get(reverse("notification-settings"))
    assert page.status_code == 200
    assert 'name="email_settlement"' in page.content.decode()
    response = client.post(reverse("notification-settings"), {"in_app": "on", "email_maturity": "on"})
    assert response.status_code == 302
    mine = notification_preference_get(user_id=user.pk)
    channels = (mine.in_app, mine.browser, mine.email_settlement, mine.email_maturity)
    assert channels == (True, False, False, True)
    assert notification_preference_get(user_id=other_user.pk)._state.adding is True
    body = client.get(reverse("dashboard")).content.decode()
    assert 'data-notify-in-app="1"' in body
    assert 'data-notify-browser="0"' in body


def test_notification_settings_post_needs_csrf(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(reverse("notification-settings"), {"in_app": "on"})
    assert response.status_code == 403
