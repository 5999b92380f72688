// Live prices shared by the page modules: the instruments, the latest price
// and the day's open of each, kept current by `tick` frames.
//
// The day's open comes from the day bar of the bars API; the change since
// the open is computed with exact decimals (money.js).

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
  if (!open || !last || dec(open.price ?? open).units === 0n) return null;
  const openPrice = open.price ?? open;
  const abs = sub(last.price, openPrice);
  return { abs, pct: div(mul(abs, "100"), openPrice, 2) };
}

function setPrice(symbol, priceText, time) {
  const previous = state.prices.get(symbol);
  state.prices.set(symbol, { price: priceText, time });
  listeners.forEach((fn) => fn(symbol, state.prices.get(symbol), previous));
}

/** Load instruments (and their latest quotes when the API gives them). */
export async function loadInstruments() {
  const list = results(await api(endpoints.instruments, { query: { limit: 200 } }));
  for (const item of list) {
    state.instruments.set(item.symbol, item);
    const quote = item.quote || item.latest || null;
    const last = (quote && quote.price) || item.price || item.last_price;
    if (last) setPrice(item.symbol, String(last), (quote && (quote.at || quote.time)) || null);
    const open = item.day_open || (quote && quote.day_open);
    if (open) state.dayOpen.set(item.symbol, String(open));
  }
  return list;
}

/** Bars of a symbol: [{ time (ISO), open, high, low, close }] oldest first. */
export async function loadBars(symbol, { interval = "1m", limit = 300 } = {}) {
  const data = await api(endpoints.bars(symbol), { query: { interval, limit } });
  const bars = results(data).map((bar) => ({
    time: bar.start || bar.time || bar.t,
    open: String(bar.open),
    high: String(bar.high),
    low: String(bar.low),
    close: String(bar.close),
  }));
  bars.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  return bars;
}

/** The day's open of each symbol from its latest day bar, if not known yet. */
export async function loadDayOpens(symbols) {
  await Promise.all(
    symbols
      .filter((symbol) => !state.dayOpen.has(symbol))
      .map(async (symbol) => {
        try {
          const bars = await loadBars(symbol, { interval: "1d", limit: 1 });
          const today = bars[bars.length - 1];
          if (today) {
            state.dayOpen.set(symbol, today.open);
            if (!state.prices.has(symbol)) setPrice(symbol, today.close, today.time);
            else listeners.forEach((fn) => fn(symbol, state.prices.get(symbol), state.prices.get(symbol)));
          }
        } catch (error) {
          // No bars yet (feed just started): the change shows once known.
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
