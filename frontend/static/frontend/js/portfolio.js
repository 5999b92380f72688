// The dashboard's portfolio card (frontend/partials/portfolio_card.html) and
// its equity curve. The page renders the server's figures
// (trading.portfolio.selectors); this module keeps them live:
//
// - a tick moves the open trades' P&L at the mark: unrealised = Σ (mark P&L −
//   opening fee already paid), equity = available + reserved + Σ mark P&L
//   (the opening fees already left `available`, so they are not taken twice),
//   with the server's own rule (pnl.js markPnl, as trading.pnl);
// - `wallet.balance` replaces available and reserved;
// - a trade event that changes what was realised or charged (opened,
//   settled, ended) reloads the card from GET /api/v1/portfolio/, the one
//   source of realised P&L and fees (debounced: a batch settles many at once).
//
// Until every open trade has a live price the server's marks stand.

import { createChart } from "../vendor/lightweight-charts-4.2.3.standalone.production.mjs";
import { api, results } from "./api.js";
import { onBalances } from "./balances.js";
import { flash } from "./dom.js";
import { formatChartPrice } from "./format.js";
import { endpoints } from "./endpoints.js";
import * as market from "./market.js";
import { add, direction, format, formatSigned, sub } from "./money.js";
import { markPnl } from "./pnl.js";
import { stream } from "./stream.js";
import { tradeSymbol } from "./trades.js";

const card = document.getElementById("portfolio");
const RELOAD_DELAY_MS = 250;

const state = card
  ? {
      currency: card.dataset.currency || "USD",
      available: card.dataset.available || "0",
      reserved: card.dataset.reserved || "0",
      serverUnrealised: card.dataset.unrealised || "0",
      serverOpenPnl: card.dataset.openPnl || "0",
      realisedToday: card.dataset.realisedToday || "0",
      feesToday: card.dataset.feesToday || "0",
      equity: card.dataset.equity || "0",
      openCount: null,
      stale: false,
    }
  : null;
const openTrades = new Map();
let tradesLoaded = false; // until the open trades are known the server's marks stand
let reloadTimer = null;
let curve = null;

function figure(name) {
  return card.querySelector(`[data-figure="${name}"]`);
}

function setText(node, text, cls = null) {
  if (!node) return;
  const changed = node.textContent !== text;
  node.textContent = text;
  if (cls !== null) node.className = cls;
  if (changed && node.dataset.shown) flash(node, "flash-up");
  node.dataset.shown = "1";
}

function signedText(value) {
  const dir = direction(value);
  return [`${dir.arrow} ${formatSigned(value, 2)}`, dir.cls];
}

/** Open trades' P&L at the live marks: { gross, net } or null while a mark is missing. */
function liveOpen() {
  let gross = "0";
  let net = "0";
  for (const trade of openTrades.values()) {
    const last = market.price(tradeSymbol(trade));
    const pnl = last ? markPnl(trade, last.price) : null;
    if (pnl === null) return null;
    gross = add(gross, pnl);
    net = add(net, sub(pnl, trade.fee || "0"));
  }
  return { gross, net };
}

function render() {
  let live = null;
  if (tradesLoaded) live = openTrades.size ? liveOpen() : { gross: "0", net: "0" };
  const openPnl = live ? live.gross : state.serverOpenPnl;
  const unrealised = live ? live.net : state.serverUnrealised;
  state.equity = add(add(state.available, state.reserved), openPnl);
  setText(figure("equity"), format(state.equity, 2));
  setText(figure("available"), format(state.available, 2));
  setText(figure("reserved"), format(state.reserved, 2));
  const [uText, uCls] = signedText(unrealised);
  setText(figure("unrealised"), uText, uCls);
  const [rText, rCls] = signedText(state.realisedToday);
  setText(figure("realised-today"), rText, rCls);
  setText(figure("fees-today"), format(state.feesToday, 2));
  setText(figure("open-trades"), String(state.openCount ?? openTrades.size));
  card.dataset.equity = format(state.equity, 2).replaceAll(",", "");
  if (curve) curve.today(state.equity);
}

async function reload() {
  const data = await api(endpoints.portfolio);
  Object.assign(state, {
    currency: data.currency,
    available: data.available,
    reserved: data.reserved,
    serverUnrealised: data.unrealised_pnl,
    // The server's gross open P&L: equity less the balances.
    serverOpenPnl: sub(data.equity, add(data.available, data.reserved)),
    realisedToday: data.realised_pnl_today,
    feesToday: data.fees_paid_today,
    openCount: data.open_trades,
  });
  const staleNote = document.getElementById("portfolio-stale");
  if (staleNote) staleNote.hidden = !data.marks_stale;
  render();
}

function reloadSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => reload().catch(() => {}), RELOAD_DELAY_MS);
}

async function loadOpenTrades() {
  const query = { status: "open", page_size: 200, user: document.body.dataset.userId };
  const list = results(await api(endpoints.trades, { query }));
  openTrades.clear();
  for (const trade of list) if (trade.currency === state.currency) openTrades.set(trade.id, trade);
  tradesLoaded = true;
  market.watch([...new Set(list.map(tradeSymbol))]);
  render();
}

// --- the equity curve --------------------------------------------------------

function utcDay(date = new Date()) {
  return date.toISOString().slice(0, 10);
}

class EquityCurve {
  constructor(container) {
    // Chart coordinates are the one place money becomes a JavaScript number.
    this.chart = createChart(container, {
      autoSize: true,
      layout: { background: { color: "#171d24" }, textColor: "#9aa7b4", attributionLogo: false },
      grid: { vertLines: { color: "#222b35" }, horzLines: { color: "#222b35" } },
      rightPriceScale: { borderColor: "#2b3540" },
      timeScale: { borderColor: "#2b3540" },
      // Grouped as every other amount on the page ("9,977.75", not "9977.75").
      localization: { priceFormatter: (value) => formatChartPrice(value, 2) },
    });
    this.series = this.chart.addLineSeries({
      color: "#4ea1ff",
      lineWidth: 2,
      priceFormat: { type: "price", precision: 2, minMove: 0.01 },
    });
    this.loaded = false;
    this.last = null;
  }

  set(points) {
    this.series.setData(points.map((p) => ({ time: p.day, value: Number(p.equity) })));
    this.loaded = true;
    if (this.last !== null) this.today(this.last);
    this.chart.timeScale().fitContent();
  }

  /** Today's point follows the live equity (the snapshot rewrites it hourly). */
  today(equity) {
    this.last = equity;
    if (!this.loaded) return;
    this.series.update({ time: utcDay(), value: Number(format(equity, 2).replaceAll(",", "")) });
  }
}

async function loadCurve() {
  const container = document.getElementById("equity-chart");
  if (!container) return;
  if (!curve) curve = new EquityCurve(container);
  const data = await api(endpoints.portfolioEquity, { query: { days: 30 } });
  curve.set(data.points || []);
  curve.today(state.equity);
}

// --- wiring ---------------------------------------------------------------------

if (card) {
  market.onPrice((symbol) => {
    for (const trade of openTrades.values()) {
      if (tradeSymbol(trade) === symbol) {
        render();
        return;
      }
    }
  });

  onBalances((balances) => {
    const mine = balances.find((b) => b.currency === state.currency);
    if (!mine) return;
    state.available = String(mine.available);
    state.reserved = String(mine.reserved);
    render();
  });

  stream.on("event", (frame) => {
    if (!frame.event.startsWith("trade.") || !frame.data || frame.data.id === undefined) return;
    const trade = frame.data;
    if (trade.currency && trade.currency !== state.currency) return;
    const wasOpen = openTrades.has(trade.id);
    if (trade.status === "open") {
      openTrades.set(trade.id, trade);
      market.watch([tradeSymbol(trade)]);
    } else {
      openTrades.delete(trade.id);
    }
    if (wasOpen || trade.status === "open") state.openCount = openTrades.size;
    // Opening charges a fee; settling realises P&L and the closing fee.
    if (trade.status === "open" || trade.status === "settled" || wasOpen) reloadSoon();
    render();
  });

  stream.on("resync", () => {
    loadOpenTrades().catch(() => {});
    reload().catch(() => {});
  });

  Promise.allSettled([loadOpenTrades(), loadCurve()]).then(() => render());
}


