// Charts with uPlot (the global `uPlot` from /vendor/uPlot.iife.min.js, which index.html only
// preloads: uPlotReady() runs it when a chart is first needed): time on x in the line's time zone,
// bytes on y with the locale's digits. Resizes with its container.

import { byteUnitFor, formatAxisTime, formatBytes, formatDateTime, formatNumber } from './format.js';

const COLORS = {
  used: '#0b7285',
  usedFill: 'rgba(11, 114, 133, 0.18)',
  forecast: '#c2410c',
  quota: '#6b7280',
};

const UPLOT_SRC = '/vendor/uPlot.iife.min.js';
let uPlotLoading = null;

/**
 * Runs uPlot's script (once; the file is preloaded by index.html) and resolves true when the
 * global uPlot is there, false if the script failed to load. Call it early (e.g. while a chart's
 * data is being fetched) so that running it overlaps the wait.
 */
export function uPlotReady() {
  if (typeof uPlot !== 'undefined') return Promise.resolve(true);
  if (!uPlotLoading) {
    uPlotLoading = new Promise((resolve) => {
      const script = document.createElement('script');
      script.src = UPLOT_SRC;
      script.addEventListener('load', () => resolve(typeof uPlot !== 'undefined'), { once: true });
      script.addEventListener('error', () => {
        uPlotLoading = null; // the next chart tries again
        resolve(false);
      }, { once: true });
      document.head.append(script);
    });
  }
  return uPlotLoading;
}

/**
 * series: [{label, values, style: 'bars'|'line'|'forecast'|'quota'}]
 * options: {locale, timeZone, granularity: 'hour'|'day', height, values: 'bytes'|'number'}
 */
export class TimeChart {
  constructor(container, { locale, timeZone, granularity, height = 220, values = 'bytes', xLabel = '' }) {
    this.values = values;
    this.xLabel = xLabel;
    this.container = container;
    this.locale = locale;
    this.timeZone = timeZone;
    this.granularity = granularity;
    this.height = height;
    this.plot = null;
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(container);
  }

  width() {
    return Math.max(240, Math.floor(this.container.clientWidth));
  }

  resize() {
    if (!this.plot) return;
    const w = this.width();
    if (w !== this.plot.width) this.plot.setSize({ width: w, height: this.height });
  }

  /** yMax: the top of the y axis (a forecast far above the allowance leaves the chart there). */
  render(x, series, { yMax = null } = {}) {
    this.plot?.destroy();
    this.plot = null;
    const drawing = Symbol('render');
    this.drawing = drawing;
    if (typeof uPlot === 'undefined') {
      // Drawn when uPlot arrives, unless another render() or destroy() came first.
      uPlotReady().then((ok) => {
        if (ok && this.drawing === drawing) this.render(x, series, { yMax });
      });
      return;
    }
    const { locale, timeZone, granularity } = this;
    let maxY = Math.max(1, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
    if (yMax !== null) maxY = Math.min(maxY, yMax);
    // The unit of the axis' top tick (the range ends 8% above the highest value).
    const unit = byteUnitFor(maxY * 1.08);
    const bytes = this.values === 'bytes';
    const fmtY = (v) => {
      if (v === null || v === undefined) return '–';
      return bytes ? formatBytes(v, locale) : formatNumber(v, locale, 2);
    };
    const axisY = (v) => (bytes
      ? formatBytes(v, locale, { unit: unit.unit, maxFractionDigits: unit.size === 1 ? 0 : 1 })
      : formatNumber(v, locale, 1));
    // A bar stands for the period starting at its x: it is drawn to the right of x, and the
    // x range ends one period after the last point so the last bar is whole.
    const bars = uPlot.paths.bars({ size: [0.8, 40], align: 1 });
    const hasBars = series.some((s) => s.style === 'bars');
    const step = x.length > 1 ? Math.min(...x.slice(1).map((v, i) => v - x[i])) : 3600;
    const opts = {
      width: this.width(),
      height: this.height,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), timeZone),
      cursor: { points: { size: 6 }, drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        x: { time: true, range: (u, min, max) => [min, hasBars ? max + step : max] },
        y: { range: (u, min, max) => [0, yMax !== null && yMax < max ? yMax : Math.max(max, 1) * 1.08] },
      },
      axes: [
        {
          stroke: '#374151',
          grid: { stroke: '#e5e7eb' },
          ticks: { stroke: '#d1d5db' },
          values: (u, splits) => splits.map((s) => formatAxisTime(s * 1e3, locale, timeZone, granularity)),
          space: granularity === 'hour' ? 60 : 50,
        },
        {
          stroke: '#374151',
          grid: { stroke: '#e5e7eb' },
          ticks: { stroke: '#d1d5db' },
          values: (u, splits) => splits.map(axisY),
          // Wide enough for the longest label ("1,000 MB", "12.5 GB").
          size: (u, values) => 16 + 7.5 * Math.max(4, ...(values ?? []).map((v) => String(v).length)),
        },
      ],
      series: [
        { label: this.xLabel, value: (u, v) => (v === null ? '–' : formatDateTime(v * 1e3, locale, timeZone)) },
        ...series.map((s) => {
          const base = { label: s.label, value: (u, v) => fmtY(v), points: { show: false }, spanGaps: true };
          if (s.style === 'bars') {
            return { ...base, paths: bars, stroke: COLORS.used, fill: COLORS.usedFill, width: 1 };
          }
          if (s.style === 'forecast') return { ...base, stroke: COLORS.forecast, width: 2, dash: [6, 4] };
          if (s.style === 'quota') return { ...base, stroke: COLORS.quota, width: 1.5, dash: [2, 3] };
          return { ...base, stroke: COLORS.used, fill: COLORS.usedFill, width: 2 };
        }),
      ],
    };
    this.plot = new uPlot(opts, [x, ...series.map((s) => s.values)], this.container);
  }

  destroy() {
    this.drawing = null;
    this.observer.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }
}
