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

/** A sentence a person understands, from a trade, an event's data or the
 * status endpoint's `reason` ({code, message}).
 *
 * The trading service already words refusals for people ("Not enough
 * available balance for stake and fee."), so its message is preferred; a
 * failure (a system error after the last retry) carries a technical reason,
 * so it gets the plain sentence of its kind instead. */
export function plainReason(source) {
  if (!source) return "";
  const nested = source.reason && typeof source.reason === "object" ? source.reason : null;
  const code = (nested && nested.code) || source.failure_code || source.code || "";
  const message = (nested && nested.message) || source.failure_reason || (nested ? "" : source.reason) || "";
  if (source.status === "failed") return PLAIN.system_error;
  if (message && typeof message === "string") return message;
  if (code && PLAIN[code]) return PLAIN[code];
  return code ? `${code.charAt(0).toUpperCase()}${code.slice(1).replaceAll("_", " ")}.` : "";
}
