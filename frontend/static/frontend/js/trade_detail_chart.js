// The trade page's chart card (a module of its own so trade_detail.js stays
// about the trade's fields and actions).

import { mountTradeChart } from "./trade_chart.js";

const root = document.getElementById("trade-detail");
if (root) {
  mountTradeChart({
    tradeId: Number(root.dataset.tradeId),
    cardClass: "card span-12",
    place: (card) => root.append(card),
  });
}
