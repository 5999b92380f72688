// A take-profit or stop-loss typed as a percentage, turned into the price
// the ticket reviews and submits: `percent` % from `price` (the server's
// quoted mark) above or below it, rounded half to even to the instrument's
// price scale, exactly as the server's
// trading.trades.quotes.trade_level_from_percent (exact BigInt decimals,
// never floats; a test holds the two equal).

import { dec, format, mul, round } from "./money.js";

export function levelFromPercent(price, percent, up, scale) {
  const p = dec(percent);
  const hundred = 100n * 10n ** BigInt(p.scale);
  const factor = { units: up ? hundred + p.units : hundred - p.units, scale: p.scale };
  const product = mul(price, factor); // price × (100 ± p)
  // ÷ 100 is exact (two more places), then one rounding to the price scale.
  const level = round({ units: product.units, scale: product.scale + 2 }, scale);
  return format(level, scale).replaceAll(",", "");
}
