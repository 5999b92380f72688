// Wallet page: balances (live through wallet.balance), the ledger with
// pagination, a demo deposit and a withdrawal request.

import { api, results } from "./api.js";
import { loadBalances, onBalances } from "./balances.js";
import { clear, el, flash, formatTime } from "./dom.js";
import { endpoints } from "./endpoints.js";
import { jsonForm } from "./forms.js";
import { direction, format, formatSigned } from "./money.js";
import { toast } from "./notify.js";
import { stream } from "./stream.js";

const PAGE = 25;
const balancesNode = document.getElementById("balances");
const ledgerBody = document.getElementById("ledger-rows");
const prev = document.getElementById("ledger-prev");
const next = document.getElementById("ledger-next");
const pageLabel = document.getElementById("ledger-page");
let offset = 0;

onBalances((balances) => {
  const usd = balances.find((b) => b.currency === "USD") || balances[0];
  if (!usd) return;
  const available = balancesNode.querySelector('[data-balance="available"]');
  const before = available.textContent;
  available.textContent = `${format(usd.available, 2)} ${usd.currency}`;
  balancesNode.querySelector('[data-balance="reserved"]').textContent = `${format(usd.reserved, 2)} ${usd.currency}`;
  if (before !== "—" && before !== available.textContent) flash(available, "flash-up");
});

function describe(entry) {
  return entry.description || entry.memo || entry.kind || entry.reference || "";
}

async function loadLedger() {
  const data = await api(endpoints.ledger, { query: { limit: PAGE, offset } });
  const list = results(data);
  clear(ledgerBody);
  if (!list.length) ledgerBody.append(el("tr", { class: "empty" }, el("td", { colspan: "5" }, "No entries yet.")));
  for (const entry of list) {
    const dir = direction(entry.amount);
    ledgerBody.append(
      el(
        "tr",
        {},
        el("td", {}, formatTime(entry.created_at || entry.time)),
        el("td", {}, `${entry.account_kind || entry.kind || entry.account || ""} ${entry.currency || ""}`),
        el("td", {}, describe(entry)),
        el("td", { class: `num ${dir.cls}` }, `${dir.arrow} ${formatSigned(entry.amount, 2)}`),
        el("td", { class: "num" }, entry.balance_after !== undefined ? format(entry.balance_after, 2) : "—"),
      ),
    );
  }
  const total = data && data.count !== undefined ? data.count : list.length;
  prev.disabled = offset === 0;
  next.disabled = offset + PAGE >= total;
  pageLabel.textContent = total ? `${offset + 1}–${offset + list.length} of ${total}` : "";
}

prev.addEventListener("click", () => {
  offset = Math.max(0, offset - PAGE);
  loadLedger();
});
next.addEventListener("click", () => {
  offset += PAGE;
  loadLedger();
});

const amountOf = (form) => ({ amount: form.amount.value.trim(), currency: "USD" });

jsonForm(document.getElementById("deposit-form"), {
  url: endpoints.deposits,
  values: amountOf,
  onSuccess: () => {
    toast({ title: "Deposit received", kind: "success" });
    loadLedger();
  },
});
jsonForm(document.getElementById("withdraw-form"), {
  url: endpoints.withdrawals,
  values: amountOf,
  onSuccess: () => {
    toast({ title: "Withdrawal requested", body: "The amount is reserved until staff review it.", kind: "info" });
    loadLedger();
  },
});

stream.on("wallet.balance", () => {
  if (offset === 0) loadLedger();
});
stream.on("resync", () => loadLedger());

loadBalances().catch(() => {});
loadLedger().catch(() => {
  clear(ledgerBody).append(el("tr", { class: "empty" }, el("td", { colspan: "5" }, "The ledger is unavailable right now.")));
});
