// The page-load benchmark's browser side (bench/page_load.sh starts the server and runs this):
// provisions DAYS of hourly usage for one subscriber line through the admin API, signs in through
// the login page in Debian's headless Chromium (playwright-core), then measures how long the
// subscriber page takes from navigation start until it is fully rendered:
//
//   numbers    the card's remaining / used / quota are in the DOM
//   chart      the history chart's canvas is in the DOM (uPlot draws it as it inserts it)
//   breakdown  the "what used it" rows are in the DOM
//   rendered   all three, then the next animation frame (the frame that paints them)
//
// measured in the page (performance.now(), whose zero is the navigation start) by a
// MutationObserver installed before the page's own scripts; nothing in web/ is changed for it.
// The script waits on a promise of that observer (one page.evaluate), not with Playwright's
// waitForFunction / locators: those inject Playwright's selector engine into the page, which took
// ~140 ms of the page's main thread in the middle of the load on this machine.
//
//   cold  a new browser context (empty HTTP cache) with the session cookie: the first visit
//   warm  a reload in that context: HTML, JS and CSS revalidated (Cache-Control: no-cache ->
//         If-None-Match -> 304), the API's JSON fetched anew (the page asks with no-store)
//   login the sign-in form submitted -> the dashboard rendered (cache warm from the login page)
//
// Usage: node bench/page_load.mjs URL TOKEN ACCOUNT PASSWORD LINE [RUNS] [DAYS]
// Prints one table (median and p90 of each mark, in ms) and one JSON line ("# json ...").

import { adminGet, launchChromium, postUsage } from '../tests/browser/lib.mjs';

const [URL_, TOKEN, ACCOUNT, PASSWORD, LINE, RUNS_ARG, DAYS_ARG] = process.argv.slice(2);
const RUNS = Number(RUNS_ARG ?? 10);
const DAYS = Number(DAYS_ARG ?? 90);
const HOUR = 3600e3;
const WAIT = 30_000;

// ---- data: DAYS x 24 hours of usage by app and device -----------------------------------------

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const APPS = [['youtube', 'iPhone 15', 0.4], ['google-maps', 'iPhone 15', 0.12], ['line', 'iPhone 15', 0.1],
  ['instagram', 'iPhone 15', 0.18], ['netflix', 'iPad', 0.12], [null, 'iPad', 0.08]];

function history(now) {
  const rand = rng(90);
  const records = [];
  const start = Math.floor((now - DAYS * 24 * HOUR) / HOUR) * HOUR;
  for (let t = start; t + HOUR <= Math.floor(now / HOUR) * HOUR; t += HOUR) {
    const jstHour = new Date(t + 9 * HOUR).getUTCHours();
    // Quiet at night, busy at lunch and in the evening: ~150-250 MB a day.
    const base = jstHour < 7 ? 0.3 : jstHour >= 19 ? 3 : jstHour >= 12 && jstHour < 14 ? 2 : 1;
    const hourBytes = base * (3 + rand() * 6) * 1e6;
    for (const [app, device, share] of APPS) {
      if (rand() < 0.3 && base < 1) continue;
      const down = Math.round(hourBytes * share * (0.6 + rand() * 0.8));
      const r = {
        id: `pl-${t / HOUR}-${app ?? 'none'}-${device}`, line: LINE, bytes_up: Math.round(down / 20), bytes_down: down,
        start: new Date(t).toISOString(), end: new Date(t + HOUR - 1000).toISOString(), device, source: 'bench',
      };
      if (app) r.app = app;
      records.push(r);
    }
  }
  return records;
}

// ---- measuring --------------------------------------------------------------------------------

// Runs in every document before the page's scripts: records when each part first appears.
function observe() {
  const marks = {};
  window.__pageLoad = marks;
  let done;
  window.__pageLoadDone = new Promise((resolve) => {
    done = resolve;
  });
  const has = (sel) => {
    const el = document.querySelector(sel);
    return el !== null && el.textContent !== null;
  };
  const check = () => {
    const now = performance.now();
    if (!marks.numbers && has('[data-testid="remaining"]') && has('[data-testid="used"]') && has('[data-testid="quota"]')) {
      marks.numbers = now;
    }
    if (!marks.chart && document.querySelector('[data-testid="history-chart"] canvas')) marks.chart = now;
    if (!marks.breakdown && document.querySelector('[data-testid="app-row"]')) marks.breakdown = now;
    if (marks.numbers && marks.chart && marks.breakdown && !marks.all) {
      marks.all = now;
      requestAnimationFrame(() => {
        marks.rendered = performance.now();
        done();
      });
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, characterData: true });
}

async function collect(page) {
  await page.evaluate((wait) => Promise.race([window.__pageLoadDone, new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error(`not rendered after ${wait} ms: ${JSON.stringify(window.__pageLoad)}`)), wait);
  })]), WAIT);
  return page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    // Chromium reports a revalidated (304) file as a transfer of its headers only: a body of 0
    // or smaller than the cached one. The API's JSON always has a body.
    const kind = (e) => {
      if (e.transferSize === 0) return 'cache';
      if (e.encodedBodySize === 0 || e.transferSize < e.encodedBodySize) return '304';
      return 'network';
    };
    const count = (k) => res.filter((e) => kind(e) === k).length;
    return {
      ...window.__pageLoad,
      domContentLoaded: nav.domContentLoadedEventEnd,
      load: nav.loadEventEnd,
      requests: res.length + 1,
      revalidated: count('304') + (kind(nav) === '304' ? 1 : 0),
      fromNetwork: count('network') + (kind(nav) === 'network' ? 1 : 0),
      bytes: res.reduce((a, e) => a + e.transferSize, nav.transferSize),
      api: res.filter((e) => new URL(e.name).pathname.startsWith('/v1/')).length,
      // Each API call: what it asked, when it started and how long it took, its size.
      calls: res.filter((e) => new URL(e.name).pathname.startsWith('/v1/') && !e.name.includes('/v1/stream'))
        .map((e) => {
          const u = new URL(e.name);
          const q = ['granularity', 'by'].map((k) => u.searchParams.get(k)).filter(Boolean).join(',');
          return { call: `${u.pathname.replace(/\/v1\/lines\/[^/]+/, '/v1/lines/{id}')}${q ? ` (${q})` : ''}`,
            start: e.startTime, ms: e.duration, kib: e.encodedBodySize / 1024 };
        }),
    };
  });
}

function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}

const COLUMNS = [
  ['HTML received', 'responseEnd'], ['DOMContentLoaded', 'domContentLoaded'], ['numbers', 'numbers'],
  ['chart', 'chart'], ['breakdown', 'breakdown'], ['rendered', 'rendered'],
];

function header() {
  const cols = ['load ', 'runs', ...COLUMNS.map(([t]) => t.padEnd(13)), 'requests', '304s', 'API', '  KiB'];
  return [`| ${cols.join(' | ')} |`, `|${cols.map((c) => '-'.repeat(c.length + 2)).join('|')}|`];
}

function row(name, runs) {
  const cell = (k, width) => {
    const v = runs.map((r) => r[k]).filter((x) => Number.isFinite(x));
    const s = v.length ? `${quantile(v, 0.5).toFixed(0)} / ${quantile(v, 0.9).toFixed(0)}` : '–';
    return s.padStart(Math.max(width, 13));
  };
  const r0 = runs[0] ?? {};
  return `| ${name.padEnd(5)} | ${String(runs.length).padStart(4)} | `
    + `${COLUMNS.map(([t, k]) => cell(k, t.length)).join(' | ')} | `
    + `${String(r0.requests ?? '').padStart(8)} | ${String(r0.revalidated ?? '').padStart(4)} | ${String(r0.api ?? '').padStart(3)} | `
    + `${((r0.bytes ?? 0) / 1024).toFixed(0).padStart(5)} |`;
}

async function main() {
  // The data.
  const now = Date.now();
  const records = history(now);
  const t0 = Date.now();
  for (let i = 0; i < records.length; i += 2000) await postUsage(URL_, TOKEN, records.slice(i, i + 2000));
  const usage = await adminGet(URL_, TOKEN, `/v1/lines/${LINE}/usage`);
  const from = new Date(now - DAYS * 24 * HOUR - HOUR).toISOString();
  const hourly = await adminGet(URL_, TOKEN, `/v1/lines/${LINE}/history?granularity=hour&from=${from}`);
  const daily = await adminGet(URL_, TOKEN, `/v1/lines/${LINE}/history?granularity=day&from=${from}`);
  const total = records.reduce((a, r) => a + r.bytes_up + r.bytes_down, 0);
  console.log(`# data: ${records.length} records posted in ${((Date.now() - t0) / 1000).toFixed(1)} s, `
    + `${(total / 1e9).toFixed(2)} GB over ${DAYS} days; the line's history: ${hourly.points.length} hourly points `
    + `(first ${hourly.points[0]?.start}), ${daily.points.length} daily points; this cycle: `
    + `${(usage.used / 1e9).toFixed(2)} GB used since ${usage.cycle?.start}`);

  const browser = await launchChromium();
  console.log(`# chromium ${browser.version()}, ${RUNS} runs of each`);
  const cold = [];
  const warm = [];
  const login = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      // Sign in through the form, in a context of its own (its cache warms on the login page).
      const signInCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US' });
      await signInCtx.addInitScript(observe);
      const sp = await signInCtx.newPage();
      await sp.goto(`${URL_}/login`);
      await sp.locator('[data-testid="login-form"]').waitFor({ timeout: WAIT });
      await sp.fill('[data-testid="login-account"]', ACCOUNT);
      await sp.fill('[data-testid="login-password"]', PASSWORD);
      const submitAt = await sp.evaluate(() => performance.now());
      await sp.click('[data-testid="login-submit"]');
      const m = await collect(sp);
      login.push({ ...m, rendered: m.rendered - submitAt, numbers: m.numbers - submitAt, chart: m.chart - submitAt,
        breakdown: m.breakdown - submitAt, responseEnd: NaN, domContentLoaded: NaN });
      const state = await signInCtx.storageState();
      await signInCtx.close();

      // Cold: a fresh context (empty cache) holding only that session cookie.
      const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US', storageState: state });
      await ctx.addInitScript(observe);
      const page = await ctx.newPage();
      await page.goto(`${URL_}/`);
      cold.push({ ...(await collect(page)), responseEnd: await page.evaluate(() => performance.getEntriesByType('navigation')[0].responseEnd) });
      // Warm: the same page again.
      await page.reload();
      warm.push({ ...(await collect(page)), responseEnd: await page.evaluate(() => performance.getEntriesByType('navigation')[0].responseEnd) });
      await ctx.close();
    }
  } finally {
    await browser.close();
  }
  console.log('');
  console.log('ms from navigation start (login: from the click on "Sign in"), median / p90; requests, 304s, '
    + 'API calls and KiB transferred of the first run');
  for (const line of header()) console.log(line);
  console.log(row('cold', cold));
  console.log(row('warm', warm));
  console.log(row('login', login));
  // The API calls of the cold loads: when the page asked (from navigation start), how long each took.
  console.log('');
  console.log('API calls of the cold loads: started at / took (ms, median / p90), response KiB');
  const calls = new Map();
  for (const r of cold) for (const c of r.calls ?? []) {
    if (!calls.has(c.call)) calls.set(c.call, []);
    calls.get(c.call).push(c);
  }
  for (const [name, list] of calls) {
    const q = (k, p) => quantile(list.map((c) => c[k]), p).toFixed(0);
    console.log(`| ${name.padEnd(44)} | ${`${q('start', 0.5)} / ${q('start', 0.9)}`.padStart(11)} | `
      + `${`${q('ms', 0.5)} / ${q('ms', 0.9)}`.padStart(9)} | ${quantile(list.map((c) => c.kib), 0.5).toFixed(1).padStart(6)} |`);
  }
  console.log(`# json ${JSON.stringify({ days: DAYS, records: records.length, cold, warm, login })}`);
}

await main();
