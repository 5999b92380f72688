// The offline page: shows the last balances and open trades the service
// worker saved while the pages loaded them (Cache Storage "tv-data").
// Built with textContent only: saved values are data, never markup.

const DATA_CACHE = "tv-data";

function node(tag, text, attrs = {}) {
  const element = document.createElement(tag);
  if (text !== undefined && text !== null) element.textContent = String(text);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  return element;
}

async function saved(key) {
  if (!("caches" in window)) return null;
  const cache = await caches.open(DATA_CACHE);
  const response = await cache.match(key);
  if (!response) return null;
  return { data: await response.json(), at: response.headers.get("X-Saved-At") };
}

function rows(data) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data.results)) return data.results;
  if (data && Array.isArray(data.balances)) return data.balances;
  return [];
}

async function show() {
  const balances = await saved("/__tv/last/balances");
  const trades = await saved("/__tv/last/open-trades");
  const list = document.getElementById("offline-balances");
  if (balances && rows(balances.data).length) {
    list.replaceChildren();
    for (const row of rows(balances.data)) {
      list.append(node("dt", `${row.currency} available`), node("dd", row.available, { "data-currency": row.currency }));
      list.append(node("dt", `${row.currency} reserved`), node("dd", row.reserved));
    }
  }
  const body = document.getElementById("offline-trades");
  if (trades) {
    const open = rows(trades.data).filter((trade) => trade.status === "open");
    body.replaceChildren();
    if (!open.length) body.append(node("tr", null, { class: "empty" }));
    if (!open.length) body.lastChild.append(node("td", "No open trades.", { colspan: "5" }));
    for (const trade of open) {
      const row = node("tr", null, { "data-trade-id": String(trade.id) });
      row.append(
        node("td", `#${trade.id}`),
        node("td", trade.instrument),
        node("td", trade.side),
        node("td", `${trade.stake} ${trade.currency}`),
        node("td", trade.entry_price ?? "—"),
      );
      body.append(row);
    }
  }
  const at = [balances && balances.at, trades && trades.at].filter(Boolean).sort().pop();
  if (at) {
    document.getElementById("offline-saved-at").textContent =
      `Offline — last known values, saved ${new Date(at).toLocaleString()}. They update when you are back online.`;
  }
}

show().catch(() => {
  // The static text already says "offline" and that nothing was saved.
});
window.addEventListener("online", () => window.location.reload());
