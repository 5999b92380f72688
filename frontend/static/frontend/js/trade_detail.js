// Trade detail: the fields (kept current by the trade's events), the net
// result as the headline (realised once settled; while open, what closing
// at the live mark would give after both fees), and the timeline of the
// trade's events (read from /api/v1/events/ and filtered to this trade,
// then live). Past its expiry an open trade is being settled at the expiry
// price: "Close now" is hidden and the page says so.

import { ApiError, api, newIdempotencyKey } from "./api.js";
import { confirmInPage, dismissConfirm } from "./confirm.js";
import { clear, el, formatTime } from "./dom.js";
import { endpoints } from "./endpoints.js";
import { formatAmount, formatPrice } from "./format.js";
import * as market from "./market.js";
import { formatSigned } from "./money.js";
import { netResult, netWords } from "./pnl.js";
import { plainReason } from "./reasons.js";
import { stream } from "./stream.js";
import { STATUS_WORDS, describeTradeEvent } from "./trades.js";

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
const result = document.getElementById("trade-result");
const expiredNote = document.getElementById("trade-expired");
const seen = new Set();
let trade = null;
let expiryTimer = null;

/** Open, but past its expiry: the settlement task is on its way. */
function expired(t) {
  return t && t.status === "open" && t.expires_at && Date.parse(t.expires_at) <= Date.now();
}

function watchExpiry() {
  // Re-render at the expiry instant: the button goes, the note comes.
  window.clearTimeout(expiryTimer);
  if (!trade || trade.status !== "open" || !trade.expires_at) return;
  const wait = Date.parse(trade.expires_at) - Date.now();
  if (wait > 0 && wait < 2 ** 31) expiryTimer = window.setTimeout(render, wait + 50);
}

function field(name, text) {
  const node = root.querySelector(`[data-field="${name}"]`);
  if (node) node.textContent = text === null || text === undefined || text === "" ? "—" : text;
}

function render() {
  if (!trade) return;
  statusBadge.textContent = STATUS_WORDS[trade.status] || trade.status;
  statusBadge.className = `badge badge-${trade.status}`;
  field("quantity", trade.quantity);
  const price = (value) => (value === null || value === undefined ? "" : formatPrice(value, priceScale));
  field("entry_price", price(trade.entry_price));
  field("exit_price", price(trade.exit_price));
  field("take_profit", price(trade.take_profit));
  field("stop_loss", price(trade.stop_loss));
  field("fee", trade.fee === undefined ? "" : formatAmount(trade.fee, trade.currency || ""));
  field("opened_at", formatTime(trade.opened_at));
  field("expires_at", formatTime(trade.expires_at));
  field("closed_at", trade.closed_at ? formatTime(trade.closed_at) : "");
  field("close_reason", trade.close_reason ? trade.close_reason.replaceAll("_", " ") : "");
  const reason = plainReason(trade);
  reasonNode.hidden = !reason;
  reasonNode.textContent = reason;
  const past = expired(trade);
  closeButton.hidden = trade.status !== "open" || past;
  // A question about closing is moot once the trade cannot be closed, and a
  // refusal about its old state is stale once it has a new one.
  if (closeButton.hidden) dismissConfirm(closeButton);
  if (trade.status !== shownStatus) actionError.hidden = true;
  shownStatus = trade.status;
  cancelButton.hidden = trade.status !== "queued";
  expiredNote.hidden = !past;
  expiredNote.textContent = past
    ? `This trade expired at ${formatTime(trade.expires_at)} and is being settled at the expiry price.`
    : "";
  watchExpiry();
  renderPnl();
}

let shownStatus = null;

function renderPnl() {
  if (!trade) return;
  let mark = null;
  if (trade.status !== "open") field("mark", "—"); // a closed trade has its exit price, no mark
  if (trade.status === "open") {
    const last = market.price(symbol);
    if (last) {
      mark = last.price;
      field("mark", formatPrice(last.price, priceScale));
    }
  }
  // An expired trade settles at the recorded expiry price, not at the mark.
  const outcome = expired(trade) ? null : netResult(trade, mark);
  const words = netWords(outcome, trade.currency || "");
  const gross = root.querySelector('[data-field="pnl"]');
  if (!words) {
    result.hidden = true;
    gross.textContent = "—";
    return;
  }
  result.hidden = false;
  result.className = `result ${words.cls}`;
  result.querySelector('[data-part="label"]').textContent = outcome.final ? "Net result" : "Net if closed now";
  result.querySelector('[data-part="net"]').textContent = words.headline;
  // While open, the fees are the opening fee paid and the closing fee a close would charge.
  result.querySelector('[data-part="breakdown"]').textContent = words.breakdown;
  gross.textContent = `${formatSigned(outcome.gross, 2)} ${trade.currency || ""}${outcome.final ? "" : " (unrealised)"}`;
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
    if (error instanceof ApiError && error.body.code === "expired") {
      // The server says the instant in UTC; the page says it in the reader's zone.
      actionError.textContent = `This trade expired at ${formatTime(trade.expires_at)} and is being settled at the expiry price.`;
    }
  } finally {
    button.disabled = false;
  }
}

closeButton.addEventListener("click", async () => {
  const confirmed = await confirmInPage(closeButton, {
    message: "Close this trade now at the current market price? This cannot be undone.",
    yes: "Close now",
    keep: "Keep it open",
  });
  if (confirmed) await act(closeButton, endpoints.tradeClose(tradeId));
});
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
