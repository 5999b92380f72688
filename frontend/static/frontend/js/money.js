// Exact decimal arithmetic for display: prices and money arrive from the
// server as strings and are never turned into binary floats. A value is
// { units: BigInt, scale: Number } meaning units / 10^scale.

const TEN = 10n;

function pow10(n) {
  return TEN ** BigInt(n);
}

/** Parse "123.45", "-0.5" or "7" (the API's decimal strings). */
export function dec(text) {
  if (typeof text === "object" && text !== null && "units" in text) return text;
  const s = String(text).trim();
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s);
  if (!match || (match[2] === "" && (match[3] ?? "") === "")) throw new Error(`not a decimal: ${s}`);
  const frac = match[3] ?? "";
  const units = BigInt((match[2] || "0") + frac) * (match[1] === "-" ? -1n : 1n);
  return { units, scale: frac.length };
}

function align(a, b) {
  const scale = Math.max(a.scale, b.scale);
  return [a.units * pow10(scale - a.scale), b.units * pow10(scale - b.scale), scale];
}

export function add(a, b) {
  const [x, y, scale] = align(dec(a), dec(b));
  return { units: x + y, scale };
}

export function sub(a, b) {
  const [x, y, scale] = align(dec(a), dec(b));
  return { units: x - y, scale };
}

export function mul(a, b) {
  const x = dec(a);
  const y = dec(b);
  return { units: x.units * y.units, scale: x.scale + y.scale };
}

/** Round half to even (the server's rounding) to `scale` places. */
export function round(a, scale) {
  const x = dec(a);
  if (x.scale <= scale) return { units: x.units * pow10(scale - x.scale), scale };
  const divisor = pow10(x.scale - scale);
  let q = x.units / divisor;
  const r = x.units % divisor;
  const twice = (r < 0n ? -r : r) * 2n;
  if (twice > divisor || (twice === divisor && q % 2n !== 0n)) q += x.units < 0n ? -1n : 1n;
  return { units: q, scale };
}

/** a / b rounded to `scale` places. */
export function div(a, b, scale) {
  const x = dec(a);
  const y = dec(b);
  if (y.units === 0n) throw new Error("division by zero");
  // Two extra digits, then round once.
  const extra = scale + 2;
  const numerator = x.units * pow10(extra + y.scale);
  const q = numerator / (y.units * pow10(x.scale));
  return round({ units: q, scale: extra }, scale);
}

export function sign(a) {
  const x = dec(a);
  return x.units > 0n ? 1 : x.units < 0n ? -1 : 0;
}

export function cmp(a, b) {
  const [x, y] = align(dec(a), dec(b));
  return x > y ? 1 : x < y ? -1 : 0;
}

export function max(a, b) {
  return cmp(a, b) >= 0 ? dec(a) : dec(b);
}

/** Text with exactly `scale` places (rounded half-even), "-" for negatives. */
export function format(a, scale) {
  const x = round(a, scale);
  const negative = x.units < 0n;
  const digits = (negative ? -x.units : x.units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale) || "0";
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const frac = scale ? `.${digits.slice(digits.length - scale)}` : "";
  return `${negative ? "-" : ""}${grouped}${frac}`;
}

/** Signed text such as "+1.25" / "-0.40" / "0.00". */
export function formatSigned(a, scale) {
  const s = sign(round(a, scale));
  return `${s > 0 ? "+" : ""}${format(a, scale)}`;
}

/** Arrow and word for a direction: colour is never the only signal. */
export function direction(a) {
  const s = sign(a);
  if (s > 0) return { arrow: "↑", word: "up", cls: "up" };
  if (s < 0) return { arrow: "↓", word: "down", cls: "down" };
  return { arrow: "→", word: "unchanged", cls: "flat" };
}
