// The one place numbers and times become text, used by every page:
// - prices at their instrument's price scale, grouped ("3,199.88"), never
//   the API's raw "3199.88000000";
// - amounts at the currency's two places with the currency after them;
// - times in the browser's local zone with the zone named ("14:03:05 CET"),
//   dates the same way everywhere ("7 Dec 2026, 14:03:05 CET").
// Prices and amounts go through money.js (exact decimals); the chart's axis
// gets a number formatter built on the same grouping.

import { format } from "./money.js";

export const AMOUNT_SCALE = 2;

/** A price at `scale` places, grouped; "—" when there is none. */
export function formatPrice(value, scale = 2) {
  if (value === null || value === undefined || value === "") return "—";
  try {
    return format(value, scale);
  } catch (error) {
    return String(value);
  }
}

/** An amount of money: "1,234.50 USD" (no currency: the number alone). */
export function formatAmount(value, currency = "") {
  const text = formatPrice(value, AMOUNT_SCALE);
  return currency && text !== "—" ? `${text} ${currency}` : text;
}

/** A chart coordinate (a float the chart hands back) with the same
 * grouping and places as formatPrice. */
export function formatChartPrice(number, scale = 2) {
  if (!Number.isFinite(number)) return "";
  return new Intl.NumberFormat("en-US", { minimumFractionDigits: scale, maximumFractionDigits: scale }).format(number);
}

// hourCycle h23: "14:03:05" in every locale, not "2:03:05 PM".
const TIME = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
  timeZoneName: "short",
});
const DATE_TIME = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
  timeZoneName: "short",
});
const AXIS_TIME = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const AXIS_DAY = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const date = value instanceof Date ? value : new Date(typeof value === "number" ? value : String(value));
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "14:03:05 CET": a time of today, local, zone named. */
export function formatClock(value) {
  const date = toDate(value);
  return date ? TIME.format(date) : "—";
}

/** "7 Dec 2026, 14:03:05 CET": every date a page shows. */
export function formatDateTime(value) {
  const date = toDate(value);
  return date ? DATE_TIME.format(date) : value ? String(value) : "—";
}

/** The chart's time axis and crosshair: local time like everything else
 * (the chart library itself would write UTC). `seconds` is a UTC epoch. */
export function formatAxisTime(seconds, withDay = false) {
  const date = new Date(seconds * 1000);
  return withDay ? `${AXIS_DAY.format(date)} ${AXIS_TIME.format(date)}` : AXIS_TIME.format(date);
}

export function formatAxisDay(seconds) {
  return AXIS_DAY.format(new Date(seconds * 1000));
}

/** Fill server-rendered `<time datetime data-format>` elements (the
 * `local_time` template filter) with the same local formatting. */
export function hydrateTimes(root = document) {
  for (const node of root.querySelectorAll("time[datetime][data-format]")) {
    const iso = node.getAttribute("datetime");
    node.textContent = node.dataset.format === "clock" ? formatClock(iso) : formatDateTime(iso);
    node.dataset.local = "1";
  }
}
