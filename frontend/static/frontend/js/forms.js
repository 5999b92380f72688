// JSON forms posting to the API: one idempotency key per filled-in form
// (a double submit or a retry after a timeout repeats the same request, and
// the server answers with the first result), per-field errors beside the
// field, and a new key only after success.

import { ApiError, api, newIdempotencyKey } from "./api.js";
import { showFieldErrors } from "./dom.js";

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
    if (button) button.disabled = true;
    try {
      const result = await api(typeof url === "function" ? url() : url, {
        method: "POST",
        body: values(form),
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
