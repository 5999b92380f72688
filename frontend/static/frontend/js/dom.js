// Tiny DOM helpers: build elements without innerHTML (no markup injection
// from data) and without inline styles (the CSP forbids them).

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function flash(node, cls) {
  node.classList.remove("flash-up", "flash-down");
  // Force a reflow so the animation restarts on every tick.
  void node.offsetWidth;
  node.classList.add(cls);
}

// Every page writes dates the same way (format.js); kept here under its old
// name so the modules importing it from dom.js use the shared formatter.
export { formatDateTime as formatTime } from "./format.js";

/** Show server messages beside their fields in a form: each input named
 * `name` gets the message in the element with id `<form.id>-<name>-error`. */
export function showFieldErrors(form, errors) {
  for (const node of form.querySelectorAll("[data-error-for]")) {
    node.textContent = "";
    node.hidden = true;
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  let first = null;
  let unplaced = [];
  for (const [field, message] of Object.entries(errors)) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
    const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
    if (slot) {
      slot.textContent = message;
      slot.hidden = false;
      if (input) input.setAttribute("aria-invalid", "true");
      first = first || input;
    } else {
      unplaced.push(message);
    }
  }
  const general = form.querySelector('[data-error-for="__all__"]');
  if (general && unplaced.length) {
    general.textContent = unplaced.join(" ");
    general.hidden = false;
  }
  if (first) first.focus();
  unplaced = null;
}
