// The trade page's chart card (a module of its own so trade_detail.js stays
// about the trade's fields and actions), and the stale mark on the page's
// live figures while the trade is open.

import { watchStaleness } from "./staleness.js";
import { mountTradeChart } from "./trade_chart.js";

const root = document.getElementById("trade-detail");
if (root) {
  mountTradeChart({
    tradeId: Number(root.dataset.tradeId),
    cardClass: "card span-12",
    place: (card) => root.append(card),
  });
  // Open (as rendered): the net result and the mark move with prices.
  if (document.querySelector("#trade-status.badge-open")) {
    watchStaleness(
      document.getElementById("trade-result"),
      root.querySelector('[data-field="mark"]'),
      root.querySelector('[data-field="pnl"]'),
    );
  }
}
