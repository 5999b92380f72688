// The order ticket (the trade form; its template belongs to the trading
// app). Hints for the chosen instrument (live price, stake limits, longest
// duration, market open or when it opens), stake and duration presets, the
// side's rule for the levels in words, and a preview from the server's quote
// (POST /api/v1/trades/quote/, debounced): every figure shown is the
// server's arithmetic, never computed here. Submitting (Enter or the button)
// first shows the review; a second submit places the trade with the very
// parameters reviewed. Without this script the form posts at once.

import { ApiError, api } from "./api.js";
import { el } from "./dom.js";
import * as market from "./market.js";
import { levelFromPercent } from "./levels.js";
import { closedLabel } from "./market_hours.js";
import { format } from "./money.js";

const form = document.getElementById("trade-ticket");
const select = form && form.querySelector('select[name="instrument"]');
const preview = document.getElementById("ticket-preview");
const submit = document.getElementById("ticket-submit");
const edit = document.getElementById("ticket-edit");
const QUOTE_DELAY_MS = 350;

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
  const state = clock.is_open ? "Market open" : closedLabel(clock);
  const price = last ? ` · price now ${format(last.price, Number(current.price_scale ?? 2))}` : "";
  node.textContent = `${state}${price}`;
  node.dataset.open = clock.is_open ? "1" : "0";
}

async function describe(symbol) {
  if (!symbol) return;
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

// --- what the trader typed ----------------------------------------------------

const value = (name) => {
  const input = form.querySelector(`[name="${name}"]:checked`) || form.querySelector(`[name="${name}"]`);
  return input ? input.value.trim() : "";
};

/** The form's own rule (trading.trades.forms.ungroup): commas only between
 * groups of three digits. Text in, text out: nothing is computed. */
function ungroup(text, what) {
  let out = text.trim();
  if (out.includes(",")) {
    if (!/^\d{1,3}(,\d{3})+(\.\d+)?$/.test(out)) {
      throw new FieldError(`Write the ${what} with commas only between groups of three digits, e.g. 1,000.50.`);
    }
    out = out.replaceAll(",", "");
  }
  if (out && !/^\d+(\.\d+)?$/.test(out)) throw new FieldError(`Enter the ${what} as a number, e.g. 1,000.50.`);
  return out;
}

class FieldError extends Error {}

const LEVELS = [
  ["take_profit", "take-profit"],
  ["stop_loss", "stop-loss"],
];

/** The API body of what is typed; throws {field: message} for what the
 * server would refuse as malformed, before asking it. */
function body(mark) {
  const errors = {};
  const out = { instrument: value("instrument"), side: value("side") };
  try {
    out.stake = ungroup(value("stake"), "stake");
    if (!out.stake) errors.stake = "Enter a stake.";
  } catch (error) {
    errors.stake = error.message;
  }
  const minutes = value("duration");
  if (!/^\d+$/.test(minutes) || Number(minutes) < 1) errors.duration = "Enter the duration in whole minutes.";
  else out.duration = Number(minutes) * 60;
  if (!out.instrument) errors.instrument = "Choose an instrument.";
  for (const [name, words] of LEVELS) {
    try {
      const text = ungroup(value(name), words);
      if (!text) continue;
      if (value(`${name}_unit`) !== "percent") {
        out[name] = text;
      } else if (mark) {
        const up = (name === "take_profit") === (out.side === "buy");
        out[name] = levelFromPercent(mark.price, text, up, mark.scale);
      } else {
        out[name] = null; // priced once the quote gives the mark
      }
    } catch (error) {
      errors[name] = error.message;
    }
  }
  if (Object.keys(errors).length) throw errors;
  return out;
}

// --- the preview --------------------------------------------------------------

function showErrors(errors) {
  for (const slot of form.querySelectorAll("[data-quote-error]")) {
    const message = errors[slot.dataset.quoteError] || "";
    slot.textContent = message;
    slot.hidden = !message;
    const input = form.querySelector(`[name="${CSS.escape(slot.dataset.quoteError)}"]`);
    if (input && message) input.setAttribute("aria-invalid", "true");
    else if (input) input.removeAttribute("aria-invalid");
  }
}

function money(text, currency) {
  return `${format(text, 2)} ${currency}`;
}

function levelText(outcome, currency, scale) {
  if (!outcome) return "—";
  return `at ${format(outcome.price, scale)}: P&L ${format(outcome.pnl, 2)}, net after fees ${money(outcome.net_pnl, currency)}`;
}

function render(quote) {
  const scale = Number(current && current.symbol === quote.instrument ? current.price_scale ?? 2 : 2);
  const c = quote.currency;
  const figures = {
    price: quote.price === null ? "No fresh price" : format(quote.price, scale),
    quantity: quote.quantity === null ? "—" : format(quote.quantity, 8),
    fee: money(quote.fee, c),
    closing_fee: money(quote.closing_fee, c),
    total: money(quote.total, c),
    max_loss: money(quote.max_loss, c),
    available: money(quote.available, c),
    available_after: money(quote.available_after, c),
    take_profit: levelText(quote.take_profit, c, scale),
    stop_loss: levelText(quote.stop_loss, c, scale),
  };
  for (const [name, text] of Object.entries(figures)) {
    const node = preview.querySelector(`[data-quote="${name}"]`);
    if (node) node.textContent = text;
  }
  const notes = [];
  if (!quote.market_open) notes.push(`The market is ${closedLabel({ is_open: false, next_open: quote.next_open, zone: current?.clock?.zone }).toLowerCase()}: a trade queued now is refused when it would open.`);
  if (!quote.funds_sufficient) notes.push(`Not enough buying power: this trade needs ${money(quote.total, c)}.`);
  preview.querySelector('[data-quote="status"]').textContent = notes.join(" ");
  preview.dataset.funds = quote.funds_sufficient ? "ok" : "short";
  preview.hidden = false;
}

let timer = null;
let asked = 0;
let quoted = null; // {body, quote} of the last answer that matched the form

async function requestQuote() {
  const ticket = ++asked;
  let sent;
  try {
    sent = body(null);
    if (sent.take_profit === null || sent.stop_loss === null) {
      // A percentage needs the mark: ask without the levels first.
      const bare = { ...sent };
      delete bare.take_profit;
      delete bare.stop_loss;
      const first = await api(form.dataset.quoteUrl, { method: "POST", body: bare });
      if (ticket !== asked) return null;
      if (first.price === null) throw { __all__: "No fresh price to take the percentage of; enter a price." };
      sent = body({ price: first.price, scale: Number(current?.price_scale ?? 2) });
    }
    for (const name of ["take_profit", "stop_loss"]) if (sent[name] === undefined) delete sent[name];
    const quote = await api(form.dataset.quoteUrl, { method: "POST", body: sent });
    if (ticket !== asked) return null;
    showErrors({});
    render(quote);
    quoted = { body: sent, quote };
    return quoted;
  } catch (error) {
    if (ticket !== asked) return null;
    quoted = null;
    preview.hidden = true;
    if (error instanceof ApiError) {
      const fields = error.fieldErrors();
      if (!Object.keys(fields).length) fields.__all__ = error.message;
      showErrors(fields);
    } else if (error && typeof error === "object" && !(error instanceof Error)) {
      showErrors(error);
    } else {
      showErrors({ __all__: "The preview is unavailable; check your connection." });
    }
    return null;
  }
}

function scheduleQuote() {
  clearTimeout(timer);
  timer = setTimeout(requestQuote, QUOTE_DELAY_MS);
}

// --- review, then confirm -----------------------------------------------------

let reviewing = false;

function setReviewing(on) {
  reviewing = on;
  form.dataset.state = on ? "review" : "edit";
  submit.textContent = on ? "Confirm trade" : "Review trade";
  edit.hidden = !on;
  document.getElementById("ticket-preview-title").textContent = on ? "Review your trade" : "Preview";
}

function leaveReview() {
  if (reviewing) setReviewing(false);
}

function sideRule() {
  const rule = document.getElementById("level-rule");
  if (!rule) return;
  rule.textContent =
    value("side") === "sell"
      ? "For a sell, take-profit is below the entry and stop-loss above it."
      : "For a buy, take-profit is above the entry and stop-loss below it.";
}

if (form && select) {
  setReviewing(false);
  sideRule();
  market.loadInstruments().then(showPrice).catch(() => {});
  market.onPrice((symbol) => {
    if (current && symbol === current.symbol) showPrice();
  });
  select.addEventListener("change", () => describe(select.value).catch(() => {}));
  describe(select.value).catch(() => {});

  for (const button of form.querySelectorAll("button.preset")) {
    button.addEventListener("click", () => {
      const input = form.querySelector(`[name="${button.dataset.fill}"]`);
      input.value = button.dataset.value;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }
  form.addEventListener("input", () => {
    leaveReview();
    scheduleQuote();
  });
  form.addEventListener("change", (event) => {
    if (event.target.name === "side") sideRule();
    leaveReview();
    scheduleQuote();
  });
  edit.addEventListener("click", () => {
    setReviewing(false);
    form.querySelector('[name="stake"]').focus();
  });

  form.addEventListener("submit", async (event) => {
    if (reviewing && quoted) {
      // The reviewed parameters are the ones placed: percentages go as the
      // prices the review showed, the stake as the number it quoted.
      form.querySelector('[name="stake"]').value = quoted.body.stake;
      for (const [name] of LEVELS) {
        if (quoted.body[name] !== undefined) {
          form.querySelector(`[name="${name}"]`).value = quoted.body[name];
          form.querySelector(`[name="${name}_unit"]`).value = "price";
        }
      }
      submit.disabled = true;
      return; // the browser posts the form
    }
    event.preventDefault();
    clearTimeout(timer);
    submit.disabled = true;
    const result = await requestQuote();
    submit.disabled = false;
    if (result) {
      setReviewing(true);
      submit.focus();
    }
  });
  if (value("stake")) scheduleQuote();
}
