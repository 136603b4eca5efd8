// One line's card: how much is left, when it resets, its state, the forecast, its allowances,
// a history chart with the forecast, and what used the data. Used by the subscriber's page
// and by the operator's line detail. setUsage() takes a new GET .../usage (or stream) object
// and redraws in place; history and the breakdown are refetched at most once a minute.
//
// Loading: the usage and the hourly chart's points are asked at once (the chart needs only the
// clock); the breakdown needs the cycle's start, so it follows the usage. The breakdown sums
// daily points (a month of hourly points by app is ~20 times the bytes) and asks hour by hour
// only for a cycle's first day when the cycle began inside it (a pass started at first use).

import { get, path, withQuery } from '../api.js';
import { TimeChart, uPlotReady } from '../chart.js';
import { h, replace, uid } from '../dom.js';
import {
  byteUnitFor, formatBytes, formatClock, formatDate, formatDateTime, formatDuration, formatMoney, formatPercent,
  formatRate, formatRelative, toMillis,
} from '../format.js';
import { breakdown, cycleSeries, dailySeries, hourlySeries, isLocalMidnight, periodPoints } from '../history.js';
import { locale, t } from '../i18n.js';

const HISTORY_REFRESH_MS = 60_000;
const TICK_MS = 15_000;
const HOUR = 3600e3;
const DAY = 86400e3;
// The hourly chart's hours back from the current one.
const HOURLY_CHART_HOURS = 48;
// Hourly history is kept 35 days by default ([retention] hourly): a cycle begun longer ago
// counts its first day whole (daily points only).
const HOURLY_KEPT_MS = 35 * DAY;

/** "3d" / "90m" / "1h30m" (the server's durations) -> milliseconds, or NaN. */
export function durationMs(text) {
  const units = { w: 7 * DAY, d: DAY, h: HOUR, m: 60e3, s: 1e3, ms: 1 };
  let total = 0;
  let matched = '';
  for (const m of String(text).matchAll(/(\d+)(ms|w|d|h|m|s)/g)) {
    total += Number(m[1]) * units[m[2]];
    matched += m[0];
  }
  return matched.length > 0 && matched === String(text) ? total : NaN;
}

function svg(tag, attrs) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export class LineCard {
  /**
   * @param {object} line  a line object (GET /v1/lines/{id}): id, msisdn, plan, ...
   * @param {object} opts  {collectApps: bool|null (null: not the subscriber's setting), headingLevel}
   */
  constructor(line, { collectApps = null, headingLevel = 2 } = {}) {
    this.line = line;
    this.id = line.id;
    this.collectApps = collectApps;
    this.usage = null;
    this.skewMs = 0;
    this.historyMode = 'hour';
    this.breakdownBy = 'app';
    this.historyLoadedAt = 0;
    this.historyTimer = null;
    this.destroyed = false;
    this.chart = null;
    const hx = `h${headingLevel}`;
    const sub = `h${headingLevel + 1}`;
    this.titleId = uid('line');

    this.title = h(hx, { id: this.titleId, class: 'line-title' }, line.id);
    this.subtitle = h('p', { class: 'line-sub muted' });
    this.stateBadge = h('span', { class: 'badge', 'data-testid': 'state' });
    this.summary = h('div', { class: 'line-summary' }, h('p', { class: 'loading' }, t('common.loading')));
    this.stateDetail = h('div', { class: 'state-detail', 'data-testid': 'state-detail', hidden: true });
    this.notes = h('div', { class: 'line-notes' });
    this.forecast = h('section', { class: 'forecast', 'data-testid': 'forecast', hidden: true });
    this.buckets = h('section', { class: 'buckets', hidden: true });
    this.asOf = h('p', { class: 'as-of muted', 'data-testid': 'as-of' });

    // History chart with its mode switch.
    this.chartBox = h('div', { class: 'chart' });
    this.chartCaption = h('figcaption', { class: 'chart-caption' });
    this.chartTable = h('details', { class: 'chart-table' });
    this.historyButtons = {
      hour: h('button', { type: 'button', class: 'seg-btn', 'data-testid': 'history-hourly',
        onclick: () => this.setHistoryMode('hour') }, t('history.hourly')),
      cycle: h('button', { type: 'button', class: 'seg-btn', 'data-testid': 'history-cycle',
        onclick: () => this.setHistoryMode('cycle') }, t('history.cycle')),
    };
    this.history = h('section', { class: 'history', 'aria-labelledby': `${this.titleId}-hist` },
      h('div', { class: 'section-head' },
        h(sub, { id: `${this.titleId}-hist` }, t('history.title')),
        h('div', { class: 'seg', role: 'group', 'aria-label': t('history.title') },
          this.historyButtons.hour, this.historyButtons.cycle)),
      h('figure', { class: 'chart-figure', 'data-testid': 'history-chart' }, this.chartBox, this.chartCaption),
      this.chartTable);

    // What used the data.
    this.breakdownList = h('div', { class: 'breakdown-body' });
    this.breakdownButtons = {
      app: h('button', { type: 'button', class: 'seg-btn', 'data-testid': 'breakdown-app',
        onclick: () => this.setBreakdown('app') }, t('breakdown.byApp')),
      device: h('button', { type: 'button', class: 'seg-btn', 'data-testid': 'breakdown-device',
        onclick: () => this.setBreakdown('device') }, t('breakdown.byDevice')),
    };
    this.breakdownSection = h('section', { class: 'breakdown', 'data-testid': 'breakdown',
      'aria-labelledby': `${this.titleId}-bd` },
    h('div', { class: 'section-head' },
      h(sub, { id: `${this.titleId}-bd` }, t('breakdown.title')),
      h('div', { class: 'seg', role: 'group', 'aria-label': t('breakdown.title') },
        this.breakdownButtons.app, this.breakdownButtons.device)),
    this.breakdownList);

    this.el = h('section', { class: 'card line-card', 'data-testid': 'line-card', 'data-line': line.id,
      'aria-labelledby': this.titleId },
    h('header', { class: 'line-head' }, h('div', null, this.title, this.subtitle), this.stateBadge),
    this.summary, this.stateDetail, this.notes, this.forecast, this.buckets, this.history,
    this.breakdownSection,
    h('footer', { class: 'line-foot' }, this.asOf));
    this.tick = setInterval(() => this.renderClock(), TICK_MS);
    this.updateToggles();
  }

  now() {
    return Date.now() + this.skewMs;
  }

  async load() {
    // The hourly chart depends on the clock only: its points are asked with the usage.
    const hourly = this.historyMode === 'hour' ? this.fetchHourly(Date.now()) : null;
    const usage = this.refreshUsage();
    // The page's first number format loads the browser's locale data (tens of milliseconds):
    // done while the usage is on its way rather than after it came.
    formatBytes(0, locale());
    try {
      await usage;
    } catch (e) {
      replace(this.summary, h('p', { class: 'notice notice-error', role: 'alert' }, t('card.loadError', { message: e.message })));
      return;
    }
    this.loadHistory(hourly);
    // The numbers are on screen and the breakdown asked: now the chart's library is run (tens of
    // milliseconds), while that answer is on its way.
    uPlotReady();
  }

  /** GET the hourly points of the chart's hours around `nowMs`: {hour, answer (a promise)}. */
  fetchHourly(nowMs) {
    const hour = Math.floor(nowMs / HOUR) * HOUR;
    const from = new Date(hour - (HOURLY_CHART_HOURS - 1) * HOUR).toISOString();
    const to = new Date(nowMs + HOUR).toISOString();
    const answer = get(withQuery(path`/v1/lines/${this.id}/history`, { granularity: 'hour', from, to }));
    answer.catch(() => {}); // handled by whoever awaits it
    return { hour, answer };
  }

  async refreshUsage() {
    const u = await get(path`/v1/lines/${this.id}/usage`);
    this.setUsage(u);
  }

  setUsage(u) {
    if (this.destroyed) return;
    const previous = this.usage;
    this.usage = u;
    const asOf = toMillis(u.as_of);
    if (Number.isFinite(asOf)) this.skewMs = asOf - Date.now();
    this.render();
    if (previous && (previous.used !== u.used || previous.cycle?.start !== u.cycle?.start)) {
      this.scheduleHistory();
    }
  }

  scheduleHistory() {
    if (this.historyTimer) return;
    const wait = Math.max(0, this.historyLoadedAt + HISTORY_REFRESH_MS - Date.now());
    this.historyTimer = setTimeout(() => {
      this.historyTimer = null;
      this.loadHistory();
    }, wait);
  }

  destroy() {
    this.destroyed = true;
    clearInterval(this.tick);
    clearTimeout(this.historyTimer);
    this.chart?.destroy();
  }

  // ---- summary -------------------------------------------------------------------------------

  render() {
    const u = this.usage;
    const loc = locale();
    const tz = u.timezone;
    this.title.textContent = u.plan_name || u.plan;
    replace(this.subtitle, h('span', { class: 'nowrap' }, u.line),
      this.line.msisdn ? [' · ', h('span', { class: 'nowrap' }, this.line.msisdn)] : null);

    this.stateBadge.className = `badge badge-${u.state}`;
    this.stateBadge.dataset.state = u.state;
    this.stateBadge.textContent = u.state === 'throttled' && u.throttle_rate_bps
      ? t('state.throttledBadge', { rate: formatRate(u.throttle_rate_bps, loc) })
      : t(`state.${u.state}`);

    const hasQuota = u.quota !== null && u.quota !== undefined;
    const meter = this.meterValues(u);
    const level = u.state !== 'normal' || (hasQuota && u.remaining === 0) ? 'danger'
      : meter.fraction >= 0.8 ? 'warn' : 'ok';

    const gaugeLabelId = `${this.titleId}-gauge`;
    const gauge = h('div', {
      class: `gauge gauge-${level}`,
      role: 'meter',
      'aria-labelledby': gaugeLabelId,
      'aria-valuemin': 0,
      'aria-valuemax': meter.max,
      'aria-valuenow': Math.min(meter.value, meter.max),
      'aria-valuetext': meter.text,
      'data-testid': 'gauge',
    }, this.donut(meter.fraction),
    h('div', { class: 'gauge-center' },
      h('span', { class: 'gauge-caption', id: gaugeLabelId }, hasQuota ? t('card.left') : t('card.usedThisCycle')),
      hasQuota
        ? h('strong', { class: 'gauge-value', 'data-testid': 'remaining' }, this.bytesLeft(u.remaining, u.quota))
        : h('strong', { class: 'gauge-value', 'data-testid': 'used-big' }, formatBytes(u.used, loc)),
      h('span', { class: 'gauge-of' },
        hasQuota
          ? [t('card.of'), ' ', h('span', { 'data-testid': 'quota' }, formatBytes(u.quota, loc))]
          : [h('span', { 'data-testid': 'remaining', class: 'visually-hidden' }, t('card.unlimited')),
            h('span', { 'data-testid': 'quota' }, t('card.unlimited'))])));

    const stats = h('dl', { class: 'stats' },
      h('div', null, h('dt', null, t('card.used')),
        h('dd', { 'data-testid': 'used' }, formatBytes(u.used, loc),
          hasQuota ? h('span', { class: 'muted small' }, ` (${formatPercent(meter.fraction, loc)})`) : null)),
      h('div', null, h('dt', null, this.resetLabel(u)), this.countdown = h('dd', { 'data-testid': 'reset-countdown' })),
      u.fair_use ? h('div', { 'data-testid': 'fair-use' }, h('dt', null, t('card.fairUse', { window: this.windowText(u.fair_use.window) })),
        h('dd', null, t('card.ofLimit', { used: formatBytes(u.fair_use.used, loc), limit: formatBytes(u.fair_use.limit, loc) }))) : null);
    replace(this.summary, gauge, stats);

    this.renderState(u, loc, tz);
    this.renderNotes(u, loc);
    this.renderForecast(u, loc, tz);
    this.renderBuckets(u, loc, tz);
    this.renderClock();
  }

  /** Bytes left, with nothing left shown in the allowance's unit ("0 GB" of 3 GB, not "0 kB"). */
  bytesLeft(bytes, quota) {
    const loc = locale();
    return bytes === 0 ? formatBytes(0, loc, { unit: byteUnitFor(quota).unit }) : formatBytes(bytes, loc);
  }

  /** What the gauge shows: the quota used, or for an unlimited plan the fair-use window. */
  meterValues(u) {
    const loc = locale();
    if (u.quota !== null && u.quota !== undefined) {
      // The share of the allowance gone: `used` also counts bytes beyond it (before a top-up,
      // or billed as overage), so the gauge follows what is left.
      const consumed = Math.max(0, u.quota - (u.remaining ?? 0));
      return {
        value: consumed,
        max: u.quota,
        fraction: u.quota > 0 ? Math.min(1, consumed / u.quota) : 1,
        text: t('card.meterText', { used: formatBytes(u.used, loc), quota: formatBytes(u.quota, loc), left: formatBytes(u.remaining, loc) }),
      };
    }
    if (u.fair_use) {
      const max = Math.max(u.fair_use.limit, 1);
      return {
        value: u.fair_use.used,
        max: u.fair_use.limit,
        fraction: Math.min(1, u.fair_use.used / max),
        text: t('card.meterFairUse', { used: formatBytes(u.fair_use.used, loc), limit: formatBytes(u.fair_use.limit, loc), window: this.windowText(u.fair_use.window) }),
      };
    }
    return { value: u.used, max: Math.max(u.used, 1), fraction: 0, text: t('card.meterUnlimited', { used: formatBytes(u.used, loc) }) };
  }

  donut(fraction) {
    const r = 52;
    const c = 2 * Math.PI * r;
    const box = svg('svg', { viewBox: '0 0 120 120', class: 'donut', 'aria-hidden': 'true', focusable: 'false' });
    box.append(svg('circle', { cx: 60, cy: 60, r, class: 'donut-track' }));
    box.append(svg('circle', {
      cx: 60, cy: 60, r, class: 'donut-fill',
      'stroke-dasharray': `${(c * fraction).toFixed(2)} ${c.toFixed(2)}`,
      transform: 'rotate(-90 60 60)',
    }));
    return box;
  }

  windowText(window) {
    const ms = durationMs(window);
    return Number.isFinite(ms) ? formatDuration(ms, locale()) : window;
  }

  resetLabel(u) {
    if (!u.cycle) return t('card.starts');
    return u.plan_kind === 'pass' ? t('card.expires') : t('card.resets');
  }

  renderClock() {
    const u = this.usage;
    if (!u || !this.countdown) return;
    const loc = locale();
    if (!u.cycle) {
      replace(this.countdown, t('card.notStarted'));
    } else {
      const end = toMillis(u.cycle.end);
      const left = end - this.now();
      const when = formatDateTime(end, loc, u.timezone);
      replace(this.countdown,
        h('span', { class: 'countdown' }, left > 0
          ? t(u.plan_kind === 'pass' ? 'card.expiresIn' : 'card.resetsIn', { duration: formatDuration(left, loc) })
          : t(u.plan_kind === 'pass' ? 'card.expired' : 'card.resetting')),
        h('br'),
        h('time', { class: 'muted small', datetime: u.cycle.end }, when));
    }
    this.asOf.textContent = t('card.asOf', { time: formatClock(u.as_of, loc, u.timezone) });
    if (u.last_record_at) {
      this.asOf.append(' · ', t('card.lastData', { time: formatRelative(u.last_record_at, this.now(), loc) }));
    }
  }

  renderState(u, loc, tz) {
    if (u.state === 'normal') {
      this.stateDetail.hidden = true;
      replace(this.stateDetail);
      return;
    }
    const rate = u.throttle_rate_bps ? formatRate(u.throttle_rate_bps, loc) : '';
    const limit = u.fair_use ? formatBytes(u.fair_use.limit, loc) : '';
    const window = u.fair_use ? this.windowText(u.fair_use.window) : '';
    const reason = u.reason || 'quota';
    const what = t(`state.${u.state}.${reason === 'fair_use' ? 'fairUse' : reason}`, { rate, limit, window });
    let lifts = '';
    if (reason === 'fair_use') {
      lifts = t('state.lifts.fairUse', { limit, window });
    } else if (reason === 'expired' || u.plan_kind === 'pass') {
      lifts = t('state.lifts.topupOnly');
    } else if (u.cycle) {
      lifts = t('state.lifts.reset', { date: formatDateTime(u.cycle.end, loc, tz) });
    }
    this.stateDetail.className = `state-detail state-detail-${u.state}`;
    replace(this.stateDetail, h('p', null, h('strong', null, what)), lifts ? h('p', null, lifts) : null);
    this.stateDetail.hidden = false;
  }

  renderNotes(u, loc) {
    const notes = [];
    if (u.overage) {
      const cost = formatMoney(u.overage.cost, u.overage.currency, loc);
      const cap = u.overage.cap !== null ? formatMoney(u.overage.cap, u.overage.currency, loc) : null;
      notes.push(h('p', { class: 'note', 'data-testid': 'overage' },
        t('overage.text', { bytes: formatBytes(u.overage.bytes, loc), cost }),
        cap ? ` ${t('overage.cap', { cap })}` : ''));
    }
    if (u.pool) {
      notes.push(h('p', { class: 'note', 'data-testid': 'pool' },
        t('pool.text', { pool: u.pool.id, n: u.pool.members, member: formatBytes(u.pool.member_used, loc) })));
    }
    replace(this.notes, notes);
  }

  renderForecast(u, loc, tz) {
    const f = u.forecast;
    if (!f || !u.cycle) {
      this.forecast.hidden = true;
      return;
    }
    const hasQuota = u.quota !== null && u.quota !== undefined;
    const rows = [];
    if (hasQuota) {
      let runOut;
      if (u.remaining === 0) {
        runOut = t('forecast.usedUp');
      } else if (f.exhausted_at) {
        runOut = [h('time', { datetime: f.exhausted_at }, formatDateTime(f.exhausted_at, loc, tz)),
          h('span', { class: 'muted small' }, ` (${formatRelative(f.exhausted_at, this.now(), loc)})`)];
      } else {
        runOut = u.plan_kind === 'pass' ? t('forecast.notBeforeExpiry') : t('forecast.notBeforeReset');
      }
      rows.push(h('div', { class: f.exhausted_at && u.remaining > 0 ? 'warn' : null },
        h('dt', null, t('forecast.runOut')), h('dd', { 'data-testid': 'forecast-exhausted' }, runOut)));
    }
    rows.push(h('div', null, h('dt', null, t('forecast.total')),
      h('dd', { 'data-testid': 'forecast-total' }, formatBytes(f.projected_cycle_total, loc),
        hasQuota ? h('span', { class: 'muted small' }, ` / ${formatBytes(u.quota, loc)}`) : null)));
    if (hasQuota) {
      rows.push(h('div', null, h('dt', null, t('forecast.budget')),
        h('dd', { 'data-testid': 'forecast-budget' }, !f.daily_budget
          ? t('forecast.noBudget')
          : t('forecast.perDay', { amount: formatBytes(f.daily_budget, loc) }))));
    }
    replace(this.forecast,
      h('h3', null, t('forecast.title')),
      h('dl', { class: 'stats stats-3' }, rows));
    this.forecast.hidden = false;
  }

  renderBuckets(u, loc, tz) {
    const list = u.buckets ?? [];
    if (list.length === 0) {
      this.buckets.hidden = true;
      return;
    }
    const now = this.now();
    replace(this.buckets,
      h('h3', null, t('bucket.title')),
      h('ul', { class: 'bucket-list' }, list.map((b) => {
        const fraction = b.quota > 0 ? Math.min(1, b.used / b.quota) : 0;
        const bar = h('span', { class: 'bar-fill' });
        bar.style.width = `${(fraction * 100).toFixed(1)}%`;
        const from = toMillis(b.valid_from);
        return h('li', { class: `bucket bucket-${b.kind}`, 'data-testid': 'bucket', 'data-kind': b.kind },
          h('div', { class: 'bucket-head' },
            h('span', { class: 'bucket-kind' }, t(`bucket.${b.kind}`)),
            h('span', { class: 'bucket-amount' }, t('bucket.left', { left: this.bytesLeft(b.remaining, b.quota), quota: formatBytes(b.quota, loc) }))),
          h('span', { class: 'bar', 'aria-hidden': 'true' }, bar),
          h('span', { class: 'bucket-expiry muted small' },
            from > now ? `${t('bucket.from', { date: formatDateTime(b.valid_from, loc, tz) })} · ` : '',
            t('bucket.expires', { date: formatDateTime(b.expires_at, loc, tz) })));
      })));
    this.buckets.hidden = false;
  }

  // ---- history and breakdown -----------------------------------------------------------------

  updateToggles() {
    for (const [k, b] of Object.entries(this.historyButtons)) b.setAttribute('aria-pressed', String(k === this.historyMode));
    for (const [k, b] of Object.entries(this.breakdownButtons)) b.setAttribute('aria-pressed', String(k === this.breakdownBy));
  }

  setHistoryMode(mode) {
    this.historyMode = mode;
    this.updateToggles();
    this.loadChart().catch((e) => this.chartError(e));
  }

  setBreakdown(by) {
    this.breakdownBy = by;
    this.updateToggles();
    this.loadBreakdown().catch((e) => this.breakdownError(e));
  }

  /** hourly: points already asked by fetchHourly() (used when still of the current hour). */
  loadHistory(hourly = null) {
    if (this.destroyed || !this.usage) return;
    this.historyLoadedAt = Date.now();
    this.loadChart(hourly).catch((e) => this.chartError(e));
    this.loadBreakdown().catch((e) => this.breakdownError(e));
  }

  chartError(e) {
    this.chart?.destroy();
    this.chart = null;
    replace(this.chartBox, h('p', { class: 'notice notice-error' }, t('history.error', { message: e.message })));
  }

  breakdownError(e) {
    replace(this.breakdownList, h('p', { class: 'notice notice-error' }, t('breakdown.error', { message: e.message })));
  }

  async loadChart(hourly = null) {
    const u = this.usage;
    const loc = locale();
    const now = this.now();
    const tz = u.timezone;
    let x;
    let series;
    let granularity;
    let summary;
    let yMax = null;
    if (this.historyMode === 'hour') {
      granularity = 'hour';
      // Asked before the usage told the server's clock: good while it is the same hour there.
      const asked = hourly && hourly.hour === Math.floor(now / HOUR) * HOUR ? hourly : this.fetchHourly(now);
      const r = await asked.answer;
      const s = hourlySeries(r.points, now, u.forecast?.rate_bytes_per_hour ?? 0, HOURLY_CHART_HOURS);
      x = s.x;
      series = [
        { label: t('history.usedPerHour'), values: s.used, style: 'bars' },
        { label: t('history.forecastRate'), values: s.forecast, style: 'forecast' },
      ];
      const sum = s.used.reduce((a, b) => a + (b ?? 0), 0);
      summary = t('history.hourSummary', { total: formatBytes(sum, loc), rate: formatBytes(u.forecast?.rate_bytes_per_hour ?? 0, loc) });
    } else if (u.plan_kind === 'daily' || !u.cycle) {
      granularity = 'day';
      const from = new Date(now - 13 * DAY).toISOString();
      const r = await get(withQuery(path`/v1/lines/${this.id}/history`, { granularity: 'day', from }));
      const s = dailySeries(r.points, u.plan_kind === 'daily' ? u.quota : null);
      x = s.x;
      series = [{ label: t('history.usedPerDay'), values: s.used, style: 'bars' }];
      if (u.plan_kind === 'daily' && u.quota !== null) series.push({ label: t('history.quota'), values: s.quota, style: 'quota' });
      const sum = s.used.reduce((a, b) => a + b, 0);
      summary = t('history.daySummary', { total: formatBytes(sum, loc), n: s.x.length });
    } else {
      granularity = 'day';
      const r = await get(withQuery(path`/v1/lines/${this.id}/history`, { granularity: 'day', from: u.cycle.start }));
      const s = cycleSeries(r.points, {
        cycleStartMs: toMillis(u.cycle.start),
        cycleEndMs: toMillis(u.cycle.end),
        nowMs: now,
        usedNow: u.used,
        projectedTotal: u.forecast?.projected_cycle_total ?? u.used,
        quota: u.quota,
      });
      x = s.x;
      series = [
        { label: t('history.usedCumulative'), values: s.used, style: 'line' },
        { label: t('history.forecast'), values: s.forecast, style: 'forecast' },
      ];
      if (u.quota !== null && u.quota !== undefined) {
        series.push({ label: t('history.quota'), values: s.quota, style: 'quota' });
        // Where the forecast crosses the allowance is what matters: keep the allowance in view.
        yMax = Math.max(u.quota, u.used) * 1.5;
      }
      summary = t('history.cycleSummary', {
        used: formatBytes(u.used, loc),
        total: formatBytes(u.forecast?.projected_cycle_total ?? u.used, loc),
        date: formatDate(u.cycle.end, loc, tz),
      });
    }
    if (this.destroyed) return;
    if (!this.chart || this.chart.granularity !== granularity || this.chart.timeZone !== tz || this.chart.locale !== loc) {
      this.chart?.destroy();
      replace(this.chartBox);
      this.chart = new TimeChart(this.chartBox, {
        locale: loc, timeZone: tz, granularity, xLabel: t(granularity === 'hour' ? 'history.hour' : 'history.day'),
      });
    }
    this.chart.render(x, series, { yMax });
    this.chartCaption.textContent = summary;
    this.renderChartTable(x, series, granularity, loc, tz);
  }

  renderChartTable(x, series, granularity, loc, tz) {
    const rows = x.map((sec, i) => h('tr', null,
      h('th', { scope: 'row' }, formatDateTime(sec * 1e3, loc, tz)),
      series.map((s) => h('td', null, s.values[i] === null ? '–' : formatBytes(s.values[i], loc)))));
    replace(this.chartTable,
      h('summary', null, t('history.table')),
      h('div', { class: 'table-wrap' }, h('table', { class: 'data-table' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, t(granularity === 'hour' ? 'history.hour' : 'history.day')),
          series.map((s) => h('th', { scope: 'col' }, s.label)))),
        h('tbody', null, rows))));
  }

  async loadBreakdown() {
    const u = this.usage;
    const loc = locale();
    const now = this.now();
    const start = u.cycle ? toMillis(u.cycle.start) : now - 7 * DAY;
    const from = u.cycle ? u.cycle.start : new Date(start).toISOString();
    const by = this.breakdownBy;
    const url = path`/v1/lines/${this.id}/history`;
    // Whole days from daily points, and for a cycle begun inside a local day that day's hours
    // from the start on. (A pass not started yet has no cycle: its last 7 days are shown.)
    const firstDayHours = u.cycle && !isLocalMidnight(from) && now - start <= HOURLY_KEPT_MS
      ? get(withQuery(url, { granularity: 'hour', by, from, to: new Date(start + DAY + 2 * HOUR).toISOString() }))
      : null;
    firstDayHours?.catch(() => {});
    const daily = await get(withQuery(url, { granularity: 'day', by, from }));
    const hours = firstDayHours ? await firstDayHours : null;
    if (this.destroyed || by !== this.breakdownBy) return;
    const rows = breakdown(hours ? periodPoints(daily.points, hours.points, from) : daily.points, by);
    const out = [];
    if (by === 'app' && this.collectApps === false) {
      out.push(h('p', { class: 'note', 'data-testid': 'apps-off' }, t('breakdown.appsOff'), ' ',
        h('a', { href: '/privacy', 'data-link': true }, t('breakdown.appsOffLink'))));
    }
    if (rows.length === 0) {
      out.push(h('p', { class: 'muted', 'data-testid': `${by}-empty` }, t('breakdown.empty')));
    } else {
      out.push(h('ul', { class: 'breakdown-list' }, rows.map((row) => {
        const fill = h('span', { class: 'bar-fill' });
        fill.style.width = `${Math.max(0.5, row.share * 100).toFixed(1)}%`;
        const unattributed = row.name === null;
        return h('li', { class: `breakdown-row${unattributed ? ' unattributed' : ''}`,
          'data-testid': `${by}-row`, 'data-name': unattributed ? '' : row.name },
        h('span', { class: 'breakdown-name' }, unattributed ? t(`breakdown.unattributed.${by}`) : row.name),
        h('span', { class: 'breakdown-value' }, formatBytes(row.bytes, loc),
          h('span', { class: 'muted' }, ` · ${formatPercent(row.share, loc)}`)),
        h('span', { class: 'bar', 'aria-hidden': 'true' }, fill));
      })));
      if (rows.some((row) => row.name === null)) {
        out.push(h('p', { class: 'muted small' }, t(`breakdown.unattributedHelp.${by}`)));
      }
    }
    out.push(h('p', { class: 'muted small' }, t('breakdown.period', { date: u.cycle ? formatDate(u.cycle.start, loc, u.timezone) : formatDate(start, loc, u.timezone) })));
    replace(this.breakdownList, out);
  }
}
