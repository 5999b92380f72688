// Trades list: filters (status, instrument), pages of 20 and live updates:
// a trade event replaces that trade's row; a new trade appears on the first
// page when it matches the filters.

import { api, results } from "./api.js";
import { clear, el, formatTime } from "./dom.js";
import { endpoints, pages } from "./endpoints.js";
import { direction, format, formatSigned } from "./money.js";
import { STATUS_WORDS, tradeSymbol } from "./trades.js";
import { stream } from "./stream.js";

const PAGE = 20;
const form = document.getElementById("trade-filters");
const body = document.getElementById("trade-rows");
const prev = document.getElementById("trades-prev");
const next = document.getElementById("trades-next");
const pageLabel = document.getElementById("trades-page");
let offset = 0;

function filters() {
  return { status: form.status.value, instrument: form.instrument.value };
}

function row(trade) {
  const pnl = trade.pnl !== null && trade.pnl !== undefined ? trade.pnl : null;
  const dir = pnl !== null ? direction(pnl) : null;
  return el(
    "tr",
    { dataset: { tradeId: String(trade.id) } },
    el("td", {}, el("a", { href: pages.trade(trade.id) }, `#${trade.id} ${tradeSymbol(trade)}`)),
    el("td", {}, el("span", { class: `badge badge-${trade.status}` }, STATUS_WORDS[trade.status] || trade.status)),
    el("td", {}, trade.side === "sell" ? "Sell ↓" : "Buy ↑"),
    el("td", { class: "num" }, `${format(trade.stake, 2)} ${trade.currency || ""}`),
    el("td", { class: "num" }, trade.entry_price ?? "—"),
    el("td", { class: "num" }, trade.exit_price ?? "—"),
    el("td", { class: `num ${dir ? dir.cls : ""}` }, pnl !== null ? `${dir.arrow} ${formatSigned(pnl, 2)}` : "—"),
    el("td", {}, formatTime(trade.created_at)),
  );
}

async function load() {
  const data = await api(endpoints.trades, { query: { ...filters(), limit: PAGE, offset } });
  const list = results(data);
  clear(body);
  if (!list.length) body.append(el("tr", { class: "empty" }, el("td", { colspan: "8" }, "No trades match.")));
  for (const trade of list) body.append(row(trade));
  const total = data && data.count !== undefined ? data.count : list.length;
  prev.disabled = offset === 0;
  next.disabled = offset + PAGE >= total;
  pageLabel.textContent = total ? `${offset + 1}–${offset + list.length} of ${total}` : "";
}

function matches(trade) {
  const f = filters();
  return (!f.status || trade.status === f.status) && (!f.instrument || tradeSymbol(trade) === f.instrument);
}

form.addEventListener("change", () => {
  offset = 0;
  load();
});
form.addEventListener("submit", (event) => event.preventDefault());
prev.addEventListener("click", () => {
  offset = Math.max(0, offset - PAGE);
  load();
});
next.addEventListener("click", () => {
  offset += PAGE;
  load();
});

stream.on("event", (frame) => {
  if (!frame.event.startsWith("trade.") || !frame.data || frame.data.id === undefined) return;
  const trade = frame.data;
  const existing = body.querySelector(`tr[data-trade-id="${trade.id}"]`);
  if (existing) {
    if (matches(trade)) existing.replaceWith(row(trade));
    else existing.remove();
  } else if (offset === 0 && matches(trade)) {
    const empty = body.querySelector("tr.empty");
    if (empty) empty.remove();
    body.prepend(row(trade));
  }
});
stream.on("resync", () => load());

load();
