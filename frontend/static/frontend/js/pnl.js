// Mark-to-market P&L of an open trade at a live price: the same rule as the
// server's trading.pnl (long: qty × (mark − entry), short: qty × (entry −
// mark), rounded half-to-even to the currency's 2 places, never below
// −stake), computed with exact decimals. And the net result every page
// leads with: P&L minus every fee.

import { add, cmp, dec, direction, formatSigned, format, mul, round, sub } from "./money.js";

export function markPnl(trade, mark, moneyScale = 2) {
  if (!trade || !trade.quantity || !trade.entry_price || mark === undefined || mark === null) return null;
  const move = trade.side === "sell" ? sub(trade.entry_price, mark) : sub(mark, trade.entry_price);
  const pnl = round(mul(trade.quantity, move), moneyScale);
  const floor = sub("0", trade.stake);
  return cmp(pnl, floor) < 0 ? dec(floor) : pnl;
}

function present(value) {
  return value !== null && value !== undefined && value !== "";
}

/**
 * The net result of a trade and what it is made of, in exact decimals:
 * - settled: the server's `net_pnl` (P&L minus the opening and closing fees;
 *   for an event stored before that field existed, `pnl − fee`), the gross
 *   `pnl` and the fees;
 * - open, at a `mark`: what closing now would give: the mark P&L less the
 *   opening fee paid (`fee` while open) and the closing fee a close would
 *   charge, which is the same rate on the same stake (the opening fee
 *   again), capped at what the trade still holds (stake + P&L), as the
 *   server's trading.pnl.closing_fee;
 * - otherwise null.
 * `final` says whether it is realised.
 */
export function netResult(trade, mark = null, moneyScale = 2) {
  if (!trade) return null;
  if (trade.status === "settled" && present(trade.pnl)) {
    const fees = dec(present(trade.fee) ? trade.fee : "0");
    const net = present(trade.net_pnl) ? dec(trade.net_pnl) : sub(trade.pnl, fees);
    return { net, gross: dec(trade.pnl), fees, final: true };
  }
  if (trade.status === "open") {
    const gross = markPnl(trade, mark, moneyScale);
    if (gross === null) return null;
    const opening = dec(present(trade.fee) ? trade.fee : "0");
    const holds = add(trade.stake, gross);
    const closing = cmp(opening, holds) > 0 ? holds : opening;
    const fees = add(opening, closing);
    return { net: sub(gross, fees), gross, fees, final: false };
  }
  return null;
}

/**
 * Words for a net result: `headline` ("↓ -0.17 USD", the arrow so colour is
 * never the only signal), `breakdown` ("P&L +0.03 · fees 0.20") and `cls`
 * (up / down / flat: the colour, by the net).
 */
export function netWords(result, currency = "") {
  if (!result) return null;
  const dir = direction(round(result.net, 2));
  const unit = currency ? ` ${currency}` : "";
  return {
    headline: `${dir.arrow} ${formatSigned(result.net, 2)}${unit}`,
    breakdown: `P&L ${formatSigned(result.gross, 2)} · fees ${format(result.fees, 2)}`,
    cls: dir.cls,
    word: dir.word,
  };
}
