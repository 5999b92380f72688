// The price chart: candles of the selected instrument from the bars API,
// extended live by ticks (a tick in the current bar's interval moves its
// close/high/low; a later tick starts a new bar).
//
// Chart coordinates are the one place prices become JavaScript numbers:
// the chart library draws with them; nothing is computed from them.

import { createChart } from "../vendor/lightweight-charts-4.2.3.standalone.production.mjs";
import { loadBars } from "./market.js";

const INTERVAL_SECONDS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400 };

export class PriceChart {
  constructor(container) {
    this.container = container;
    this.symbol = null;
    this.interval = "1m";
    this.last = null;
    this.chart = createChart(container, {
      autoSize: true,
      layout: { background: { color: "#171d24" }, textColor: "#9aa7b4", attributionLogo: false },
      grid: { vertLines: { color: "#222b35" }, horzLines: { color: "#222b35" } },
      timeScale: { timeVisible: true, secondsVisible: false },
      rightPriceScale: { borderColor: "#2b3540" },
    });
    this.series = this.chart.addCandlestickSeries({
      upColor: "#2fbf71",
      downColor: "#ff5c5c",
      wickUpColor: "#2fbf71",
      wickDownColor: "#ff5c5c",
      borderVisible: false,
    });
  }

  async show(symbol, interval = this.interval, precision = 2) {
    this.symbol = symbol;
    this.interval = interval;
    this.series.applyOptions({
      priceFormat: { type: "price", precision, minMove: 1 / 10 ** precision },
    });
    const bars = await loadBars(symbol, { interval });
    if (this.symbol !== symbol || this.interval !== interval) return; // changed meanwhile
    const data = bars.map((bar) => ({
      time: Math.floor(Date.parse(bar.time) / 1000),
      open: Number(bar.open),
      high: Number(bar.high),
      low: Number(bar.low),
      close: Number(bar.close),
    }));
    this.series.setData(data);
    this.last = data.length ? { ...data[data.length - 1] } : null;
    this.chart.timeScale().fitContent();
  }

  /** Extend the chart with a tick of the shown symbol. */
  tick(symbol, priceText, timeIso) {
    if (symbol !== this.symbol) return;
    const seconds = INTERVAL_SECONDS[this.interval] || 60;
    const at = Math.floor((timeIso ? Date.parse(timeIso) : Date.now()) / 1000);
    const bucket = at - (at % seconds);
    const price = Number(priceText);
    if (this.last && bucket < this.last.time) return; // late tick
    if (this.last && this.last.time === bucket) {
      this.last.high = Math.max(this.last.high, price);
      this.last.low = Math.min(this.last.low, price);
      this.last.close = price;
    } else {
      this.last = { time: bucket, open: price, high: price, low: price, close: price };
    }
    this.series.update({ ...this.last });
  }
}
