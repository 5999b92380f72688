// The dashboard: ticker strip with live prices and the change since the
// day's open (arrow + sign + colour, flashing on each tick), the chart of
// the selected instrument, open trades with their live net result (what
// closing at the mark would give after both fees, coloured by it, the P&L
// before fees and the fees beside it), the balances, and the recent
// notifications.
//
// While the socket is down the page polls prices, balances and open trades
// (fallback.js, as the status page does) and marks the live figures stale
// with a "Prices paused" note and a Reconnect button (staleness.js). On a
// phone the open trades table is shown as cards, each cell labelled.

import { api, results } from "./api.js";
import { onBalances, loadBalances } from "./balances.js";
import { PriceChart, bindIntervalSelect } from "./chart.js";
import { PollingFallback } from "./fallback.js";
import { formatAmount, formatPrice } from "./format.js";
import { clear, el, flash, formatTime } from "./dom.js";
import { endpoints, pages } from "./endpoints.js";
import * as market from "./market.js";
import { direction, formatSigned, sub } from "./money.js";
import { loadRecent, onRecent, recent } from "./notify.js";
import { netResult, netWords } from "./pnl.js";
import "./portfolio.js"; // the portfolio card and equity curve (its own module)
import { setPolling, watchStaleness } from "./staleness.js";
import { stream } from "./stream.js";
import { markClosedTickers } from "./market_hours.js";

const tickerList = document.getElementById("tickers");
const openBody = document.getElementById("open-trades");
const balancesNode = document.getElementById("balances");
const notesNode = document.getElementById("notifications");
const chartSymbol = document.getElementById("chart-symbol");
const intervalSelect = document.getElementById("chart-interval");

let chart = null;
let selected = null;
const openTrades = new Map();

function scaleOf(symbol) {
  const item = market.instrument(symbol);
  return item && item.price_scale !== undefined ? Number(item.price_scale) : 2;
}

// --- tickers ---------------------------------------------------------------

function renderTicker(symbol) {
  const node = tickerList.querySelector(`[data-symbol="${CSS.escape(symbol)}"]`);
  if (!node) return;
  const last = market.price(symbol);
  const priceNode = node.querySelector(".ticker-price");
  const changeNode = node.querySelector(".ticker-change");
  priceNode.textContent = last ? formatPrice(last.price, scaleOf(symbol)) : "—";
  const change = market.changeSinceOpen(symbol);
  if (change) {
    const dir = direction(change.abs);
    changeNode.className = `ticker-change ${dir.cls}`;
    changeNode.textContent = `${dir.arrow} ${formatSigned(change.abs, scaleOf(symbol))} (${formatSigned(change.pct, 2)}%)`;
    changeNode.setAttribute("aria-label", `${dir.word} ${formatSigned(change.pct, 2)} percent since the open`);
  } else {
    changeNode.className = "ticker-change flat";
    changeNode.textContent = "";
  }
}

function buildTickers(instruments) {
  clear(tickerList);
  for (const item of instruments) {
    const button = el(
      "button",
      { type: "button", class: "ticker", "aria-pressed": "false", dataset: { symbol: item.symbol } },
      el("span", { class: "ticker-symbol" }, item.symbol),
      el("span", { class: "ticker-price", "data-testid": `price-${item.symbol}` }, "—"),
      el("span", { class: "ticker-change flat" }),
      el("span", { class: "ticker-state" }, item.name || ""),
    );
    button.addEventListener("click", () => select(item.symbol));
    tickerList.append(el("li", {}, button));
    renderTicker(item.symbol);
  }
  if (!instruments.length) tickerList.append(el("li", { class: "muted" }, "No instruments."));
}

market.onPrice((symbol, now, before) => {
  renderTicker(symbol);
  const node = tickerList.querySelector(`[data-symbol="${CSS.escape(symbol)}"]`);
  if (node && before && now && before.price !== now.price) {
    const dir = direction(sub(now.price, before.price));
    flash(node, dir.cls === "down" ? "flash-down" : "flash-up");
    node.dataset.lastMove = dir.word;
  }
  if (chart && now) chart.tick(symbol, now.price, now.time);
  for (const trade of openTrades.values()) if (tradeSymbol(trade) === symbol) renderTradeRow(trade);
});

async function select(symbol) {
  selected = symbol;
  for (const node of tickerList.querySelectorAll(".ticker")) {
    node.setAttribute("aria-pressed", node.dataset.symbol === symbol ? "true" : "false");
  }
  chartSymbol.textContent = symbol;
  if (!chart) chart = new PriceChart(document.getElementById("chart"));
  try {
    await chart.show(symbol, intervalSelect.value, scaleOf(symbol));
  } catch (error) {
    chartSymbol.textContent = `${symbol} (no bars yet)`;
  }
}

// The chosen interval is remembered in this browser (every chart).
bindIntervalSelect(intervalSelect, () => selected && select(selected));

// --- open trades -------------------------------------------------------------

function tradeSymbol(trade) {
  return trade.symbol || (trade.instrument && trade.instrument.symbol) || trade.instrument;
}

function renderTradeRow(trade) {
  let row = openBody.querySelector(`tr[data-trade-id="${trade.id}"]`);
  const symbol = tradeSymbol(trade);
  const last = market.price(symbol);
  // Past its expiry it settles at the recorded expiry price, not at the mark.
  const settling = trade.expires_at && Date.parse(trade.expires_at) <= Date.now();
  const words = last && !settling ? netWords(netResult(trade, last.price)) : null;
  // data-label: the column's name, shown beside the value when the table
  // is laid out as cards on a phone.
  const cells = [
    el("td", { "data-label": "Trade" }, el("a", { href: pages.trade(trade.id) }, `#${trade.id} ${symbol}`)),
    el("td", { "data-label": "Side" }, trade.side === "sell" ? "Sell ↓" : "Buy ↑"),
    el("td", { class: "num", "data-label": "Stake" }, formatAmount(trade.stake, trade.currency)),
    el("td", { class: "num", "data-label": "Entry" }, formatPrice(trade.entry_price, scaleOf(symbol))),
    el("td", { class: "num", "data-label": "Mark" }, last ? formatPrice(last.price, scaleOf(symbol)) : "—"),
    el(
      "td",
      { class: `num net-cell ${words ? words.cls : ""}`, "data-testid": "net-pnl", "data-label": "Net if closed now" },
      words ? words.headline : settling ? "Settling…" : "—",
      words ? el("span", { class: "sub", "data-testid": "pnl" }, words.breakdown) : null,
    ),
    el("td", { "data-label": "Expires" }, formatTime(trade.expires_at)),
  ];
  const fresh = el("tr", { dataset: { tradeId: String(trade.id) } }, ...cells);
  if (row) row.replaceWith(fresh);
  else openBody.append(fresh);
  row = fresh;
}

function renderOpenTrades() {
  clear(openBody);
  if (!openTrades.size) {
    openBody.append(el("tr", { class: "empty" }, el("td", { colspan: "7" }, "No open trades.")));
    return;
  }
  for (const trade of openTrades.values()) renderTradeRow(trade);
}

async function loadOpenTrades() {
  const query = { status: "open", page_size: 200, user: document.body.dataset.userId };
  const list = results(await api(endpoints.trades, { query }));
  openTrades.clear();
  for (const trade of list) openTrades.set(trade.id, trade);
  renderOpenTrades();
  market.watch([...new Set(list.map(tradeSymbol))]);
}

stream.on("event", (frame) => {
  if (!frame.event.startsWith("trade.") || !frame.data || frame.data.id === undefined) return;
  const trade = frame.data;
  const wasShown = openTrades.has(trade.id);
  if (trade.status === "open") openTrades.set(trade.id, trade);
  else openTrades.delete(trade.id);
  if (wasShown || trade.status === "open") renderOpenTrades();
  if (trade.status === "open") market.watch([tradeSymbol(trade)]);
});
stream.on("resync", () => loadOpenTrades().catch(() => {}));

// --- balances and notifications ----------------------------------------------

onBalances((balances) => {
  // No account yet means nothing deposited: a zero balance.
  const usd = balances.find((b) => b.currency === "USD") ||
    balances[0] || { currency: "USD", available: "0", reserved: "0" };
  const available = balancesNode.querySelector('[data-balance="available"]');
  const reserved = balancesNode.querySelector('[data-balance="reserved"]');
  const before = available.textContent;
  available.textContent = formatAmount(usd.available, usd.currency);
  reserved.textContent = formatAmount(usd.reserved, usd.currency);
  if (before !== "—" && before !== available.textContent) flash(available, "flash-up");
});

function renderNotes(list) {
  clear(notesNode);
  if (!list.length) {
    notesNode.append(el("li", { class: "muted" }, "Nothing yet."));
    return;
  }
  for (const note of list.slice(0, 8)) {
    notesNode.append(
      el(
        "li",
        {},
        el("strong", {}, note.title),
        note.body ? el("span", {}, ` — ${note.body}`) : null,
        el("span", { class: "muted" }, ` · ${formatTime(note.at)}`),
      ),
    );
  }
}
onRecent(renderNotes);

// --- fallback while the socket is down -------------------------------------

async function pollAll() {
  // Instruments carry their latest quote: prices (and so the P&L) move on.
  await Promise.allSettled([market.loadInstruments(), loadBalances(), loadOpenTrades()]);
}

new PollingFallback({ poll: pollAll, everyMs: 3000, onMode: (mode) => setPolling(mode === "polling") }).start();
watchStaleness(tickerList, document.getElementById("chart"), openBody.closest("table"));

// --- start ---------------------------------------------------------------

async function start() {
  renderNotes(recent);
  loadRecent().catch(() => {});
  let instruments = [];
  try {
    instruments = await market.loadInstruments();
  } catch (error) {
    clear(tickerList).append(el("li", { class: "form-error" }, "Prices are unavailable right now."));
  }
  buildTickers(instruments);
  markClosedTickers(tickerList, { api, url: endpoints.clock }).catch(() => {});
  const symbols = instruments.map((i) => i.symbol);
  market.watch(symbols);
  market.loadDayOpens(symbols).then(() => symbols.forEach(renderTicker));
  // Chart the first instrument that has a price (a closed market may not).
  const priced = symbols.find((symbol) => market.price(symbol)) || symbols[0];
  if (priced) select(priced);
  await Promise.allSettled([loadOpenTrades(), loadBalances()]);
}

start();
