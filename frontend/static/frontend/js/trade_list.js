// Trades list: filters (status, instrument, side, a created-date range) and
// the sort order, kept in the page's query string (a link or a reload shows
// the same list) under the API's own parameter names, so the same query
// string drives the CSV export (/trades/export.csv); pages of 20 (the API's
// cursor pagination) with the total count of matches; and live updates: a
// trade event replaces that trade's row; a new trade appears on the first
// page when it matches (and the newest-first order shows it there). A settled
// trade's net result (P&L less both fees) comes first, coloured by itself,
// then its P&L before fees and the fees.

import { api, results } from "./api.js";
import { clear, el, formatTime } from "./dom.js";
import { endpoints, pages } from "./endpoints.js";
import { formatAmount } from "./format.js";
import { loadInstruments } from "./market.js";
import { formatSigned } from "./money.js";
import { netResult, netWords } from "./pnl.js";
import { stream } from "./stream.js";
import { STATUS_WORDS, formatPrice, tradeSymbol } from "./trades.js";

const PAGE = 20;
const form = document.getElementById("trade-filters");
const body = document.getElementById("trade-rows");
const prev = document.getElementById("trades-prev");
const next = document.getElementById("trades-next");
const pageLabel = document.getElementById("trades-page");
const countLabel = document.getElementById("trades-count");
const csvLink = document.getElementById("trades-csv");
// The form's fields, by the API's parameter names (also the page's query string).
const FIELDS = ["status", "instrument", "side", "created_after", "created_before", "ordering"];
const DEFAULT_ORDERING = "-created_at";
let pageUrl = null;
const history = [];

function chosen() {
  const values = {};
  for (const name of FIELDS) {
    const value = form.elements[name].value;
    if (value && !(name === "ordering" && value === DEFAULT_ORDERING)) values[name] = value;
  }
  return values;
}

// The days of the date filters are the reader's: the browser's zone goes with them.
const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function filters() {
  // `user` keeps a staff member's list to their own trades, as for anyone.
  return { ...chosen(), tz: ZONE, user: document.body.dataset.userId };
}

/** The form from the page's query string (a value the form does not offer is dropped). */
function fromUrl() {
  const params = new URLSearchParams(window.location.search);
  for (const name of FIELDS) {
    const field = form.elements[name];
    const value = params.get(name);
    if (value === null) continue;
    field.value = value;
    if (field.value !== value) field.value = name === "ordering" ? DEFAULT_ORDERING : "";
  }
}

/** The query string of the chosen filters, into the address bar and the CSV link. */
function toUrl() {
  const query = new URLSearchParams(chosen()).toString();
  const url = `${window.location.pathname}${query ? `?${query}` : ""}`;
  if (url !== `${window.location.pathname}${window.location.search}`) window.history.replaceState(null, "", url);
  csvLink.href = `${pages.tradesCsv}?${new URLSearchParams({ ...chosen(), tz: ZONE }).toString()}`;
}

function row(trade) {
  const result = netResult(trade);
  const words = netWords(result);
  return el(
    "tr",
    { dataset: { tradeId: String(trade.id) } },
    el("td", {}, el("a", { href: pages.trade(trade.id) }, `#${trade.id} ${tradeSymbol(trade)}`)),
    el("td", { class: `num ${words ? words.cls : ""}`, "data-testid": "net-pnl" }, words ? words.headline : "—"),
    el("td", {}, el("span", { class: `badge badge-${trade.status}` }, STATUS_WORDS[trade.status] || trade.status)),
    el("td", {}, trade.side === "sell" ? "Sell ↓" : "Buy ↑"),
    el("td", { class: "num" }, formatAmount(trade.stake, trade.currency || "")),
    el("td", { class: "num" }, formatPrice(tradeSymbol(trade), trade.entry_price)),
    el("td", { class: "num" }, formatPrice(tradeSymbol(trade), trade.exit_price)),
    el("td", { class: "num", "data-testid": "pnl" }, result ? formatSigned(result.gross, 2) : "—"),
    el("td", { class: "num", "data-testid": "fee" }, formatAmount(trade.fee)),
    el("td", {}, formatTime(trade.created_at)),
    el("td", { "data-testid": "closed-at" }, trade.closed_at ? formatTime(trade.closed_at) : "—"),
  );
}

async function load(url = pageUrl) {
  const data = await api(url || endpoints.trades, { query: url ? undefined : { ...filters(), page_size: PAGE } });
  pageUrl = url;
  const list = results(data);
  clear(body);
  if (!list.length) body.append(el("tr", { class: "empty" }, el("td", { colspan: "11" }, "No trades match.")));
  for (const trade of list) body.append(row(trade));
  next.disabled = !data.next;
  next.dataset.url = data.next || "";
  prev.disabled = history.length === 0;
  pageLabel.textContent = `Page ${history.length + 1}`;
  if (typeof data.count === "number") setCount(data.count);
}

function setCount(count) {
  countLabel.textContent = `(${count} ${count === 1 ? "trade" : "trades"})`;
  countLabel.dataset.count = String(count);
}

/** Keep the count with the live rows: a new matching trade adds one, a shown
 * row that stops matching takes one off (a trade on another page that stops
 * matching is counted again at the next load). */
function shiftCount(delta) {
  if (countLabel.dataset.count === undefined) return;
  setCount(Math.max(0, Number(countLabel.dataset.count) + delta));
}

function matches(trade) {
  const f = filters();
  // The reader's day (YYYY-MM-DD in their zone), as the API's date filters with `tz`.
  const day = trade.created_at ? new Date(trade.created_at).toLocaleDateString("en-CA", { timeZone: ZONE }) : "";
  return (
    (!f.status || trade.status === f.status) &&
    (!f.instrument || tradeSymbol(trade) === f.instrument) &&
    (!f.side || trade.side === f.side) &&
    (!f.created_after || day >= f.created_after) &&
    (!f.created_before || day <= f.created_before)
  );
}

form.addEventListener("change", () => {
  history.length = 0;
  toUrl();
  // Prices are shown at their instrument's scale, so the instruments first.
loadInstruments()
  .catch(() => {})
  .then(() => load(null));
});
form.addEventListener("submit", (event) => event.preventDefault());
prev.addEventListener("click", () => load(history.pop() || null));
next.addEventListener("click", () => {
  if (!next.dataset.url) return;
  history.push(pageUrl);
  load(next.dataset.url);
});

stream.on("event", (frame) => {
  if (!frame.event.startsWith("trade.") || !frame.data || frame.data.id === undefined) return;
  const trade = frame.data;
  const existing = body.querySelector(`tr[data-trade-id="${trade.id}"]`);
  if (existing) {
    if (matches(trade)) existing.replaceWith(row(trade));
    else {
      existing.remove();
      shiftCount(-1);
    }
  } else if (matches(trade)) {
    const shown = !history.length && !chosen().ordering;
    // New to this list: a new trade, or one that now matches (first page).
    if (shown || frame.event === "trade.queued") shiftCount(1);
    if (shown) {
      const empty = body.querySelector("tr.empty");
      if (empty) empty.remove();
      body.prepend(row(trade));
    }
  }
});
stream.on("resync", () => load());

fromUrl();
toUrl();
// Prices are shown at their instrument's scale, so the instruments first.
loadInstruments()
  .catch(() => {})
  .then(() => load(null));
