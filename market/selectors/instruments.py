"""Instruments, their market clock and the symbol lookup realtime uses."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import QuerySet

from core.errors import NotFound
from market import calendars
from market.models import Instrument

SYMBOL_CACHE_SECONDS = 30.0
INSTRUMENT_CACHE_SECONDS = 5.0


def instrument_list() -> QuerySet[Instrument]:
    """Active instruments, by symbol."""
    return Instrument.objects.filter(active=True).order_by("symbol")


def instrument_get(*, symbol: str) -> Instrument:
    """The active instrument `symbol`; raises NotFound (404) otherwise."""
    instrument = Instrument.objects.filter(symbol=symbol, active=True).first()
    if instrument is None:
        raise NotFound(f"no instrument {symbol!r}")
    return instrument


class _ActiveSymbols:
    """Process-local cache of the active symbols, refreshed every 30 s.

    Realtime asks on every ticker subscription; instruments change rarely
    (an admin edit takes at most SYMBOL_CACHE_SECONDS to be seen).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._symbols: frozenset[str] = frozenset()
        self._expires = 0.0

    def contains(self, symbol: str) -> bool:
        with self._lock:
            if time.monotonic() >= self._expires:
                self._symbols = frozenset(instrument_list().values_list("symbol", flat=True))
                self._expires = time.monotonic() + SYMBOL_CACHE_SECONDS
            return symbol in self._symbols

    def reset(self) -> None:
        with self._lock:
            self._expires = 0.0


active_symbols = _ActiveSymbols()


class _ActiveInstruments:
    """Process-local cache of the active instruments by symbol, for the
    request path (a trade request looked its instrument up on every POST).

    A symbol it does not hold is asked for (and kept if found). Cleared in
    this process by any save or delete of an instrument (signals,
    `MarketConfig.ready`); other processes see an admin edit within
    INSTRUMENT_CACHE_SECONDS. What a stale entry could let through is checked
    again with the fresh row when the trade opens (active, stake limits);
    a fee rate changed seconds before a request applies from the next one.
    The cached objects are shared: callers read them, never change them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_symbol: dict[str, Instrument] = {}
        self._expires = 0.0

    def get(self, symbol: str) -> Instrument | None:
        with self._lock:
            if time.monotonic() >= self._expires:
                self._by_symbol = {i.symbol: i for i in instrument_list()}
                self._expires = time.monotonic() + INSTRUMENT_CACHE_SECONDS
            found = self._by_symbol.get(symbol)
        if found is None:
            # Not known here: perhaps added by another process since; ask (one
            # query, as every lookup was before the cache).
            found = instrument_list().filter(symbol=symbol).first()
            if found is not None:
                with self._lock:
                    self._by_symbol[symbol] = found
        return found

    def reset(self, **_signal: object) -> None:
        with self._lock:
            self._expires = 0.0


active_instruments = _ActiveInstruments()


def instrument_active(symbol: str) -> Instrument | None:
    """The active instrument `symbol` from the process's cache, or None."""
    return active_instruments.get(symbol)


def instrument_symbol_is_active(symbol: str) -> bool:
    """The lookup registered with `realtime.registry` (synchronous: queries on a cache miss)."""
    return active_symbols.contains(symbol)


@dataclass(frozen=True, slots=True)
class MarketClock:
    symbol: str
    is_open: bool
    next_open: datetime | None
    next_close: datetime | None
    zone: str


def market_clock(*, instrument: Instrument, at: datetime) -> MarketClock:
    return MarketClock(
        symbol=instrument.symbol,
        is_open=calendars.market_is_open(instrument, at),
        next_open=calendars.next_open(instrument, at),
        next_close=calendars.next_close(instrument, at),
        zone=calendars.exchange_zone(instrument).key,
    )


def market_closed_label(*, instrument: Instrument, at: datetime) -> str | None:
    """None while the market is open, else "Closed · opens 09:30 EST": the
    next open in the exchange's own zone with its abbreviation (a trader
    reads an exchange's hours in its time), with the weekday when it is not
    the same day there ("Closed · opens Mon 09:30 EST")."""
    try:
        if calendars.market_is_open(instrument, at):
            return None
        opens = calendars.next_open(instrument, at)
    except calendars.CalendarRangeError:
        return "Closed"
    if opens is None:
        return "Closed"
    zone = calendars.exchange_zone(instrument)
    local = opens.astimezone(zone)
    day = "" if local.date() == at.astimezone(zone).date() else f"{local:%a} "
    return f"Closed · opens {day}{local:%H:%M %Z}"


CALENDAR_MAX_DAYS = 366


def market_sessions(*, instrument: Instrument, start: date, end: date) -> list[calendars.Session]:
    """Sessions whose date is in [start, end]; the caller bounds the range."""
    return calendars.sessions(instrument, start, end)
