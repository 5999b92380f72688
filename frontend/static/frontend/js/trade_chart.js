// The chart of one trade's instrument on the trade page and the status
// page: candles at the remembered interval, live ticks, and while the
// trade is open its entry, take-profit and stop-loss as price lines (gone
// once it is not open). The trade is read over REST and kept current by
// its own events.

import { api } from "./api.js";
import { bindIntervalSelect, PriceChart } from "./chart.js";
import { el } from "./dom.js";
import * as market from "./market.js";
import { watchStaleness } from "./staleness.js";
import { stream } from "./stream.js";
import { tradeSymbol } from "./trades.js";

const INTERVALS = [
  ["1m", "1 minute"],
  ["5m", "5 minutes"],
  ["1h", "1 hour"],
  ["1d", "1 day"],
];

function levelsOf(trade) {
  if (trade.status !== "open") return [];
  return [
    { price: trade.entry_price, title: "Entry", kind: "entry" },
    { price: trade.take_profit, title: "Take-profit", kind: "tp" },
    { price: trade.stop_loss, title: "Stop-loss", kind: "sl" },
  ];
}

/** Build the chart card and place it with `place(card)`. */
export function mountTradeChart({ tradeId, place, cardClass = "card" }) {
  const select = el(
    "select",
    { id: "trade-chart-interval" },
    INTERVALS.map(([value, label]) => el("option", { value }, label)),
  );
  const box = el("div", {
    id: "trade-chart",
    class: "chart",
    role: "img",
    "aria-label": "Price chart of the trade's instrument, with its entry, take-profit and stop-loss",
    "data-testid": "trade-chart",
  });
  const card = el(
    "section",
    { class: cardClass, "aria-labelledby": "trade-chart-title" },
    el(
      "div",
      { class: "card-header" },
      el("h2", { id: "trade-chart-title" }, "Chart"),
      el("label", { class: "actions" }, el("span", { class: "muted" }, "Interval"), select),
    ),
    box,
  );
  place(card);
  let trade = null;
  let chart = null;

  const draw = async () => {
    if (!trade) return;
    const symbol = tradeSymbol(trade);
    if (!chart) chart = new PriceChart(box);
    const item = market.instrument(symbol);
    try {
      await chart.show(symbol, select.value, item ? Number(item.price_scale) : 2);
    } catch (error) {
      box.dataset.empty = "1";
    }
    chart.setLevels(levelsOf(trade));
  };
  bindIntervalSelect(select, draw);
  market.onPrice((symbol, now) => chart && now && chart.tick(symbol, now.price, now.time));
  stream.on("event", (frame) => {
    if (!frame.event.startsWith("trade.") || !frame.data || Number(frame.data.id) !== tradeId) return;
    trade = { ...trade, ...frame.data };
    if (chart) chart.setLevels(levelsOf(trade));
  });
  watchStaleness(box);
  Promise.all([api(`/api/v1/trades/${tradeId}/`), market.loadInstruments().catch(() => [])])
    .then(([loaded]) => {
      trade = loaded;
      market.watch([tradeSymbol(trade)]);
      return draw();
    })
    .catch(() => {});
  return card;
}
