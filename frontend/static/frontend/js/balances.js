// Wallet balances: loaded over REST, then replaced by each `wallet.balance`
// event (its data is the full set of balances, never a diff).

import { api, results } from "./api.js";
import { endpoints } from "./endpoints.js";
import { stream } from "./stream.js";

const listeners = new Set();
let current = [];

let loaded = false;

export function onBalances(fn) {
  listeners.add(fn);
  if (loaded) fn(current);
  return () => listeners.delete(fn);
}

function set(balances) {
  loaded = true;
  current = balances;
  listeners.forEach((fn) => fn(current));
}

/** Normalise the wallets API answer to [{currency, available, reserved}]. */
function fromApi(data) {
  if (data && Array.isArray(data.balances)) return data.balances;
  return results(data).map((row) => ({
    currency: row.currency,
    available: row.available ?? row.balance,
    reserved: row.reserved ?? "0",
  }));
}

export async function loadBalances() {
  set(fromApi(await api(endpoints.wallets)));
  return current;
}

stream.on("wallet.balance", (frame) => set((frame.data && frame.data.balances) || []));
stream.on("resync", () => loadBalances().catch(() => {}));
