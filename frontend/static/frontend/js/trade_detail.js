// Trade detail: the fields (kept current by the trade's events), the live
// mark-to-market P&L while open, and the timeline of the trade's events
// (read from /api/v1/events/ and filtered to this trade, then live).

import { clear, el, formatTime } from "./dom.js";
import { endpoints } from "./endpoints.js";
import * as market from "./market.js";
import { direction, format, formatSigned } from "./money.js";
import { markPnl } from "./pnl.js";
import { plainReason } from "./reasons.js";
import { STATUS_WORDS, describeTradeEvent } from "./trades.js";
import { ApiError, api, newIdempotencyKey } from "./api.js";
import { stream } from "./stream.js";

const root = document.getElementById("trade-detail");
const tradeId = Number(root.dataset.tradeId);
const symbol = root.dataset.symbol;
const priceScale = Number(root.dataset.priceScale || 2);
const timeline = document.getElementById("timeline");
const statusBadge = document.getElementById("trade-status");
const reasonNode = document.getElementById("trade-reason");
const closeButton = document.getElementById("trade-close");
const cancelButton = document.getElementById("trade-cancel");
const actionError = document.getElementById("trade-action-error");
const seen = new Set();
let trade = null;

function field(name, text) {
  const node = root.querySelector(`[data-field="${name}"]`);
  if (node) node.textContent = text === null || text === undefined || text === "" ? "—" : text;
}

function render() {
  if (!trade) return;
  statusBadge.textContent = STATUS_WORDS[trade.status] || trade.status;
  statusBadge.className = `badge badge-${trade.status}`;
  field("quantity", trade.quantity);
  const price = (value) => (value === null || value === undefined ? "" : format(value, priceScale));
  field("entry_price", price(trade.entry_price));
  field("exit_price", price(trade.exit_price));
  field("take_profit", price(trade.take_profit));
  field("stop_loss", price(trade.stop_loss));
  field("fee", trade.fee);
  field("opened_at", formatTime(trade.opened_at));
  field("expires_at", formatTime(trade.expires_at));
  field("closed_at", trade.closed_at ? formatTime(trade.closed_at) : "");
  field("close_reason", trade.close_reason ? trade.close_reason.replaceAll("_", " ") : "");
  const reason = plainReason(trade);
  reasonNode.hidden = !reason;
  reasonNode.textContent = reason;
  closeButton.hidden = trade.status !== "open";
  cancelButton.hidden = trade.status !== "queued";
  renderPnl();
}

function renderPnl() {
  const node = root.querySelector('[data-field="pnl"]');
  if (!trade || !node) return;
  let pnl = null;
  if (trade.status === "settled") pnl = trade.pnl;
  else if (trade.status === "open") {
    const last = market.price(symbol);
    if (last) {
      field("mark", format(last.price, priceScale));
      pnl = markPnl(trade, last.price);
    }
  }
  if (pnl === null || pnl === undefined) {
    node.textContent = "—";
    node.className = "";
    return;
  }
  const dir = direction(pnl);
  node.className = dir.cls;
  node.textContent = `${dir.arrow} ${formatSigned(pnl, 2)} ${trade.currency || ""}${trade.status === "open" ? " (unrealised)" : ""}`;
}

function addToTimeline(frame) {
  if (seen.has(frame.seq)) return;
  seen.add(frame.seq);
  const placeholder = timeline.querySelector("li.muted");
  if (placeholder) placeholder.remove();
  timeline.append(
    el(
      "li",
      { dataset: { seq: String(frame.seq), event: frame.event } },
      el("strong", {}, describeTradeEvent(frame)),
      el("br"),
      el("span", { class: "muted" }, formatTime(frame.time)),
    ),
  );
}

function isThisTrade(frame) {
  return frame.event && frame.event.startsWith("trade.") && frame.data && Number(frame.data.id) === tradeId;
}

async function loadTimeline() {
  // Walk the user's retained events once (pages of 500); any trade's events
  // are among them. A pruned log (410) leaves the timeline to live events.
  let since = 0;
  const frames = [];
  for (let page = 0; page < 20; page += 1) {
    const data = await api(endpoints.events, { query: { since, limit: 500 } });
    frames.push(...(data.events || []).filter(isThisTrade));
    if (!data.has_more) break;
    since = data.next_since;
  }
  clear(timeline);
  seen.clear();
  frames.forEach(addToTimeline);
  if (!frames.length) timeline.append(el("li", { class: "muted" }, "No events retained for this trade."));
}

async function loadTrade() {
  trade = await api(endpoints.trade(tradeId));
  render();
}

async function act(button, url) {
  button.disabled = true;
  actionError.hidden = true;
  try {
    trade = await api(url, { method: "POST", body: {}, idempotencyKey: newIdempotencyKey() });
    render();
  } catch (error) {
    actionError.hidden = false;
    actionError.textContent = error instanceof ApiError ? error.message : "The request failed; try again.";
  } finally {
    button.disabled = false;
  }
}

closeButton.addEventListener("click", () => act(closeButton, endpoints.tradeClose(tradeId)));
cancelButton.addEventListener("click", () => act(cancelButton, endpoints.tradeCancel(tradeId)));

stream.on("event", (frame) => {
  if (!isThisTrade(frame)) return;
  trade = { ...(trade || {}), ...frame.data };
  render();
  addToTimeline(frame);
});
stream.on("resync", () => Promise.allSettled([loadTrade(), loadTimeline()]));
market.onPrice((changed) => {
  if (changed === symbol) renderPnl();
});
market.watch([symbol]);

// Instruments first: timeline prices are written at their instrument's scale.
market
  .loadInstruments()
  .catch(() => {})
  .then(() => Promise.allSettled([loadTrade(), loadTimeline()]));
