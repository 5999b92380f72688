// Plans page: create a plan, list plans with their live status (plan.*
// events carry the full plan), cancel an active one.

import { ApiError, api, newIdempotencyKey, results } from "./api.js";
import { confirmInPage } from "./confirm.js";
import { clear, el, formatTime } from "./dom.js";
import { endpoints } from "./endpoints.js";
import { formatAmount } from "./format.js";
import { amount, jsonForm } from "./forms.js";
import { sub } from "./money.js";
import { toast } from "./notify.js";
import { netWords } from "./pnl.js";
import { stream } from "./stream.js";

const body = document.getElementById("plan-rows");
const actionError = document.getElementById("plan-action-error");
const plans = new Map();

const STATUS = { active: "Active", matured: "Matured", cancelled: "Cancelled" };

function planSymbol(plan) {
  return plan.symbol || (plan.instrument && plan.instrument.symbol) || plan.instrument || "";
}

function row(plan) {
  // The net result leads: realised P&L less every fee of the plan's trades.
  const realised = plan.realised_pnl ?? "0";
  const fees = plan.fees ?? "0";
  const words = netWords({ net: sub(realised, fees), gross: realised, fees });
  const cancel =
    plan.status === "active"
      ? el("button", { type: "button", class: "secondary", dataset: { cancel: String(plan.id) } }, "Cancel")
      : null;
  return el(
    "tr",
    { dataset: { planId: String(plan.id) } },
    el("td", {}, `#${plan.id} ${planSymbol(plan)} · ${(plan.strategy || "").replaceAll("_", " ")}`),
    el("td", {}, el("span", { class: `badge badge-${plan.status}` }, STATUS[plan.status] || plan.status)),
    el("td", { class: "num" }, formatAmount(plan.principal, plan.currency || "")),
    el(
      "td",
      { class: `num net-cell ${words.cls}`, "data-testid": "net-pnl" },
      words.headline,
      el("span", { class: "sub" }, words.breakdown.replace("P&L", "realised")),
    ),
    el("td", {}, formatTime(plan.ends_at)),
    el("td", {}, cancel),
  );
}

function render() {
  clear(body);
  if (!plans.size) {
    body.append(el("tr", { class: "empty" }, el("td", { colspan: "6" }, "No plans yet.")));
    return;
  }
  const sorted = [...plans.values()].sort((a, b) => b.id - a.id);
  for (const plan of sorted) body.append(row(plan));
}

async function load() {
  const list = results(await api(endpoints.plans, { query: { page_size: 200, user: document.body.dataset.userId } }));
  plans.clear();
  for (const plan of list) plans.set(plan.id, plan);
  render();
}

body.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-cancel]");
  if (!button) return;
  const id = Number(button.dataset.cancel);
  const confirmed = await confirmInPage(button, {
    message: "Cancel this plan? Its open trades close at the current price and the rest of its principal returns to your wallet.",
    yes: "Cancel the plan",
    keep: "Keep the plan",
  });
  if (!confirmed) return;
  button.disabled = true;
  actionError.hidden = true;
  try {
    const plan = await api(endpoints.planCancel(id), { method: "POST", body: {}, idempotencyKey: newIdempotencyKey() });
    if (plan && plan.id) plans.set(plan.id, plan);
    render();
  } catch (error) {
    actionError.hidden = false;
    actionError.textContent = error instanceof ApiError ? error.message : "The request failed; try again.";
    button.disabled = false;
  }
});

// The API takes an integer as a JSON number, not as text (docs/api.md); a
// value that is not plain digits goes as typed, so the answer names the field.
function wholeNumber(text) {
  return /^[0-9]{1,9}$/.test(text) ? Number(text) : text;
}

jsonForm(document.getElementById("plan-form"), {
  url: endpoints.plans,
  values: (form) => ({
    instrument: form.instrument.value,
    strategy: form.strategy.value,
    principal: amount(form, "principal", "principal"),
    trade_fraction: form.trade_fraction.value.trim(),
    term_days: wholeNumber(form.term_days.value.trim()),
  }),
  onSuccess: (plan) => {
    if (plan && plan.id) plans.set(plan.id, plan);
    render();
    toast({ title: "Plan started", kind: "success" });
  },
});

stream.on("event", (frame) => {
  if (!frame.event.startsWith("plan.") || !frame.data || frame.data.id === undefined) return;
  plans.set(frame.data.id, frame.data);
  render();
});
stream.on("resync", () => load());

load().catch(() => {
  clear(body).append(el("tr", { class: "empty" }, el("td", { colspan: "6" }, "Plans are unavailable right now.")));
});
