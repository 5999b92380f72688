// Marks live figures stale: when no tick has arrived for STALE_AFTER_MS
// while something is watched, or the socket has not been live for
// STALE_AFTER_MS, every registered node gets the class `is-stale` (outlined,
// grey, a "paused" badge) and a banner says "Prices paused · last update
// 14:03:05 CET" in a polite live region, with a Reconnect button. The mark
// goes as soon as a tick arrives on a live socket.
//
// One checker per page, ticking once a second: staleness is a matter of
// time passing without events, which no event can announce.

import { el } from "./dom.js";
import { formatClock } from "./format.js";
import * as market from "./market.js";
import { stream } from "./stream.js";

export const STALE_AFTER_MS = 5000;

const nodes = new Set();
let banner = null;
let lastUpdate = null; // ms of the last price (tick or poll)
let downSince = null; // ms the socket stopped being live (null: live)
let stale = false;
let polling = false;
let started = false;

/** Mark `node` (prices, a chart, P&L figures) while the data is stale. */
export function watchStaleness(...targets) {
  targets.filter(Boolean).forEach((node) => nodes.add(node));
  if (!started) start();
  apply();
}

/** Polling keeps figures current but not live: say so in the banner. */
export function setPolling(on) {
  polling = on;
  render();
}

function start() {
  started = true;
  downSince = stream.isLive() ? null : Date.now();
  banner = el(
    "div",
    { class: "stale-banner is-clear", id: "stale-banner", "data-testid": "stale-banner" },
    // The live region exists (empty) before it is filled, so screen
    // readers announce the change.
    el("span", { class: "stale-text", role: "status", "aria-live": "polite", "data-testid": "stale-text" }),
    el("button", { type: "button", class: "secondary", "data-testid": "reconnect", hidden: true }, "Reconnect"),
  );
  banner.querySelector("button").addEventListener("click", () => stream.reconnectNow());
  document.getElementById("main").prepend(banner);
  // Any new price, from a tick or a poll, is an update.
  market.onPrice(() => {
    lastUpdate = Date.now();
    check();
  });
  stream.on("status", () => {
    if (stream.isLive()) downSince = null;
    else downSince = downSince ?? Date.now();
    check();
  });
  window.setInterval(check, 1000);
}

function check() {
  const now = Date.now();
  const socketDown = downSince !== null && now - downSince > STALE_AFTER_MS;
  const quiet = lastUpdate !== null && now - lastUpdate > STALE_AFTER_MS;
  const next = socketDown || quiet;
  if (next !== stale) {
    stale = next;
    apply();
  } else if (stale) {
    render();
  }
}

function apply() {
  for (const node of nodes) {
    node.classList.toggle("is-stale", stale);
    if (stale) node.dataset.stale = "1";
    else delete node.dataset.stale;
  }
  render();
}

function render() {
  if (!banner) return;
  const text = banner.querySelector(".stale-text");
  banner.classList.toggle("is-clear", !stale);
  banner.querySelector("button").hidden = !stale || stream.isLive();
  if (!stale) {
    if (text.textContent) text.textContent = "";
    return;
  }
  const when = lastUpdate ? `last update ${formatClock(lastUpdate)}` : "no update yet";
  const how = polling ? " · checking every few seconds" : stream.isLive() ? "" : " · reconnecting";
  const words = `Prices paused · ${when}${how}`;
  if (text.textContent !== words) text.textContent = words;
}
