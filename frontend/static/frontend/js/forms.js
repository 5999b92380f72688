// JSON forms posting to the API: one idempotency key per filled-in form
// (a double submit or a retry after a timeout repeats the same request, and
// the server answers with the first result), per-field errors beside the
// field, and a new key only after success.
//
// Amounts are typed as the pages show them ("1,000.50"): `amount()` takes
// the comma grouping out before the API's strict decimal sees it, the same
// rule as the HTML trade form (trading.trades.forms.ungroup), and a comma
// anywhere else is a message beside the field, never sent.

import { ApiError, api, newIdempotencyKey } from "./api.js";
import { showFieldErrors } from "./dom.js";

const GROUPED = /^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$/;

// A field's message, raised while reading a form's values.
export class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

// The text of amount field `name` without its grouping commas.
export function amount(form, name, what = "amount") {
  const text = form[name].value.trim();
  if (!text.includes(",")) return text;
  if (!GROUPED.test(text)) {
    throw new FieldError(name, `Write the ${what} with commas only between groups of three digits, e.g. 1,000.50.`);
  }
  return text.replaceAll(",", "");
}

export function jsonForm(form, { url, values, onSuccess }) {
  let key = newIdempotencyKey();
  const button = form.querySelector('button[type="submit"]');
  form.addEventListener("input", () => {
    // Changed parameters are a new request (the same key would be refused).
    key = newIdempotencyKey();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showFieldErrors(form, {});
    let body;
    try {
      body = values(form);
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      showFieldErrors(form, { [error.field]: error.message });
      return;
    }
    if (button) button.disabled = true;
    try {
      const result = await api(typeof url === "function" ? url() : url, {
        method: "POST",
        body,
        idempotencyKey: key,
      });
      key = newIdempotencyKey();
      form.reset();
      onSuccess(result);
    } catch (error) {
      if (error instanceof ApiError) {
        const fields = error.fieldErrors();
        if (!Object.keys(fields).length) fields.__all__ = error.message;
        showFieldErrors(form, fields);
      } else {
        showFieldErrors(form, { __all__: "The server could not be reached; try again." });
      }
    } finally {
      if (button) button.disabled = false;
    }
  });
}
