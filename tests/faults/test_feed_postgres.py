"""Feed resilience: PostgreSQL goes away under the real feed process.

The test terminates the feed's session (found by its `application_name`) and
refuses new connections to the test database for a few seconds, which to the
feed is an outage: flushes fail, reconnects fail. Documented outcome
(docs/market-data.md, Resilience): the feed logs it, keeps the pending
aggregates in memory, and writes them when PostgreSQL answers again, so the
1-second tick record has no hole at all, not even for the outage.
"""

import os
import threading
from datetime import datetime, timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from market.models import Bar, PriceTick
from tests.children import with_options
from tests.factories import InstrumentFactory
from tests.faults.processes import database_url, stop, wait_for
from tests.trading.feed_process import feed_start

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

SYMBOL = "BTC-USD"
OUTAGE_SECONDS = 3.0


def _terminate(application_name: str) -> int:
    """Terminate the sessions of `application_name` (never this test's own)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s AND pid <> pg_backend_pid()",
            [application_name],
        )
        return int(cursor.fetchone()[0])


def _allow_connections(allow: bool) -> None:
    """Refuse or allow new sessions of the test database, superusers included.

    Open sessions (the test's own) stay. PostgreSQL does not let a session
    change this for its own database, so it is done from the `postgres` one.
    """
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        name = connection.ops.quote_name(db["NAME"])
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {'true' if allow else 'false'}")


def _seconds(symbol: str) -> list[datetime]:
    ats = PriceTick.objects.filter(instrument__symbol=symbol).order_by("at").values_list("at", flat=True)
    return [at.replace(microsecond=0) for at in ats]


def test_feed_survives_a_postgresql_outage_and_records_every_second(tmp_path):
    InstrumentFactory(symbol=SYMBOL)  # the seed may have been flushed by another transactional test
    name = f"feed-{os.environ['CHANNEL_PREFIX']}"
    log = tmp_path / "feed.log"
    feed = feed_start(
        "--symbols",
        SYMBOL,
        "--seconds",
        "120",
        log=log,
        DATABASE_URL=with_options(database_url(), application_name=name),
    )
    try:
        wait_for(
            lambda: PriceTick.objects.filter(instrument__symbol=SYMBOL).count() >= 2, timeout=60, what="ticks"
        )
        down_at = timezone.now()
        _allow_connections(False)
        try:
            assert _terminate(name) == 1
            wait_for(
                lambda: "PostgreSQL unavailable" in log.read_text(), timeout=30, what="the feed to notice"
            )
            threading.Event().wait(OUTAGE_SECONDS)
            assert _terminate(name) == 0  # every reconnect was refused
        finally:
            _allow_connections(True)
        up_at = timezone.now()
        assert feed.poll() is None, log.read_text()
        wait_for(
            lambda: "PostgreSQL is back" in log.read_text(), timeout=60, what="recovery\n" + log.read_text()
        )
        after = up_at + timedelta(seconds=2)
        wait_for(
            lambda: PriceTick.objects.filter(instrument__symbol=SYMBOL, at__gt=after).exists(),
            timeout=30,
            what="ticks after the outage",
        )
        assert feed.poll() is None, log.read_text()
    finally:
        _allow_connections(True)
        assert stop(feed) == 0, log.read_text()

    output = log.read_text()
    assert "Traceback" not in output, output
    seconds = _seconds(SYMBOL)
    assert seconds[0] < down_at and seconds[-1] > after
    # Pending rows were kept and written on recovery: every second of the run
    # has its tick, the outage's included.
    span = int((seconds[-1] - seconds[0]).total_seconds()) + 1
    assert sorted(set(seconds)) == [seconds[0] + timedelta(seconds=i) for i in range(span)]
    # The minute bars cover the same span, one row per minute.
    minutes = list(
        Bar.objects.filter(instrument__symbol=SYMBOL).order_by("start").values_list("start", flat=True)
    )
    assert minutes[0] == seconds[0].replace(second=0) and minutes[-1] == seconds[-1].replace(second=0)
    assert len(minutes) == len(set(minutes))
