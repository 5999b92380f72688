// "Closed · opens 09:30 EST": when a closed market next opens, in the
// exchange's own zone with its abbreviation (a trader reads an exchange's
// hours in its time), with the weekday when that is not today there. The
// server writes the same words into the trade form's instrument select
// (market.selectors.instruments.market_closed_label).

function parts(date, zone, options) {
  const out = {};
  for (const part of new Intl.DateTimeFormat("en-US", { timeZone: zone, ...options }).formatToParts(date)) {
    out[part.type] = part.value;
  }
  return out;
}

/** The label of a clock ({is_open, next_open, zone}), or "" while open. */
export function closedLabel(clock, now = new Date()) {
  if (!clock || clock.is_open) return "";
  if (!clock.next_open) return "Closed";
  const zone = clock.zone || "UTC";
  const opens = new Date(clock.next_open);
  const at = parts(opens, zone, {
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });
  const today = parts(now, zone, { year: "numeric", month: "2-digit", day: "2-digit" });
  const sameDay = at.year === today.year && at.month === today.month && at.day === today.day;
  return `Closed · opens ${sameDay ? "" : `${at.weekday} `}${at.hour}:${at.minute} ${at.timeZoneName}`;
}

/** Mark the closed markets of a ticker strip (`[data-symbol]` items with a
 * `.ticker-state` line): the line reads "Closed · opens …" and the item
 * gets data-market="closed". One clock request for the whole strip. */
export async function markClosedTickers(list, { api, url }) {
  const clock = await api(url);
  for (const row of clock.instruments || []) {
    const node = list.querySelector(`[data-symbol="${CSS.escape(row.symbol)}"]`);
    if (!node) continue;
    const label = closedLabel(row);
    node.dataset.market = label ? "closed" : "open";
    const state = node.querySelector(".ticker-state");
    if (state && label) {
      state.textContent = label;
      state.setAttribute("data-testid", `market-${row.symbol}`);
    }
  }
}
