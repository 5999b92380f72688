"""Prometheus metrics (`/metrics`).

Two kinds of numbers, exported differently:

- Request latency is measured in the web process that served the request,
  by `RequestLatencyMiddleware`, into a `prometheus_client` histogram. With
  several web processes set `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's
  multiprocess mode): each process writes its samples to files there and
  the scrape merges them. Without it, each process reports its own.
- Everything written by other processes (task runs by Celery workers,
  WebSocket counts by every daphne) or stored in the database (events,
  ledger drift) or Redis (feed prices) is read at scrape time by
  `PlatformCollector` and exported as counters and gauges. Those numbers are
  therefore the same whichever web process is scraped.

Names start with `tradevision_`; labels have bounded values (route
patterns, task names, outcomes, symbols, queues).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from market.models import Instrument
from market.prices import price_latest_many
from ops import selectors, taskruns, wsmetrics
from push.selectors import push_totals
from wallets.models import BalanceDrift, DriftKind

logger = logging.getLogger(__name__)

REQUEST_LATENCY = Histogram(
    "tradevision_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern, method and status class.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None and match.route else "<unmatched>"


def _observe(request: HttpRequest, status: int, started: float) -> None:
    REQUEST_LATENCY.labels(request.method or "", _route(request), f"{status // 100}xx").observe(
        time.perf_counter() - started
    )


class RequestLatencyMiddleware:
    """Times every request; works in both the sync and the async stack so
    daphne does not pay a thread hop for it."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        started = time.perf_counter()
        response: HttpResponse = self.get_response(request)
        _observe(request, response.status_code, started)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response: HttpResponse = await self.get_response(request)
        _observe(request, response.status_code, started)
        return response


def _histogram_buckets(raw: dict[str, float]) -> list[tuple[str, float]]:
    """Cumulative buckets from the per-bucket counts kept in Redis."""
    buckets, running = [], 0.0
    for bound in (*(str(b) for b in taskruns.DURATION_BUCKETS), "+Inf"):
        running += raw.get(bound, 0.0)
        buckets.append((bound, running))
    return buckets


class PlatformCollector(Collector):
    """Numbers read at scrape time from Redis and PostgreSQL. A part that
    cannot be read is left out of the scrape (and logged), never faked."""

    def collect(self) -> Iterator[Any]:
        for part in (self._tasks, self._realtime, self._ledger, self._feed, self._queues, self._push):
            try:
                yield from part()
            except Exception:
                logger.warning("metrics: %s unavailable", part.__name__, exc_info=True)

    def _tasks(self) -> Iterator[Any]:
        runs = CounterMetricFamily(
            "tradevision_task_runs", "Celery task runs by task and outcome.", labels=["task", "outcome"]
        )
        for (name, outcome), value in sorted(taskruns.task_totals().items()):
            runs.add_metric([name, outcome], value)
        yield runs
        durations = HistogramMetricFamily(
            "tradevision_task_duration_seconds",
            "Celery task run time by task and outcome.",
            labels=["task", "outcome"],
        )
        for (name, outcome), raw in sorted(taskruns.task_duration_histograms().items()):
            durations.add_metric([name, outcome], _histogram_buckets(raw), sum_value=raw.get("sum", 0.0))
        yield durations

    def _realtime(self) -> Iterator[Any]:
        yield CounterMetricFamily(
            "tradevision_events_published",
            "Events written to the outbox.",
            value=selectors.events_published_total(),
        )
        yield CounterMetricFamily(
            "tradevision_events_delivered",
            "Event frames sent to WebSocket clients (live, resumed or gap-filled).",
            value=wsmetrics.ws_events_delivered(),
        )
        yield GaugeMetricFamily(
            "tradevision_websocket_connections",
            "Open WebSocket connections over all web processes.",
            value=wsmetrics.ws_connections_open(),
        )

    def _ledger(self) -> Iterator[Any]:
        drifts = GaugeMetricFamily(
            "tradevision_ledger_drift_records",
            "BalanceDrift rows recorded by the reconciliation, by kind and whether repaired.",
            labels=["kind", "repaired"],
        )
        # Every (kind, repaired) pair is exported, 0 when there is none: an
        # alert on `> 0` needs a series to exist before the first drift.
        counts = {
            (row["kind"], row["repaired"]): row["n"]
            for row in BalanceDrift.objects.order_by().values("kind", "repaired").annotate(n=Count("id"))
        }
        for kind in sorted(DriftKind.values):
            for repaired in (False, True):
                drifts.add_metric([kind, "true" if repaired else "false"], counts.get((kind, repaired), 0))
        yield drifts

    def _feed(self) -> Iterator[Any]:
        symbols = list(Instrument.objects.filter(active=True).values_list("symbol", flat=True))
        # One instant for every symbol, so the ages of one scrape compare.
        now = timezone.now()
        quotes = price_latest_many(symbols, now=now)
        age = GaugeMetricFamily(
            "tradevision_feed_tick_age_seconds", "Age of the latest price per symbol.", labels=["symbol"]
        )
        stale = GaugeMetricFamily(
            "tradevision_feed_price_stale",
            "1 when the latest price is missing or older than PRICE_STALE_AFTER.",
            labels=["symbol"],
        )
        for symbol in sorted(symbols):
            quote = quotes[symbol]
            if quote.at is not None:
                age.add_metric([symbol], (now - quote.at).total_seconds())
            stale.add_metric([symbol], 1 if quote.stale else 0)
        yield age
        yield stale

    def _queues(self) -> Iterator[Any]:
        found = selectors.queues_check()
        depth = GaugeMetricFamily(
            "tradevision_celery_queue_length", "Messages waiting per queue.", labels=["queue"]
        )
        for queue in found["queues"]:
            depth.add_metric([queue["name"]], queue["depth"])
        yield depth

    def _push(self) -> Iterator[Any]:
        totals = push_totals()
        messages = CounterMetricFamily(
            "tradevision_push_messages",
            "Web Push deliveries by outcome (sent, gone: subscription removed, retried, failed).",
            labels=["outcome"],
        )
        for outcome, value in sorted(totals["outcomes"].items()):
            messages.add_metric([outcome], value)
        yield messages
        yield GaugeMetricFamily(
            "tradevision_push_subscriptions", "Stored Web Push subscriptions.", value=totals["subscriptions"]
        )


_platform = PlatformCollector()
_registered = False
_register_lock = threading.Lock()


def metrics_exposition() -> tuple[bytes, str]:
    """The scrape body and its content type."""
    global _registered
    from prometheus_client import CONTENT_TYPE_LATEST

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_platform)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    with _register_lock:
        if not _registered:
            REGISTRY.register(_platform)
            _registered = True
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
