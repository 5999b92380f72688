// The staff health page: polls GET /api/v1/ops/health/ every few seconds and
// renders one card per component with its red / amber / green status.
// DOM is built with textContent only (no HTML from the server is trusted).

const root = document.getElementById("ops-health");
const overall = document.getElementById("ops-overall");
const checkedAt = document.getElementById("ops-checked-at");
const errorBox = document.getElementById("ops-error");
const endpoint = root.dataset.endpoint;
const pollMs = Math.max(2, Number(root.dataset.pollSeconds) || 5) * 1000;

const LABELS = { green: "OK", amber: "Warning", red: "Failing" };
const TITLES = {
  database: "PostgreSQL",
  redis: "Redis",
  workers: "Celery workers",
  queues: "Queues",
  periodic_tasks: "Periodic tasks",
  tasks: "Tasks (last hour)",
  feed: "Market feed",
  processes: "Processes",
  websockets: "WebSockets",
  outbox: "Event outbox",
  push: "Web Push",
  ledger: "Ledger",
};
// Columns of the components that carry a list of rows.
const TABLES = {
  queues: ["queues", ["name", "depth"]],
  periodic_tasks: ["tasks", ["name", "last_started_at", "last_outcome", "due_at", "overdue", "last_failure"]],
  tasks: ["tasks", ["task", "succeeded", "retried", "failed", "last_failure"]],
  feed: ["instruments", ["symbol", "price", "age_seconds", "market_open", "stale"]],
  processes: ["processes", ["kind", "name", "state", "connections", "concurrency", "last_heartbeat_at", "heartbeat_age_seconds"]],
};

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/;
// Components whose tables need the full width of the page.
const WIDE = new Set(["periodic_tasks", "tasks", "processes"]);

function show(value) {
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return value.length ? value.join(", ") : "—";
  if (typeof value === "string" && ISO_TIME.test(value)) return new Date(value).toLocaleString();
  return String(value);
}

function badge(status) {
  return el("span", { class: "ops-badge", "data-status": status }, LABELS[status] || status);
}

function table(rows, columns) {
  const t = el("table", { class: "ops-table" });
  const head = el("tr");
  for (const column of columns) head.append(el("th", { scope: "col" }, column.replaceAll("_", " ")));
  const thead = el("thead");
  thead.append(head);
  t.append(thead);
  const body = el("tbody");
  for (const row of rows) {
    const tr = el("tr", { "data-status": row.status || "" });
    for (const column of columns) tr.append(el("td", {}, show(row[column])));
    body.append(tr);
  }
  t.append(body);
  return t;
}

function card(name, component) {
  const section = el("section", { class: "card ops-card", "data-status": component.status, "aria-label": TITLES[name] || name });
  if (WIDE.has(name)) section.classList.add("ops-wide");
  const header = el("div", { class: "card-header" });
  header.append(el("h2", {}, TITLES[name] || name), badge(component.status));
  section.append(header);
  const facts = el("dl", { class: "ops-facts" });
  const [listKey, columns] = TABLES[name] || [];
  for (const [key, value] of Object.entries(component)) {
    if (key === "status" || key === listKey) continue;
    facts.append(el("dt", {}, key.replaceAll("_", " ")), el("dd", {}, show(value)));
  }
  section.append(facts);
  if (listKey && Array.isArray(component[listKey])) {
    const scroller = el("div", { class: "ops-scroll" });
    scroller.append(table(component[listKey], columns));
    section.append(scroller);
  }
  return section;
}

function render(report) {
  overall.dataset.status = report.status;
  overall.textContent = LABELS[report.status] || report.status;
  checkedAt.textContent = ` · checked ${new Date(report.checked_at).toLocaleTimeString()}`;
  const cards = Object.entries(report.components).map(([name, component]) => card(name, component));
  root.replaceChildren(...cards);
}

async function refresh() {
  try {
    const response = await fetch(endpoint, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(`the health endpoint answered ${response.status}`);
    render(await response.json());
    errorBox.hidden = true;
  } catch (error) {
    overall.dataset.status = "red";
    overall.textContent = "Unknown";
    errorBox.textContent = `Could not load the health report: ${error.message}`;
    errorBox.hidden = false;
  } finally {
    setTimeout(refresh, pollMs);
  }
}

refresh();
