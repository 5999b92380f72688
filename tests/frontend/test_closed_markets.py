"""The plans page's instrument select: a closed market is never
preselected, and says when it opens in its exchange's zone."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from market.models import Instrument

pytestmark = pytest.mark.django_db
SATURDAY = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


@pytest.fixture
def page(user, monkeypatch):
    monkeypatch.setattr("frontend.views.now", lambda: SATURDAY)
    client = Client()
    client.force_login(user)
    return lambda: client.get("/plans/").content.decode()


def test_the_first_open_market_is_preselected_and_closed_ones_say_when_they_open(page):
    html = page()
    # AAPL sorts first, and the NYSE is closed on a Saturday.
    assert '<option value="AAPL">AAPL — Apple Inc. — Closed · opens Mon 09:30 EST</option>' in html
    assert '<option value="BTC-USD" selected>' in html
    assert html.count(" selected>") == 1


def test_with_every_market_closed_none_is_preselected(page):
    Instrument.objects.filter(calendar="always").update(active=False)
    html = page()
    assert '<option value="" selected>Markets are closed: choose an instrument</option>' in html
    assert html.count(" selected>") == 1
