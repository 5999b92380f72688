// Shared trade helpers of the trade pages: words for statuses and events.

import { instrument } from "./market.js";

import { netResult, netWords } from "./pnl.js";
import { plainReason } from "./reasons.js";
import { formatTime } from "./dom.js";
import { formatAmount, formatPrice as formatPriceAt } from "./format.js";

export const STATUS_WORDS = {
  queued: "Queued",
  open: "Open",
  settled: "Settled",
  rejected: "Refused",
  failed: "Failed",
  cancelled: "Cancelled",
};

export function tradeSymbol(trade) {
  return trade.symbol || (trade.instrument && trade.instrument.symbol) || trade.instrument || "";
}

/** A price at its instrument's scale (when the instrument is loaded). */
export function formatPrice(symbol, value) {
  if (value === null || value === undefined || value === "") return "—";
  const item = instrument(symbol);
  // Unknown instrument (not loaded yet): two places rather than the API's
  // eight-place string.
  return formatPriceAt(value, item ? Number(item.price_scale) : 2);
}

/** One line of the timeline for a trade event. */
export function describeTradeEvent(frame) {
  const t = frame.data || {};
  switch (frame.event) {
    case "trade.queued":
      return `Queued: ${t.side || ""} ${tradeSymbol(t)} for ${t.stake ? formatAmount(t.stake, t.currency || "") : "?"}`;
    case "trade.retrying":
      return `Opening, attempt ${t.attempts ?? "?"}${t.next_attempt_at ? `; next try at ${formatTime(t.next_attempt_at)}` : ""}`;
    case "trade.opened":
      return `Opened at ${formatPrice(tradeSymbol(t), t.entry_price)} (quantity ${t.quantity ?? "?"})`;
    case "trade.rejected":
      return `Refused: ${plainReason(t)}`;
    case "trade.failed":
      return `Failed: ${plainReason(t)}`;
    case "trade.cancelled":
      return "Cancelled";
    case "trade.settled": {
      // The net result first (P&L less both fees), then what it is made of.
      const words = netWords(netResult(t), t.currency || "");
      const result = words ? `net ${words.headline} (${words.breakdown})` : "net ?";
      return `Settled at ${formatPrice(tradeSymbol(t), t.exit_price)}: ${result}${t.close_reason ? `, ${t.close_reason.replaceAll("_", " ")}` : ""}`;
    }
    default:
      return frame.event;
  }
}
