// Polling while the socket is down, shared by the pages that have it (the
// dashboard and the trade status page): once the stream has not been live
// for `afterMs` (or never connects), `poll()` runs every `everyMs` until
// the stream is live again or `done()` says there is nothing left to watch.
//
// Polling never touches the socket: its reconnects keep their own jittered
// back-off (stream.js), so a server coming back after a restart sees each
// client's attempts spread over the back-off window instead of one attempt
// per client per poll. While polling, the header's indicator says so.

import { Status, stream } from "./stream.js";

export class PollingFallback {
  constructor({ poll, everyMs = 2000, afterMs = 3000, done = () => false, onMode = () => {} }) {
    this.poll = poll;
    this.everyMs = everyMs;
    this.afterMs = afterMs;
    this.done = done;
    this.onMode = onMode;
    this.mode = "socket";
    this.pollTimer = null;
    this.fallbackTimer = null;
    this.unsubscribe = null;
  }

  start() {
    this.unsubscribe = stream.on("status", (status) => this.onStatus(status));
    this.onStatus(stream.status);
    return this;
  }

  get polling() {
    return this.pollTimer !== null;
  }

  setMode(mode) {
    if (this.mode === mode) return;
    this.mode = mode;
    showInHeader(mode);
    this.onMode(mode);
  }

  onStatus(status) {
    if (status === Status.LIVE) {
      window.clearTimeout(this.fallbackTimer);
      this.fallbackTimer = null;
      this.stop();
      this.setMode("socket");
      return;
    }
    if (this.mode === "socket") this.setMode("connecting");
    if (!this.fallbackTimer && !this.pollTimer && !this.done()) {
      this.fallbackTimer = window.setTimeout(() => {
        this.fallbackTimer = null;
        if (!stream.isLive()) this.begin();
      }, this.afterMs);
    }
  }

  begin() {
    if (this.pollTimer || this.done()) return;
    this.setMode("polling");
    const tick = async () => {
      this.pollTimer = window.setTimeout(tick, this.everyMs);
      try {
        await this.poll();
      } catch (error) {
        // The next tick tries again.
      }
      if (this.done()) this.stop();
    };
    tick();
  }

  /** Stop polling (the socket is back, or the watched thing is final). */
  stop() {
    window.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (this.mode === "polling") this.setMode(stream.isLive() ? "socket" : "connecting");
  }
}

const HEADER_LIVE_WORDS = { live: "Live", connecting: "Connecting…", offline: "Offline — retrying" };

/** The header indicator says "Polling" while a page polls, and goes back
 * to the stream's own state after. */
function showInHeader(mode) {
  const header = document.getElementById("conn-status");
  if (!header) return;
  if (mode === "polling") {
    header.dataset.override = "1";
    header.dataset.state = "polling";
    header.querySelector(".conn-label").textContent = "Polling";
  } else if (header.dataset.override) {
    delete header.dataset.override;
    header.dataset.state = stream.status;
    header.querySelector(".conn-label").textContent = HEADER_LIVE_WORDS[stream.status] || stream.status;
  }
}
