// Mark-to-market P&L of an open trade at a live price: the same rule as the
// server's trading.pnl (long: qty × (mark − entry), short: qty × (entry −
// mark), rounded half-to-even to the currency's 2 places, never below
// −stake), computed with exact decimals.

import { cmp, dec, mul, round, sub } from "./money.js";

export function markPnl(trade, mark, moneyScale = 2) {
  if (!trade || !trade.quantity || !trade.entry_price || mark === undefined || mark === null) return null;
  const move = trade.side === "sell" ? sub(trade.entry_price, mark) : sub(mark, trade.entry_price);
  const pnl = round(mul(trade.quantity, move), moneyScale);
  const floor = sub("0", trade.stake);
  return cmp(pnl, floor) < 0 ? dec(floor) : pnl;
}
