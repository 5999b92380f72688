// An in-page confirmation for actions that cannot be taken back (close a
// trade now, cancel a plan): a small alertdialog right under the button,
// not window.confirm, which blocks the page's live updates, cannot be
// styled or labelled, and which screen readers and test browsers handle
// poorly. Focus goes to the safe choice; Escape or "Keep" keeps; the
// promise says whether the trader confirmed.

import { el } from "./dom.js";

let counter = 0;
const open = new Map(); // button id -> its box's "keep"

/** Withdraw the question asked for `button` (the action is no longer possible), as "Keep". */
export function dismissConfirm(button) {
  const keep = open.get(button.id || "");
  if (keep) keep();
}

export function confirmInPage(button, { message, yes, keep = "Keep" }) {
  const existing = document.querySelector(`[data-confirm-for="${CSS.escape(button.id || "")}"]`);
  if (button.id && existing) existing.remove();
  return new Promise((resolve) => {
    const textId = `confirm-text-${++counter}`;
    const yesButton = el("button", { type: "button", class: "danger", "data-testid": "confirm-yes" }, yes);
    const keepButton = el("button", { type: "button", class: "secondary", "data-testid": "confirm-keep" }, keep);
    const box = el(
      "div",
      {
        class: "confirm-box",
        role: "alertdialog",
        "aria-labelledby": textId,
        "data-testid": "confirm",
        dataset: { confirmFor: button.id || "" },
      },
      el("p", { id: textId }, message),
      el("div", { class: "actions" }, yesButton, keepButton),
    );
    const finish = (confirmed) => {
      open.delete(button.id || "");
      box.remove();
      button.disabled = false;
      if (!confirmed) button.focus();
      resolve(confirmed);
    };
    open.set(button.id || "", () => finish(false));
    yesButton.addEventListener("click", () => finish(true));
    keepButton.addEventListener("click", () => finish(false));
    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape") finish(false);
    });
    const row = button.closest(".actions");
    (row || button).after(box);
    button.disabled = true; // one question at a time
    keepButton.focus();
  });
}
