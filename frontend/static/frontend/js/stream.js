// The realtime client: one WebSocket to /ws/stream/ shared by every module
// of a page (ES modules are singletons per URL, so every import gets the
// same `stream`).
//
// Guarantees it keeps for the page modules:
// - Each event is delivered to listeners once, in seq order. The last seq
//   handled is kept in sessionStorage (per tab, per user), so moving from
//   one page to another neither repeats a toast nor loses what happened in
//   between: the new page resumes from the stored seq.
// - Every (re)connect asks for `/ws/stream/?since=<lastSeq>`: the server
//   sends `hello`, replays every later event in order, then `resumed`, and
//   only then live events, all inside its connect handler, so no live event
//   can overtake the replay (a `resume` frame sent after `hello` could be
//   overtaken, and the dedupe by seq would then drop the replayed ones).
//   Reconnects back off exponentially with full jitter: attempt k waits a
//   uniformly random time in [0, min(30 s, 0.5 s x 2^k)], so clients cut
//   off by one server restart spread their reconnects over the window
//   instead of arriving together (issue 12). Nothing but `hello` (a
//   connection that worked), the browser's `online` event or the user's
//   Reconnect resets the schedule: a successful REST poll does not.
// - `resync_required` (the gap is beyond the server's retention) is passed
//   on as a "resync" signal: page modules reload their state over REST.
// - It sends `ping` every heartbeat interval the server announced in
//   `hello`; a connection silent for two intervals is presumed dead and
//   replaced.
// - Subscribed ticker symbols are re-subscribed after each reconnect.
//
// Frame shapes follow docs/realtime.md (and docs/asyncapi.yaml); every
// frame is a JSON object with a `type` field.

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30000;
const DEFAULT_HEARTBEAT_S = 20;

export const Status = Object.freeze({
  CONNECTING: "connecting",
  LIVE: "live",
  OFFLINE: "offline",
});

/** The ceiling of reconnect attempt `attempt` (0-based): doubling, capped. */
export function backoffCap(attempt) {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 30));
}

/** Delay before reconnect attempt `attempt`: full jitter, uniform in
 * [0, cap]. `random` is injectable so the schedule can be tested. */
export function backoffDelay(attempt, random = Math.random) {
  return Math.floor(random() * backoffCap(attempt));
}

function storageKey(userId) {
  return `tv.stream.seq.${userId || "anon"}`;
}

class Stream {
  constructor() {
    this.userId = document.body.dataset.userId || "";
    this.socket = null;
    this.status = Status.OFFLINE;
    this.listeners = new Map();
    this.symbols = new Set();
    this.attempt = 0;
    this.reconnectTimer = null;
    this.pingTimer = null;
    this.watchdogTimer = null;
    this.heartbeatMs = DEFAULT_HEARTBEAT_S * 1000;
    this.started = false;
    this.stopped = false;
    // Connection attempts made by this page (shown to tests and the ops
    // view of a page; never reset).
    this.attempts = 0;
    this.lastSeq = this.readSeq();
    // The seq the current connection resumes from (null: starts live).
    this.since = null;
    // Live since `resumed` (or `hello` when there was nothing to resume).
    this.ready = false;
  }

  // --- public API for page modules ---------------------------------------

  /** Listen to "event" (every event), an event name such as
   * "trade.settled", "tick", "status", "resync" or "hello". Returns an
   * unsubscribe function. */
  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.listeners.get(name).delete(fn);
  }

  start() {
    if (this.started) return;
    this.started = true;
    this.stopped = false;
    window.addEventListener("online", () => this.reconnectNow());
    window.addEventListener("pagehide", () => this.stop());
    this.connect();
  }

  /** Close the socket for good (page unload) */
  stop() {
    this.stopped = true;
    this.clearTimers();
    if (this.socket) this.socket.close(1000, "page closed");
  }

  subscribe(symbols) {
    const added = symbols.filter((s) => !this.symbols.has(s));
    added.forEach((s) => this.symbols.add(s));
    if (added.length && this.isLive()) this.send({ type: "subscribe", symbols: added });
  }

  unsubscribe(symbols) {
    const removed = symbols.filter((s) => this.symbols.has(s));
    removed.forEach((s) => this.symbols.delete(s));
    if (removed.length && this.isLive()) this.send({ type: "unsubscribe", symbols: removed });
  }

  isLive() {
    return this.status === Status.LIVE;
  }

  /** Drop the current socket and connect again at once (used when the
   * network comes back, and by tests). */
  reconnectNow() {
    if (this.stopped) return;
    this.attempt = 0;
    if (this.socket) {
      this.socket.close(4000, "reconnect");
    } else {
      this.clearTimers();
      this.connect();
    }
  }

  // --- connection ---------------------------------------------------------

  url() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const query = this.since === null ? "" : `?since=${this.since}`;
    return `${scheme}//${window.location.host}/ws/stream/${query}`;
  }

  /** Where this tab stands: the last seq it handled, else (first connection
   * in this tab) the server's seq when the page was rendered, whose state
   * the page shows; anything after it is replayed. */
  resumePoint() {
    if (this.lastSeq !== null) return this.lastSeq;
    const rendered = document.body.dataset.lastSeq;
    return rendered === undefined || rendered === "" ? null : Number(rendered);
  }

  connect() {
    if (this.stopped) return;
    this.setStatus(Status.CONNECTING);
    this.ready = false;
    this.since = this.resumePoint();
    if (this.since !== null) this.lastSeq = this.since;
    let socket;
    this.attempts += 1;
    try {
      socket = new WebSocket(this.url());
    } catch (error) {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.addEventListener("message", (msg) => {
      if (socket !== this.socket) return;
      this.armWatchdog();
      this.handleFrame(msg.data);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.clearTimers();
      // Refused (logged out: 4001, bad origin: 4003): keep trying, but
      // slowly; a new login in another tab lets the next attempt in.
      if (event.code === 4001 || event.code === 4003) this.attempt = Math.max(this.attempt, 6);
      this.setStatus(this.stopped ? Status.OFFLINE : Status.CONNECTING);
      this.scheduleReconnect();
    });
    socket.addEventListener("open", () => this.armWatchdog());
    // `error` is always followed by `close`, which handles the retry.
  }

  scheduleReconnect() {
    if (this.stopped || this.reconnectTimer) return;
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    // After a few failed attempts the page shows "offline" rather than
    // "connecting", so fallbacks (polling) can announce themselves.
    if (this.attempt > 2) this.setStatus(Status.OFFLINE);
    this.reconnectTimer = window.setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  clearTimers() {
    window.clearTimeout(this.reconnectTimer);
    window.clearInterval(this.pingTimer);
    window.clearTimeout(this.watchdogTimer);
    this.reconnectTimer = this.pingTimer = this.watchdogTimer = null;
  }

  armWatchdog() {
    window.clearTimeout(this.watchdogTimer);
    this.watchdogTimer = window.setTimeout(() => {
      if (this.socket) this.socket.close(4000, "heartbeat timeout");
    }, this.heartbeatMs * 2 + 1000);
  }

  send(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.emit("status", status);
  }

  // --- frames -------------------------------------------------------------

  handleFrame(raw) {
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch (error) {
      return;
    }
    switch (frame.type) {
      case "hello":
        this.onHello(frame);
        break;
      case "event":
        this.onEvent(frame);
        break;
      case "resumed":
        this.onResumed(frame);
        break;
      case "resync_required":
        this.onResync(frame);
        break;
      case "tick":
        this.emit("tick", frame);
        break;
      case "heartbeat":
      case "ping":
        // The server closes a connection it has not heard from for three
        // heartbeat intervals; answering keeps this one open.
        this.send({ type: "pong" });
        break;
      case "pong":
      case "subscribed":
        break;
      case "error":
        // `since_ahead` is answered by the resync that onHello started.
        if (frame.code !== "since_ahead") this.emit("error", frame);
        break;
      default:
        break;
    }
  }

  onHello(frame) {
    const serverSeq = Number(frame.last_seq ?? 0);
    const interval = Number(frame.heartbeat ?? frame.heartbeat_interval ?? DEFAULT_HEARTBEAT_S);
    this.heartbeatMs = Math.max(1, interval) * 1000;
    window.clearInterval(this.pingTimer);
    this.pingTimer = window.setInterval(() => this.send({ type: "ping" }), this.heartbeatMs);
    this.armWatchdog();
    this.attempt = 0;
    this.emit("hello", frame);

    if (this.since === null) {
      // Nothing to resume from: the stream starts live at the server's seq.
      this.storeSeq(serverSeq);
      this.becomeLive();
    } else if (this.since > serverSeq) {
      // The server's log is behind what this tab saw (it was reset; the
      // server also answers `since_ahead`): start again from where it is
      // and let the page reload its state.
      this.storeSeq(serverSeq);
      this.becomeLive();
      this.emit("resync", frame);
    }
    // Otherwise the replay follows, ended by `resumed` (or `resync_required`).
  }

  becomeLive() {
    if (this.ready) return;
    this.ready = true;
    this.setStatus(Status.LIVE);
    if (this.symbols.size) this.send({ type: "subscribe", symbols: [...this.symbols] });
  }

  onResumed() {
    // The replayed events came before this frame, each with its own seq.
    this.storeSeq(this.lastSeq ?? 0);
    this.becomeLive();
  }

  onResync(frame) {
    const seq = Number(frame.last_seq ?? frame.seq ?? this.lastSeq ?? 0);
    this.storeSeq(seq);
    this.emit("resync", frame);
    this.becomeLive();
  }

  onEvent(frame) {
    const seq = Number(frame.seq);
    if (!Number.isFinite(seq)) return;
    if (this.lastSeq !== null && seq <= this.lastSeq) return; // already shown
    this.storeSeq(seq);
    this.emit("event", frame);
    this.emit(frame.event, frame);
  }

  emit(name, payload) {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(payload);
      } catch (error) {
        console.error(`stream listener for ${name} failed`, error);
      }
    }
  }

  // --- last seq in sessionStorage ------------------------------------------

  readSeq() {
    try {
      const raw = window.sessionStorage.getItem(storageKey(this.userId));
      return raw === null ? null : Number(raw);
    } catch (error) {
      return null;
    }
  }

  storeSeq(seq) {
    this.lastSeq = seq;
    try {
      window.sessionStorage.setItem(storageKey(this.userId), String(seq));
    } catch (error) {
      // Private mode without storage: the in-memory seq still dedupes.
    }
  }
}

export const stream = new Stream();
