// "Push on this device" on the notification settings page: subscribe this
// browser through its push service and save the subscription in
// /api/v1/push/subscriptions/, or remove both. Which kinds are pushed is
// the form's switches, stored on the server for all devices.

const state = document.getElementById("push-state");
const enable = document.getElementById("push-enable");
const disable = document.getElementById("push-disable");

function csrf() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

async function call(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status}`);
  return response.status === 204 ? null : response.json();
}

function keyBytes(base64url) {
  const text = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(text + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

async function registration() {
  return navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(() => navigator.serviceWorker.ready);
}

async function show() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    state.textContent = "not supported by this browser (on iPhone: add the app to the home screen first)";
    enable.hidden = disable.hidden = true;
    return;
  }
  const subscription = await (await registration()).pushManager.getSubscription();
  state.textContent = subscription ? "on" : "off";
  enable.hidden = Boolean(subscription);
  disable.hidden = !subscription;
}

enable.addEventListener("click", async () => {
  try {
    if ((await Notification.requestPermission()) !== "granted") throw new Error("permission refused");
    const { public_key: key } = await call("GET", "/api/v1/push/key/");
    const subscription = await (await registration()).pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(key),
    });
    await call("POST", "/api/v1/push/subscriptions/", subscription.toJSON());
  } catch (error) {
    state.textContent = `could not turn on (${error.message})`;
    return;
  }
  await show();
});

disable.addEventListener("click", async () => {
  const subscription = await (await registration()).pushManager.getSubscription();
  if (subscription) {
    const mine = await call("GET", "/api/v1/push/subscriptions/?limit=100");
    const saved = (mine.results || []).find((row) => row.endpoint === subscription.endpoint);
    if (saved) await call("DELETE", `/api/v1/push/subscriptions/${saved.id}/`);
    await subscription.unsubscribe();
  }
  await show();
});

show().catch((error) => {
  state.textContent = `unknown (${error.message})`;
});
