// The live /trade-status/ page (its template belongs to the trading app; it
// marks the section with data-trade-id, data-status and data-status-url).
//
// A stepper and a progress bar go queued → opening → open → settled; a
// refusal or failure stops them at its step with the reason in plain words.
// The page is driven by the trade's events on the WebSocket. When the
// socket is down for more than FALLBACK_AFTER_MS (or never connects), it
// polls the status endpoint every POLL_MS instead, says so in a visible
// indicator (fallback.js, shared with the dashboard; the socket keeps its
// own back-off meanwhile); once the socket is live again polling stops and the stream's resume fills in the events it missed.
// Events are listed once each (by seq); polled states move the stepper but
// are not events, so nothing is ever listed twice. A settled trade leads
// with its net result (P&L less both fees), the box coloured by it; an open
// trade past its expiry says it is being settled at the expiry price.

import { api } from "./api.js";
import { clear, el, formatTime } from "./dom.js";
import { pages } from "./endpoints.js";
import * as market from "./market.js";
import { netResult, netWords } from "./pnl.js";
import { plainReason } from "./reasons.js";
import { PollingFallback } from "./fallback.js";
import { formatAmount } from "./format.js";
import { mountTradeChart } from "./trade_chart.js";
import { setPolling, watchStaleness } from "./staleness.js";
import { stream } from "./stream.js";
import { STATUS_WORDS, describeTradeEvent, formatPrice, tradeSymbol } from "./trades.js";

const FALLBACK_AFTER_MS = 3000;
const POLL_MS = 2000;
const STEPS = ["queued", "opening", "open", "settled"];
const FINAL = new Set(["settled", "rejected", "failed", "cancelled"]);

const section = document.querySelector("[data-status-url]");

function stepIndex(trade) {
  switch (trade.status) {
    case "queued":
      return trade.attempts > 0 || trade.next_attempt_at ? 1 : 0;
    case "open":
      return 2;
    case "settled":
      return 3;
    case "rejected":
    case "failed":
      // Refused while opening (a business rule or the last retry).
      return 1;
    case "cancelled":
      return trade.attempts > 0 ? 1 : 0;
    default:
      return 0;
  }
}

class StatusPage {
  constructor(root) {
    this.root = root;
    this.tradeId = Number(root.dataset.tradeId);
    this.statusUrl = root.dataset.statusUrl;
    this.trade = { id: this.tradeId, status: root.dataset.status, attempts: 0 };
    this.mode = "socket";
    this.fallback = new PollingFallback({
      poll: () => this.poll(),
      everyMs: POLL_MS,
      afterMs: FALLBACK_AFTER_MS,
      done: () => FINAL.has(this.trade.status),
      onMode: (mode) => this.setMode(mode),
    });
    this.seen = new Set();
    this.build();
  }

  build() {
    // The server-rendered blocks are the no-script view; the live view
    // below replaces them.
    for (const node of this.root.querySelectorAll("#trade-reason, #next-attempt, dl.details")) node.hidden = true;
    const taskState = this.root.querySelector("#task-state");
    if (taskState && taskState.parentElement) taskState.parentElement.hidden = true;
    const serverLinks = this.root.querySelector('p > a[href$="/trade/new/"]');
    if (serverLinks) serverLinks.parentElement.hidden = true;
    this.modeNode = el(
      "p",
      { class: "conn-status", id: "status-mode", role: "status", "aria-live": "polite", "data-testid": "status-mode" },
      el("span", { class: "conn-dot", "aria-hidden": "true" }),
      el("span", { class: "conn-label" }),
    );
    this.stepNodes = STEPS.map((step) =>
      el("li", { class: "step", dataset: { step, state: "todo" } }, step === "opening" ? "Opening" : STATUS_WORDS[step]),
    );
    this.bar = el("span", { class: "progress-bar w-0" });
    this.message = el("div", { class: "status-box waiting", id: "status-message", "data-testid": "status-message", role: "status" });
    this.details = el("dl", { class: "details", id: "status-details", hidden: true });
    this.events = el("ol", { class: "timeline", id: "status-events", "data-testid": "status-events" });
    const live = el(
      "div",
      { class: "status-live" },
      this.modeNode,
      el("ol", { class: "stepper", "aria-label": "Progress of the trade" }, ...this.stepNodes),
      el(
        "div",
        {
          class: "progress",
          role: "progressbar",
          "aria-label": "Trade progress",
          "aria-valuemin": "0",
          "aria-valuemax": "4",
          id: "status-progress",
        },
        this.bar,
      ),
      this.message,
      this.details,
      el("h2", {}, "Activity"),
      this.events,
      el(
        "p",
        { class: "actions" },
        el("a", { href: "/" }, "Dashboard"),
        el("a", { href: pages.trade(this.tradeId) }, "Trade details"),
        el("a", { href: "/trade/new/" }, "Start another trade"),
      ),
    );
    // After the server's one-line summary of the trade (or the heading).
    const summary = this.root.querySelector("h1 + p") || this.root.querySelector("h1");
    summary.after(live);
  }

  // --- rendering -------------------------------------------------------------

  /** Open, but past its expiry: the settlement task is on its way. */
  expired() {
    const t = this.trade;
    return t.status === "open" && t.expires_at && Date.parse(t.expires_at) <= Date.now();
  }

  watchExpiry() {
    // Re-render at the expiry instant (the message changes by itself).
    window.clearTimeout(this.expiryTimer);
    const wait = Date.parse(this.trade.expires_at) - Date.now();
    if (wait > 0 && wait < 2 ** 31) this.expiryTimer = window.setTimeout(() => this.render(), wait + 50);
  }

  render() {
    const trade = this.trade;
    const index = stepIndex(trade);
    const failed = ["rejected", "failed", "cancelled"].includes(trade.status);
    this.stepNodes.forEach((node, i) => {
      let state = "todo";
      if (i < index || (i === index && trade.status === "settled")) state = "done";
      else if (i === index) state = failed ? "error" : "current";
      node.dataset.state = state;
      if (state === "current") node.setAttribute("aria-current", "step");
      else node.removeAttribute("aria-current");
    });
    this.bar.className = `progress-bar ${failed ? "w-err" : `w-${trade.status === "settled" ? 4 : index}`}`;
    this.root.querySelector("#status-progress").setAttribute("aria-valuenow", String(failed ? 4 : index));
    this.root.dataset.status = trade.status;
    // Stake + opening fee are held from the request until the trade opens or ends.
    const held = this.root.querySelector("#trade-held");
    if (held && trade.held !== undefined) {
      held.hidden = !(Number(trade.held) > 0);
      if (!held.hidden) held.textContent = ` · ${formatAmount(trade.held, trade.currency)} held (stake + fee) until it opens`;
    }

    const badge = this.root.querySelector("#trade-status");
    if (badge) {
      badge.textContent = STATUS_WORDS[trade.status] || trade.status;
      badge.className = `badge badge-${trade.status}`;
    }
    const attempts = this.root.querySelector("#attempts");
    if (attempts && trade.attempts !== undefined) attempts.textContent = String(trade.attempts);

    clear(this.message);
    this.message.className = "status-box";
    switch (trade.status) {
      case "queued":
        this.message.classList.add("waiting");
        this.message.append(el("span", { class: "spinner", "aria-hidden": "true" }), " ");
        if (index === 1) {
          this.message.append(
            `Opening — attempt ${trade.attempts} did not go through`,
            trade.next_attempt_at ? `; next try at ${formatTime(trade.next_attempt_at)}.` : "; retrying.",
          );
        } else {
          this.message.append("Queued — waiting for a worker to open your trade…");
        }
        break;
      case "open":
        if (this.expired()) {
          this.message.classList.add("waiting");
          this.message.append(
            el("span", { class: "spinner", "aria-hidden": "true" }),
            " ",
            el("strong", {}, `Expired at ${formatTime(trade.expires_at)}.`),
            " Your trade is being settled at the expiry price.",
          );
          break;
        }
        this.message.classList.add("success");
        this.message.append(el("strong", {}, "✓ Your trade is open."), " It settles at expiry or when you close it.");
        this.watchExpiry();
        break;
      case "settled": {
        const words = netWords(netResult(trade), trade.currency || "");
        // Coloured by the net result: a gain before fees can be a loss after them.
        this.message.classList.add(words && words.cls === "down" ? "loss" : "success");
        this.message.append(el("strong", {}, "✓ Settled."));
        if (words) {
          this.message.append(
            " Net result ",
            el("strong", { class: words.cls, "data-testid": "net-result" }, words.headline),
            el("span", { class: "muted" }, ` (${words.breakdown}).`),
          );
        }
        break;
      }
      case "rejected":
        this.message.classList.add("error");
        this.message.append(
          el("strong", {}, "✕ The trade was refused. "),
          el("span", { "data-testid": "reason" }, plainReason(trade)),
          " Nothing was charged; what was held for it is available again.",
        );
        break;
      case "failed":
        this.message.classList.add("error");
        this.message.append(
          el("strong", {}, "✕ The trade failed. "),
          el("span", { "data-testid": "reason" }, plainReason(trade)),
          " Nothing was charged; what was held for it is available again.",
        );
        break;
      case "cancelled":
        this.message.classList.add("error");
        this.message.append(el("strong", {}, "✕ Cancelled."), " Nothing was charged; what was held for it is available again.");
        break;
      default:
        this.message.append(trade.status || "");
    }
    this.renderDetails();
  }

  renderDetails() {
    const trade = this.trade;
    if (!trade.entry_price || !["open", "settled"].includes(trade.status)) {
      this.details.hidden = true;
      return;
    }
    const symbol = tradeSymbol(trade);
    const price = (value) => formatPrice(symbol, value);
    const rows = [
      ["Instrument", `${symbol} ${trade.side === "sell" ? "Sell ↓" : "Buy ↑"}`],
      ["Stake", formatAmount(trade.stake, trade.currency)],
      ["Entry price", price(trade.entry_price)],
      ["Quantity", trade.quantity],
      ["Fees", formatAmount(trade.fee ?? "0", trade.currency)],
      ["Expires", formatTime(trade.expires_at)],
    ];
    if (trade.status === "open" && !this.expired()) {
      // Live P&L: dimmed with the page's "Prices paused" note when stale.
      watchStaleness(this.details);
      const last = market.price(symbol);
      const words = last ? netWords(netResult(trade, last.price), trade.currency || "") : null;
      if (words) rows.push(["Net if closed now", `${words.headline} (${words.breakdown})`, words.cls]);
    } else if (trade.status === "settled") {
      const words = netWords(netResult(trade), trade.currency || "");
      if (words) rows.push(["Net result", `${words.headline} (${words.breakdown})`, words.cls]);
      rows.push(["Exit price", price(trade.exit_price)], ["Closed", formatTime(trade.closed_at)]);
    }
    clear(this.details);
    for (const [label, value, cls] of rows) {
      this.details.append(el("dt", {}, label), el("dd", cls ? { class: cls } : {}, value ?? "—"));
    }
    this.details.hidden = false;
  }

  addEvent(frame) {
    if (this.seen.has(frame.seq)) return;
    this.seen.add(frame.seq);
    this.events.append(
      el(
        "li",
        { dataset: { seq: String(frame.seq), event: frame.event } },
        el("strong", {}, describeTradeEvent(frame)),
        " ",
        el("span", { class: "muted" }, formatTime(frame.time)),
      ),
    );
  }

  setMode(mode) {
    this.mode = mode;
    const words = {
      socket: "Live updates (WebSocket)",
      connecting: "Connecting to live updates…",
      polling: "Connection lost — checking every 2 s",
    };
    this.modeNode.dataset.mode = mode;
    this.modeNode.dataset.state = mode === "socket" ? "live" : mode === "polling" ? "polling" : "connecting";
    this.modeNode.querySelector(".conn-label").textContent = words[mode];
    setPolling(mode === "polling");
  }

  // --- inputs ------------------------------------------------------------------

  apply(update) {
    // Events, polls and the REST load can arrive out of order: never go
    // back to an older version of the trade.
    const older = update.updated_at && this.trade.updated_at && Date.parse(update.updated_at) < Date.parse(this.trade.updated_at);
    if (older) return;
    this.trade = { ...this.trade, ...update };
    this.render();
    if (FINAL.has(this.trade.status)) this.stopPolling();
  }

  stopPolling() {
    this.fallback.stop();
  }

  async poll() {
    try {
      const data = await api(this.statusUrl, { query: { trade_id: this.tradeId } });
      const taskState = this.root.querySelector("#task-state");
      if (taskState && data.task_state) taskState.textContent = data.task_state;
      const update = {
        status: data.status,
        attempts: data.attempts,
        next_attempt_at: data.next_attempt_at,
        ...(data.trade || {}),
      };
      if (data.reason) {
        update.failure_code = data.reason.code;
        update.failure_reason = data.reason.message;
      }
      this.apply(update);
    } catch (error) {
      // 404 once the session stopped tracking a final trade: the last state
      // shown is final already; other errors: try again on the next tick.
      if (error && error.status === 404) this.stopPolling();
    }
  }

  start() {
    stream.on("event", (frame) => {
      if (!frame.event.startsWith("trade.") || !frame.data || Number(frame.data.id) !== this.tradeId) return;
      this.addEvent(frame);
      this.apply(frame.data);
    });
    market.onPrice((symbol) => {
      if (this.trade.status === "open" && symbol === tradeSymbol(this.trade)) this.renderDetails();
    });
    this.render();
    this.fallback.start();
    mountTradeChart({ tradeId: this.tradeId, place: (card) => this.root.after(card) });
    market.loadInstruments().then(() => this.render()).catch(() => {});
    // The trade's full current state from the server, without polling: the
    // REST trade (same shape as the events' data).
    api(`/api/v1/trades/${this.tradeId}/`)
      .then((trade) => {
        this.apply(trade);
        if (trade.status === "open" || trade.status === "queued") market.watch([tradeSymbol(trade)]);
      })
      .catch(() => {});
  }
}

if (section && section.dataset.tradeId) new StatusPage(section).start();
