// Turning GET /v1/lines/{id}/history answers into chart series and breakdown rows. Pure: no
// DOM. Times in milliseconds; chart x values in seconds (uPlot's unit).

const HOUR = 3600e3;
const DAY = 86400e3;

function total(p) {
  return (Number(p.bytes_up) || 0) + (Number(p.bytes_down) || 0);
}

/**
 * Hourly bars for [nowMs - hoursBack, nowMs], every hour present (0 when nothing was used),
 * then `hoursAhead` hours of forecast at `ratePerHour` (the forecast's recent rate).
 * -> {x, used, forecast}: aligned arrays (null where a series has no value).
 */
export function hourlySeries(points, nowMs, ratePerHour, hoursBack = 48, hoursAhead = 12) {
  const byHour = new Map();
  for (const p of points) {
    const t = Math.floor(Date.parse(p.start) / HOUR) * HOUR;
    if (Number.isFinite(t)) byHour.set(t, (byHour.get(t) ?? 0) + total(p));
  }
  const current = Math.floor(nowMs / HOUR) * HOUR;
  const x = [];
  const used = [];
  const forecast = [];
  for (let t = current - (hoursBack - 1) * HOUR; t <= current; t += HOUR) {
    x.push(t / 1e3);
    used.push(byHour.get(t) ?? 0);
    forecast.push(t === current && ratePerHour > 0 ? ratePerHour : null);
  }
  if (ratePerHour > 0) {
    for (let i = 1; i <= hoursAhead; i += 1) {
      x.push((current + i * HOUR) / 1e3);
      used.push(null);
      forecast.push(ratePerHour);
    }
  }
  return { x, used, forecast };
}

/**
 * The cycle so far as a cumulative line, and the forecast from now to the cycle's end:
 *   x: cycle start, the end of each day with usage (daily points), now, cycle end;
 *   used: cumulative bytes up to now (ends at `usedNow`, the balance's count);
 *   forecast: from (now, usedNow) to (cycle end, projectedTotal);
 *   quota: the allowance at every x (null for an unlimited plan).
 */
export function cycleSeries(points, { cycleStartMs, cycleEndMs, nowMs, usedNow, projectedTotal, quota }) {
  const rows = [];
  for (const p of points) {
    const t = Date.parse(p.start);
    if (Number.isFinite(t)) rows.push([t, total(p)]);
  }
  rows.sort((a, b) => a[0] - b[0]);
  const now = Math.min(Math.max(nowMs, cycleStartMs), cycleEndMs);
  const xs = [cycleStartMs];
  const used = [0];
  let sum = 0;
  for (const [t, bytes] of rows) {
    sum += bytes;
    const end = Math.min(t + DAY, now);
    if (end <= xs[xs.length - 1] || end >= now) continue;
    xs.push(end);
    used.push(sum);
  }
  if (now > xs[xs.length - 1]) {
    xs.push(now);
    used.push(Math.max(usedNow, used[used.length - 1]));
  } else {
    used[used.length - 1] = Math.max(usedNow, used[used.length - 1]);
  }
  const forecast = used.map(() => null);
  forecast[forecast.length - 1] = used[used.length - 1];
  if (cycleEndMs > xs[xs.length - 1]) {
    xs.push(cycleEndMs);
    used.push(null);
    forecast.push(Math.max(projectedTotal ?? 0, forecast[forecast.length - 1]));
  }
  const q = xs.map(() => (quota === null || quota === undefined ? null : quota));
  return { x: xs.map((t) => t / 1e3), used, forecast, quota: q };
}

/**
 * Daily bars for the last `days` local days (a daily plan's history: one cycle is one day).
 * Days come from the points' own starts (local midnights); days without a point are absent.
 * -> {x, used, quota}
 */
export function dailySeries(points, quota) {
  const byDay = new Map();
  for (const p of points) {
    const t = Date.parse(p.start);
    if (Number.isFinite(t)) byDay.set(t, (byDay.get(t) ?? 0) + total(p));
  }
  const days = [...byDay.keys()].sort((a, b) => a - b);
  return {
    x: days.map((t) => t / 1e3),
    used: days.map((t) => byDay.get(t)),
    quota: days.map(() => (quota === null || quota === undefined ? null : quota)),
  };
}

/**
 * Per-app (key 'app') or per-device (key 'device') totals: [{name, bytes, share}], largest
 * first. `name` null is the unattributed part: bytes the network counted that no app or
 * device report explains. `share` is of the total of all rows.
 */
export function breakdown(points, key) {
  const sums = new Map();
  for (const p of points) {
    const name = p[key] === undefined ? null : p[key];
    sums.set(name, (sums.get(name) ?? 0) + total(p));
  }
  const all = [...sums.values()].reduce((a, b) => a + b, 0);
  return [...sums.entries()]
    .filter(([, bytes]) => bytes > 0)
    .map(([name, bytes]) => ({ name, bytes, share: all > 0 ? bytes / all : 0 }))
    .sort((a, b) => b.bytes - a.bytes || String(a.name).localeCompare(String(b.name)));
}

/** Whether an RFC 3339 time is a midnight of its own offset ("2026-11-01T00:00:00+09:00"). */
export function isLocalMidnight(iso) {
  return /T00:00(?::00(?:\.0+)?)?(?:Z|[+-]\d\d:\d\d)$/.test(String(iso ?? ''));
}

/**
 * The breakdown's points for a period from `fromIso` (the cycle's start, an RFC 3339 time in the
 * line's zone) to now, from daily points (one per local day and name) and, when the period starts
 * inside a local day, that day's hourly points from the start on: the first day's daily points
 * (which hold the whole day) are replaced by its hours. A point's local day is the date its
 * `start` is written with (the server writes both in the line's zone); hours before `fromIso`'s
 * hour are dropped. Hourly points of later days are ignored (their days are in `daily`).
 */
export function periodPoints(daily, hourly, fromIso) {
  if (isLocalMidnight(fromIso)) return daily;
  const firstDay = String(fromIso).slice(0, 10);
  const fromHour = Math.floor(Date.parse(fromIso) / HOUR) * HOUR;
  return [
    ...daily.filter((p) => String(p.start).slice(0, 10) !== firstDay),
    ...hourly.filter((p) => String(p.start).slice(0, 10) === firstDay && Date.parse(p.start) >= fromHour),
  ];
}
