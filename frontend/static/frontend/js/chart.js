// The price chart: candles of the selected instrument from the bars API,
// extended live by ticks (a tick in the current bar's interval moves its
// close/high/low; a later tick starts a new bar).
//
// Chart coordinates are the one place prices become JavaScript numbers:
// the chart library draws with them; nothing is computed from them. Its
// axis and crosshair write prices grouped at the instrument's scale and
// times in local time, like every other figure (format.js); hovering shows
// the bar's open/high/low/close in a legend; open trades can draw their
// entry, take-profit and stop-loss as price lines. Colours come from the
// theme's CSS variables and follow a theme change.

import { createChart, CrosshairMode } from "../vendor/lightweight-charts-4.2.3.standalone.production.mjs";
import { el } from "./dom.js";
import { formatAxisDay, formatAxisTime, formatChartPrice } from "./format.js";
import { loadBars } from "./market.js";

const INTERVAL_SECONDS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400 };
const INTERVAL_KEY = "tv.chart.interval";

/** The interval the user chose last in this browser (any chart). */
export function rememberedInterval(fallback = "1m") {
  try {
    const value = window.localStorage.getItem(INTERVAL_KEY);
    return value && INTERVAL_SECONDS[value] ? value : fallback;
  } catch (error) {
    return fallback;
  }
}

export function rememberInterval(value) {
  try {
    if (INTERVAL_SECONDS[value]) window.localStorage.setItem(INTERVAL_KEY, value);
  } catch (error) {
    // No storage (private mode): the choice lasts for this page only.
  }
}

/** Bind an interval <select> to the remembered choice. */
export function bindIntervalSelect(select, onChange) {
  const value = rememberedInterval(select.value);
  if ([...select.options].some((o) => o.value === value)) select.value = value;
  select.addEventListener("change", () => {
    rememberInterval(select.value);
    onChange(select.value);
  });
  return select.value;
}

function themeColours() {
  const css = getComputedStyle(document.documentElement);
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  return {
    bg: v("--panel", "#171d24"),
    text: v("--muted", "#9aa7b4"),
    grid: v("--grid", "#222b35"),
    border: v("--border", "#2b3540"),
    up: v("--up", "#2fbf71"),
    down: v("--down", "#ff5c5c"),
    accent: v("--accent", "#4ea1ff"),
    warn: v("--warn", "#f0b429"),
  };
}

export class PriceChart {
  constructor(container) {
    this.container = container;
    this.symbol = null;
    this.interval = "1m";
    this.precision = 2;
    this.last = null;
    this.lines = [];
    this.legend = el("div", { class: "chart-legend", "data-testid": "chart-legend", "aria-hidden": "true" });
    container.classList.add("chart-host");
    this.chart = createChart(container, {
      autoSize: true,
      // Off from the start: with it on, the library injects a <style> for
      // the logo, which the CSP blocks.
      layout: { attributionLogo: false },
      crosshair: { mode: CrosshairMode.Normal },
      localization: {
        priceFormatter: (price) => formatChartPrice(price, this.precision),
        timeFormatter: (time) => formatAxisTime(time, true),
      },
      timeScale: {
        timeVisible: true,
        secondsVisible: false,
        // Tick marks in local time (the library would write UTC).
        tickMarkFormatter: (time, type) => (type <= 2 ? formatAxisDay(time) : formatAxisTime(time)),
      },
    });
    this.levels = [];
    this.series = this.chart.addCandlestickSeries({
      borderVisible: false,
      // The price scale takes the trade's levels in, so its take-profit and
      // stop-loss are on screen, not only the candles' range.
      autoscaleInfoProvider: (original) => {
        const info = original();
        if (!info || !info.priceRange || !this.levels.length) return info;
        const { minValue, maxValue } = info.priceRange;
        return {
          ...info,
          priceRange: { minValue: Math.min(minValue, ...this.levels), maxValue: Math.max(maxValue, ...this.levels) },
        };
      },
    });
    this.applyTheme();
    container.append(this.legend);
    this.chart.subscribeCrosshairMove((param) => this.showLegend(param));
    document.addEventListener("tv:theme", () => this.applyTheme());
  }

  applyTheme() {
    const c = themeColours();
    this.chart.applyOptions({
      layout: { background: { color: c.bg }, textColor: c.text, attributionLogo: false },
      grid: { vertLines: { color: c.grid }, horzLines: { color: c.grid } },
      rightPriceScale: { borderColor: c.border },
      timeScale: { borderColor: c.border },
    });
    this.series.applyOptions({ upColor: c.up, downColor: c.down, wickUpColor: c.up, wickDownColor: c.down });
    this.colours = c;
  }

  /** The hovered bar's OHLC (or the latest bar when not hovering). */
  showLegend(param) {
    const bar = (param && param.time && param.seriesData && param.seriesData.get(this.series)) || this.last;
    if (!bar) {
      this.legend.textContent = "";
      return;
    }
    const p = (n) => formatChartPrice(n, this.precision);
    this.legend.textContent = `${this.symbol || ""} ${formatAxisTime(bar.time, true)}  O ${p(bar.open)}  H ${p(bar.high)}  L ${p(bar.low)}  C ${p(bar.close)}`;
    this.legend.dataset.time = String(bar.time);
  }

  async show(symbol, interval = this.interval, precision = 2) {
    this.symbol = symbol;
    this.interval = interval;
    this.precision = precision;
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
    this.showLegend(null);
  }

  /** Horizontal lines at a trade's levels: [{ price (string), title, kind }]
   * with kind "entry" | "tp" | "sl"; replaces the previous ones. */
  setLevels(levels) {
    for (const line of this.lines) this.series.removePriceLine(line);
    const colour = { entry: this.colours.accent, tp: this.colours.up, sl: this.colours.down };
    const drawn = levels.filter((level) => level.price !== null && level.price !== undefined && level.price !== "");
    this.levels = drawn.map((level) => Number(level.price));
    this.lines = drawn.map((level) =>
      this.series.createPriceLine({
        price: Number(level.price),
        title: level.title,
        color: colour[level.kind] || this.colours.warn,
        lineWidth: 1,
        lineStyle: level.kind === "entry" ? 0 : 2,
        axisLabelVisible: true,
      }),
    );
    // Re-run the autoscale with the new levels.
    this.chart.priceScale("right").applyOptions({ autoScale: true });
    this.container.dataset.levels = drawn.map((l) => l.kind).join(" ");
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
