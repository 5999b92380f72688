// Notifications: in-app toasts for the events a user must not miss, and the
// browser's Notification API when the tab is hidden and the user allowed
// it. Each channel can be turned off in the notification settings; the
// choices are rendered into <body data-notify-*> by the base template.

import { api } from "./api.js";
import { el } from "./dom.js";
import { formatAmount } from "./format.js";
import { sub } from "./money.js";
import { netResult, netWords } from "./pnl.js";
import { plainReason } from "./reasons.js";

const TOAST_MS = 8000;

function pref(name) {
  return document.body.dataset[name] !== "0";
}

export function toast({ title, body = "", kind = "info", href = null }) {
  const region = document.getElementById("toasts");
  if (!region) return null;
  const close = el("button", { class: "link-button toast-close", type: "button", "aria-label": "Dismiss" }, "✕");
  const node = el(
    "div",
    { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status", dataset: { kind } },
    close,
    el("span", { class: "toast-title" }, title),
    body ? el("span", { class: "toast-body" }, body) : null,
    href ? el("a", { href, class: "toast-link" }, " View") : null,
  );
  close.addEventListener("click", () => node.remove());
  region.append(node);
  window.setTimeout(() => node.remove(), TOAST_MS);
  return node;
}

function browserNotify(title, body) {
  if (!pref("notifyBrowser") || !("Notification" in window)) return;
  if (!document.hidden || Notification.permission !== "granted") return;
  try {
    new Notification(title, { body, tag: `tv-${title}` });
  } catch (error) {
    // Some mobile browsers only allow notifications from a service worker.
  }
}

function money(value, currency = "USD") {
  if (value === undefined || value === null || value === "") return "";
  try {
    return formatAmount(value, currency);
  } catch (error) {
    return `${value} ${currency}`;
  }
}

function tradeLabel(trade) {
  const side = trade.side ? `${trade.side} ` : "";
  return `${side}${trade.symbol || trade.instrument || "trade"}`.trim();
}

/** The message for each notifying event, or null for the others. */
export function describe(frame) {
  const data = frame.data || {};
  const detail = data.id ? `/trades/${data.id}/` : null;
  switch (frame.event) {
    case "trade.settled": {
      // The net result (P&L less both fees) is the message; its colour too.
      const words = netWords(netResult({ ...data, status: "settled" }), data.currency || "USD");
      return {
        title: `Trade settled: ${tradeLabel(data)}`,
        body: words ? `Net result ${words.headline} (${words.breakdown})` : "",
        kind: !words ? "info" : words.cls === "up" ? "success" : words.cls === "down" ? "loss" : "info",
        href: detail,
      };
    }
    case "trade.rejected":
      return { title: `Trade refused: ${tradeLabel(data)}`, body: plainReason(data), kind: "error", href: detail };
    case "trade.failed":
      return { title: `Trade failed: ${tradeLabel(data)}`, body: plainReason(data), kind: "error", href: detail };
    case "plan.matured": {
      // The same event ends a plan cancelled early by its owner.
      const what = data.status === "cancelled" ? "Plan cancelled" : "Plan matured";
      const label = [data.instrument, (data.strategy || "").replaceAll("_", " ")].filter(Boolean).join(" · ");
      const parts = [];
      let kind = "success";
      if (data.realised_pnl !== undefined && data.realised_pnl !== null && data.fees !== undefined && data.fees !== null) {
        // The plan's net result: realised P&L less every fee of its trades.
        const words = netWords({ net: sub(data.realised_pnl, data.fees), gross: data.realised_pnl, fees: data.fees }, data.currency || "USD");
        parts.push(`Net result ${words.headline} (${words.breakdown.replace("P&L", "realised")}).`);
        kind = words.cls === "down" ? "loss" : words.cls === "up" ? "success" : "info";
      }
      if (data.returned !== undefined && data.returned !== null) parts.push(`Returned ${money(data.returned, data.currency)}.`);
      return {
        title: `${what}${label ? `: ${label}` : ""}`,
        body: parts.join(" "),
        kind,
        href: "/plans/",
      };
    }
    case "notification":
      return {
        title: data.title || "Notification",
        body: data.body || "",
        kind: { success: "success", warning: "warn", error: "error" }[data.level] || "info",
      };
    default:
      return null;
  }
}

/** Recent notifications of this tab, newest first (the dashboard lists them). */
export const recent = [];
const recentListeners = new Set();

export function onRecent(fn) {
  recentListeners.add(fn);
}

function remember(frame, message) {
  if (recent.some((item) => item.seq === frame.seq)) return;
  recent.push({ ...message, at: frame.time || new Date().toISOString(), seq: frame.seq });
  recent.sort((a, b) => b.seq - a.seq);
  recent.splice(20);
  recentListeners.forEach((fn) => fn(recent));
}

/** Fill `recent` from the last 200 stored events (no toasts for them). */
export async function loadRecent() {
  const last = Number(document.body.dataset.lastSeq || 0);
  if (!last) return recent;
  const data = await api("/api/v1/events/", { query: { since: Math.max(0, last - 200), limit: 200 } });
  for (const frame of data.events || []) {
    const message = describe(frame);
    if (message) remember(frame, message);
  }
  return recent;
}

export function installNotifications(stream) {
  stream.on("event", (frame) => {
    const message = describe(frame);
    if (!message) return;
    remember(frame, message);
    if (pref("notifyInApp")) toast(message);
    browserNotify(message.title, message.body);
  });
}
