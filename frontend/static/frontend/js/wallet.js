// Wallet page: balances (live through wallet.balance), the ledger with
// pagination, a demo deposit and a withdrawal request.

import { api, results } from "./api.js";
import { loadBalances, onBalances } from "./balances.js";
import { clear, el, flash, formatTime } from "./dom.js";
import { endpoints } from "./endpoints.js";
import { formatAmount } from "./format.js";
import { amount, jsonForm } from "./forms.js";
import { direction, formatSigned } from "./money.js";
import { toast } from "./notify.js";
import { stream } from "./stream.js";

const PAGE = 25;
const balancesNode = document.getElementById("balances");
const ledgerBody = document.getElementById("ledger-rows");
const prev = document.getElementById("ledger-prev");
const next = document.getElementById("ledger-next");
const pageLabel = document.getElementById("ledger-page");

onBalances((balances) => {
  // No account yet means nothing deposited: a zero balance.
  const usd = balances.find((b) => b.currency === "USD") ||
    balances[0] || { currency: "USD", available: "0", reserved: "0" };
  const available = balancesNode.querySelector('[data-balance="available"]');
  const before = available.textContent;
  available.textContent = formatAmount(usd.available, usd.currency);
  balancesNode.querySelector('[data-balance="reserved"]').textContent = formatAmount(usd.reserved, usd.currency);
  if (before !== "—" && before !== available.textContent) flash(available, "flash-up");
});

const KIND_WORDS = {
  deposit: "Demo deposit",
  withdrawal: "Withdrawal",
  withdrawal_request: "Withdrawal requested",
  withdrawal_reject: "Withdrawal rejected",
  withdrawal_approve: "Withdrawal paid out",
  adjustment: "Adjustment by staff",
  reserve: "Stake reserved",
  release: "Stake released",
  settle: "Trade settled",
  fee: "Fee",
};

function describe(entry) {
  const words = KIND_WORDS[entry.kind] || (entry.kind || "").replaceAll("_", " ");
  return entry.reference ? `${words} · ${entry.reference}` : words;
}

// Cursor pagination (newest first): the page URLs the API hands back.
let pageUrl = null;
const history = [];

async function loadLedger(url = pageUrl) {
  const data = await api(url || endpoints.ledger, { query: url ? undefined : { page_size: PAGE } });
  pageUrl = url;
  const list = results(data);
  clear(ledgerBody);
  if (!list.length) ledgerBody.append(el("tr", { class: "empty" }, el("td", { colspan: "4" }, "No entries yet.")));
  for (const entry of list) {
    const dir = direction(entry.amount);
    ledgerBody.append(
      el(
        "tr",
        { dataset: { entryId: String(entry.id) } },
        el("td", {}, formatTime(entry.created_at)),
        el("td", {}, `${entry.account_kind || ""} ${entry.currency || ""}`),
        el("td", {}, describe(entry)),
        el("td", { class: `num ${dir.cls}` }, `${dir.arrow} ${formatSigned(entry.amount, 2)}`),
      ),
    );
  }
  next.disabled = !data.next;
  next.dataset.url = data.next || "";
  prev.disabled = history.length === 0;
  pageLabel.textContent = `Page ${history.length + 1}`;
}

prev.addEventListener("click", () => {
  loadLedger(history.pop() || null);
});
next.addEventListener("click", () => {
  if (!next.dataset.url) return;
  history.push(pageUrl);
  loadLedger(next.dataset.url);
});

const amountOf = (form) => ({ amount: amount(form, "amount"), currency: "USD" });

jsonForm(document.getElementById("deposit-form"), {
  url: endpoints.deposits,
  values: amountOf,
  onSuccess: () => {
    toast({ title: "Deposit received", kind: "success" });
    history.length = 0;
    loadLedger(null);
  },
});
jsonForm(document.getElementById("withdraw-form"), {
  url: endpoints.withdrawals,
  values: amountOf,
  onSuccess: () => {
    toast({ title: "Withdrawal requested", body: "The amount is reserved until staff review it.", kind: "info" });
    history.length = 0;
    loadLedger(null);
  },
});

// New entries appear on the first page only; other pages stay put.
stream.on("wallet.balance", () => {
  if (!history.length) loadLedger(null);
});
stream.on("resync", () => loadLedger(null));

loadBalances().catch(() => {});
loadLedger(null).catch(() => {
  clear(ledgerBody).append(el("tr", { class: "empty" }, el("td", { colspan: "4" }, "The ledger is unavailable right now.")));
});
