// Loaded on every page: registers the service worker (scope "/"), answers
// its question "is a visible page of the site live?" (then a push is not
// shown twice: this page has the event on its socket), and tells it to
// forget saved values on logout.

const status = () => document.getElementById("conn-status");

export function pageIsLive() {
  const node = status();
  return document.visibilityState === "visible" && Boolean(node) && node.dataset.state === "live";
}

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data && event.data.type === "tv-live?" && event.ports[0]) {
      event.ports[0].postMessage({ live: pageIsLive() });
    }
  });
  const logout = document.querySelector("form.logout-form");
  if (logout) {
    logout.addEventListener("submit", (event) => {
      const worker = navigator.serviceWorker.controller;
      if (worker) worker.postMessage({ type: "tv-clear-data" });
      // This device stops receiving the user's pushes: whoever uses it next
      // must not see them. The push service then answers 410 to the next
      // send, which deletes the stored subscription. At most 1.5 s, then log
      // out whatever happened.
      if (logout.dataset.unsubscribed) return;
      event.preventDefault();
      const unsubscribed = navigator.serviceWorker.ready
        .then((registration) => registration.pushManager.getSubscription())
        .then((subscription) => (subscription ? subscription.unsubscribe() : false))
        .catch(() => false);
      const timeout = new Promise((resolve) => setTimeout(resolve, 1500));
      Promise.race([unsubscribed, timeout]).then(() => {
        logout.dataset.unsubscribed = "1";
        logout.requestSubmit();
      });
    });
  }
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
    // No worker (private mode, an old browser): the site works without it.
  });
}
