// Same-origin JSON calls to the REST API with the session cookie, the CSRF
// token on writes and an Idempotency-Key on money-moving POSTs. Errors come
// back as ApiError with the server's per-field messages, so forms can show
// each message beside its field.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.message)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }

  /** { field: "message" } for the fields the server named. */
  fieldErrors() {
    const out = {};
    for (const [key, value] of Object.entries(this.body)) {
      if (key === "detail" || key === "code") continue;
      if (Array.isArray(value)) out[key] = value.join(" ");
      else if (typeof value === "string") out[key] = value;
    }
    return out;
  }
}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export function newIdempotencyKey() {
  if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function api(path, { method = "GET", body, idempotencyKey, query } = {}) {
  const url = new URL(path, window.location.origin);
  if (query) {
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
  }
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-CSRFToken"] = csrfToken();
    headers["Content-Type"] = "application/json";
  }
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (error) {
      data = { detail: text.slice(0, 200) };
    }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** The results of a paginated list (LimitOffsetPagination) or a bare list. */
export function results(data) {
  if (Array.isArray(data)) return data;
  return (data && data.results) || [];
}
