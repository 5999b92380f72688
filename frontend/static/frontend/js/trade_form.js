// Hints on the trade form (its template belongs to the trading app): for the
// chosen instrument, the live price, the stake limits, the longest duration
// and whether its market is open (or when it next opens). The server still
// checks everything; its errors are rendered beside each field.

import { api } from "./api.js";
import { el, formatTime } from "./dom.js";
import * as market from "./market.js";
import { format } from "./money.js";

const form = document.querySelector('form[action$="/trade/new/"]') || document.querySelector("form");
const select = form && form.querySelector('select[name="instrument"]');

function hintAfter(input, id) {
  let node = document.getElementById(id);
  if (!node) {
    node = el("span", { class: "hint", id, "aria-live": "polite" });
    input.after(node);
    const described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", described ? `${described} ${id}` : id);
  }
  return node;
}

/** "7 00:00:00" / "1 day, 0:00:00" / "P7DT0H" style durations → minutes. */
function durationMinutes(text) {
  if (!text) return null;
  const iso = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text);
  if (iso) return Number(iso[1] || 0) * 1440 + Number(iso[2] || 0) * 60 + Number(iso[3] || 0);
  const plain = /^(?:(\d+)\s+(?:days?,\s*)?)?(\d+):(\d+):(\d+)/.exec(text);
  if (plain) return Number(plain[1] || 0) * 1440 + Number(plain[2]) * 60 + Number(plain[3]);
  return null;
}

let current = null;

function showPrice() {
  if (!current) return;
  const node = hintAfter(select, "instrument-hint");
  const last = market.price(current.symbol);
  const clock = current.clock || {};
  const state = clock.is_open
    ? "Market open"
    : `Market closed${clock.next_open ? ` — opens ${formatTime(clock.next_open)}` : ""}`;
  const price = last ? ` · price now ${format(last.price, Number(current.price_scale ?? 2))}` : "";
  node.textContent = `${state}${price}`;
  node.dataset.open = clock.is_open ? "1" : "0";
}

async function describe(symbol) {
  const item = await api(`/api/v1/instruments/${encodeURIComponent(symbol)}/`);
  if (select.value !== symbol) return;
  current = item;
  const stake = form.querySelector('input[name="stake"]');
  if (stake) {
    hintAfter(stake, "stake-hint").textContent =
      `Between ${format(item.min_stake, 2)} and ${format(item.max_stake, 2)} ${item.quote_currency || "USD"}.`;
  }
  const duration = form.querySelector('input[name="duration"]');
  const minutes = durationMinutes(item.max_trade_duration);
  if (duration && minutes) {
    duration.max = String(minutes);
    hintAfter(duration, "duration-hint").textContent = `At most ${minutes.toLocaleString()} minutes for ${symbol}.`;
  }
  market.watch([symbol]);
  showPrice();
}

if (select) {
  market.loadInstruments().then(showPrice).catch(() => {});
  market.onPrice((symbol) => {
    if (current && symbol === current.symbol) showPrice();
  });
  select.addEventListener("change", () => describe(select.value).catch(() => {}));
  describe(select.value).catch(() => {});
}
