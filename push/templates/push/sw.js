// TradeVision service worker (scope "/"). CONFIG is prepended by the view
// (push/views.py): the deploy's version, the files to precache, the offline
// page. docs/push.md explains each behaviour.

const STATIC_CACHE = `tv-static-${CONFIG.version}`;
// The last balances and open trades the pages loaded: not versioned (a
// deploy must not forget them), cleared on logout.
const DATA_CACHE = "tv-data";
const LAST_BALANCES = "/__tv/last/balances";
const LAST_OPEN_TRADES = "/__tv/last/open-trades";
const LIVE_ANSWER_MS = 500;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(STATIC_CACHE).then((cache) => cache.addAll(CONFIG.precache)).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  // Every other version's cache goes: a deploy never leaves a stale app.
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(names.filter((n) => n.startsWith("tv-static-") && n !== STATIC_CACHE).map((n) => caches.delete(n))),
      )
      .then(() => self.clients.claim()),
  );
});

function clearData() {
  return caches.delete(DATA_CACHE);
}

async function remember(key, response) {
  // Only a complete, successful JSON answer replaces what was saved.
  if (!response.ok) return;
  const body = await response.clone().text();
  const cache = await caches.open(DATA_CACHE);
  await cache.put(
    key,
    new Response(body, { headers: { "Content-Type": "application/json", "X-Saved-At": new Date().toISOString() } }),
  );
}

async function networkFirstPage(request) {
  try {
    return await fetch(request);
  } catch (error) {
    const cache = await caches.open(STATIC_CACHE);
    const offline = await cache.match(CONFIG.offline);
    // Never a blank page: the offline shell, or a minimal one if even that is missing.
    return (
      offline ||
      new Response("<!doctype html><title>Offline</title><p>TradeVision is offline.</p>", {
        headers: { "Content-Type": "text/html; charset=utf-8" },
      })
    );
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === "/accounts/logout/") {
    // Another user may log in on this device next: forget the last values.
    event.waitUntil(clearData());
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    if (url.pathname === "/accounts/login/") event.waitUntil(clearData());
    event.respondWith(networkFirstPage(request));
    return;
  }
  if (url.pathname === "/api/v1/wallets/" && !url.search) {
    event.respondWith(
      fetch(request).then((response) => {
        event.waitUntil(remember(LAST_BALANCES, response));
        return response;
      }),
    );
    return;
  }
  if (url.pathname === "/api/v1/trades/" && url.searchParams.get("status") === "open" && !url.searchParams.get("offset")) {
    event.respondWith(
      fetch(request).then((response) => {
        event.waitUntil(remember(LAST_OPEN_TRADES, response));
        return response;
      }),
    );
    return;
  }
  if (CONFIG.precache.includes(url.pathname)) {
    event.respondWith(
      caches.open(STATIC_CACHE).then((cache) => cache.match(request).then((hit) => hit || fetch(request))),
    );
  }
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "tv-clear-data") event.waitUntil(clearData());
});

/** True when a visible page of the site says its socket is live: that page
 * got this event on the socket and shows it itself (no second notice). */
async function liveVisiblePage() {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const visible = windows.filter((client) => client.visibilityState === "visible");
  const answers = visible.map(
    (client) =>
      new Promise((resolve) => {
        const channel = new MessageChannel();
        const timer = setTimeout(() => resolve(false), LIVE_ANSWER_MS);
        channel.port1.onmessage = (message) => {
          clearTimeout(timer);
          resolve(Boolean(message.data && message.data.live));
        };
        client.postMessage({ type: "tv-live?" }, [channel.port2]);
      }),
  );
  return (await Promise.all(answers)).some(Boolean);
}

self.addEventListener("push", (event) => {
  let payload = {};
  try {
    payload = event.data ? event.data.json() : {};
  } catch (error) {
    payload = { title: "TradeVision", body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    liveVisiblePage().then((live) => {
      if (live) return undefined;
      return self.registration.showNotification(payload.title || "TradeVision", {
        body: payload.body || "",
        tag: payload.tag,
        icon: CONFIG.icon,
        badge: CONFIG.icon,
        data: { url: payload.url || "/" },
      });
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  // Only a page of this site is ever opened, whatever the payload says.
  const target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (target.origin !== self.location.origin) return;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const same = windows.find((client) => new URL(client.url).pathname === target.pathname);
      if (same) return same.focus();
      const any = windows.find((client) => "navigate" in client);
      if (any) {
        const navigated = await any.navigate(target.href);
        return (navigated || any).focus();
      }
      return self.clients.openWindow(target.href);
    })(),
  );
});
