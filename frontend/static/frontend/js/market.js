// Live prices shared by the page modules: the instruments, the latest price
// and the day's open of each, kept current by `tick` frames.
//
// The day's open is the open of today's (UTC) day bar from the bars API; the
// change since the open is computed with exact decimals (money.js).

import { api, results } from "./api.js";
import { endpoints } from "./endpoints.js";
import { dec, div, mul, sub } from "./money.js";
import { stream } from "./stream.js";

const state = {
  instruments: new Map(),
  prices: new Map(),
  dayOpen: new Map(),
};
const listeners = new Set();

export function onPrice(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function instrument(symbol) {
  return state.instruments.get(symbol);
}

export function price(symbol) {
  return state.prices.get(symbol);
}

export function dayOpen(symbol) {
  return state.dayOpen.get(symbol);
}

/** Change since the day's open: { abs, pct } as decimals, or null. */
export function changeSinceOpen(symbol) {
  const open = state.dayOpen.get(symbol);
  const last = state.prices.get(symbol);
  if (!open || !last || dec(open).units === 0n) return null;
  const abs = sub(last.price, open);
  return { abs, pct: div(mul(abs, "100"), open, 2) };
}

function setPrice(symbol, priceText, time, stale = false) {
  const previous = state.prices.get(symbol);
  state.prices.set(symbol, { price: priceText, time, stale });
  listeners.forEach((fn) => fn(symbol, state.prices.get(symbol), previous));
}

/** Load instruments (and their latest quotes when the API gives them). */
export async function loadInstruments() {
  const list = results(await api(endpoints.instruments));
  for (const item of list) {
    state.instruments.set(item.symbol, item);
    const quote = item.quote;
    if (quote && quote.price) setPrice(item.symbol, String(quote.price), quote.at, quote.stale);
  }
  return list;
}

/** Bars of a symbol: [{ time (ISO), open, high, low, close }] oldest first.
 * Without `start` the API answers its default window ending now. */
export async function loadBars(symbol, { interval = "1m", start } = {}) {
  const data = await api(endpoints.bars(symbol), { query: { interval, start } });
  const bars = (data.bars || []).map((bar) => ({
    time: bar.start,
    open: String(bar.open),
    high: String(bar.high),
    low: String(bar.low),
    close: String(bar.close),
  }));
  bars.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  return bars;
}

/** Midnight UTC of today: "the day" of the change-since-open figure. */
export function utcDayStart(now = new Date()) {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())).toISOString();
}

/** The day's open of each symbol: the open of today's (UTC) day bar. */
export async function loadDayOpens(symbols) {
  const start = utcDayStart();
  await Promise.all(
    symbols
      .filter((symbol) => !state.dayOpen.has(symbol))
      .map(async (symbol) => {
        try {
          const bars = await loadBars(symbol, { interval: "1d", start });
          const today = bars.find((bar) => Date.parse(bar.time) === Date.parse(start));
          if (!today) return; // no trade recorded today yet
          state.dayOpen.set(symbol, today.open);
          if (!state.prices.has(symbol)) setPrice(symbol, today.close, today.time);
          else listeners.forEach((fn) => fn(symbol, state.prices.get(symbol), null));
        } catch (error) {
          // Bars unavailable: the change shows once known.
        }
      }),
  );
}

stream.on("tick", (frame) => {
  if (!frame.symbol || frame.price === undefined) return;
  setPrice(frame.symbol, String(frame.price), frame.time);
});

/** Subscribe the socket to `symbols` (re-sent on every reconnect). */
export function watch(symbols) {
  stream.subscribe(symbols);
}
