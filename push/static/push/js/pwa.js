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
    logout.addEventListener("submit", () => {
      const worker = navigator.serviceWorker.controller;
      if (worker) worker.postMessage({ type: "tv-clear-data" });
    });
  }
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
    // No worker (private mode, an old browser): the site works without it.
  });
}
