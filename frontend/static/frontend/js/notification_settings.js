// Notification settings: show the browser's permission and ask for it on a
// click (browsers only allow the request from a user gesture).

const label = document.getElementById("browser-permission");
const ask = document.getElementById("browser-permission-ask");

const WORDS = { granted: "allowed", denied: "blocked (change it in the browser's site settings)", default: "not asked yet" };

function show() {
  if (!("Notification" in window)) {
    label.textContent = "not supported by this browser";
    ask.hidden = true;
    return;
  }
  label.textContent = WORDS[Notification.permission] || Notification.permission;
  ask.hidden = Notification.permission !== "default";
}

ask.addEventListener("click", async () => {
  try {
    await Notification.requestPermission();
  } finally {
    show();
  }
});

show();
