// Loaded on every page for a logged-in user: starts the one realtime
// connection, shows its state in the header, and wires notifications.
// Page modules import `stream` from stream.js and get this same instance.

import { hydrateTimes } from "./format.js";
import { installNotifications } from "./notify.js";
import { keepScrollRegionsFocusable } from "./scroll_regions.js";
import { Status, stream } from "./stream.js";

const LABELS = {
  [Status.LIVE]: "Live",
  [Status.CONNECTING]: "Connecting…",
  [Status.OFFLINE]: "Offline — retrying",
};

function showStatus(status) {
  const node = document.getElementById("conn-status");
  if (!node) return;
  // A page with a fallback (polling) may take over the indicator.
  if (node.dataset.override) return;
  node.dataset.state = status;
  node.querySelector(".conn-label").textContent = LABELS[status] || status;
}

stream.on("status", showStatus);
installNotifications(stream);
showStatus(stream.status);
// Server-rendered dates (the `local_time` filter) in local time, like the rest.
hydrateTimes();
keepScrollRegionsFocusable();
// Module scripts all run before DOMContentLoaded: starting then means every
// page module has registered its listeners before the first frame.
document.addEventListener("DOMContentLoaded", () => stream.start());
