// Plain words for the refusal and failure codes trades carry
// (`failure_reason` / `reason`). Unknown codes fall back to the server's
// own message, which is already written for people.

const PLAIN = {
  insufficient_funds: "Your available balance is too low for this stake.",
  market_closed: "The market for this instrument is closed right now.",
  stake_below_minimum: "The stake is below this instrument's minimum.",
  stake_above_maximum: "The stake is above this instrument's maximum.",
  stake_limits: "The stake is outside this instrument's limits.",
  stale_price: "There was no fresh price for this instrument, so nothing was traded.",
  price_stale: "There was no fresh price for this instrument, so nothing was traded.",
  no_price: "There is no price for this instrument yet.",
  instrument_inactive: "This instrument is not available for trading.",
  too_many_open_trades: "You have reached the maximum number of open trades.",
  max_open_trades: "You have reached the maximum number of open trades.",
  duration_out_of_range: "The duration is outside what this instrument allows.",
  queued_timeout: "The trade waited too long to open and was stopped; nothing was charged.",
  timeout: "The trade waited too long to open and was stopped; nothing was charged.",
  system_error: "A system error stopped the trade; nothing was charged.",
};

/** A sentence a person understands, from a trade or an event's data. */
export function plainReason(source) {
  if (!source) return "";
  const code = source.failure_code || source.reason_code || source.code || "";
  const message = source.failure_reason || source.reason || source.message || source.detail || "";
  if (code && PLAIN[code]) return PLAIN[code];
  if (message && PLAIN[message]) return PLAIN[message];
  if (message) return message.charAt(0).toUpperCase() + message.slice(1).replaceAll("_", " ");
  return code ? code.replaceAll("_", " ") : "";
}
