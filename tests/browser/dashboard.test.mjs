// The dashboard end to end, in real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): run by tests/test_dashboard.py, which starts the server, provisions lines,
// posts their usage and passes what the page must show as a JSON file:
//
//   node tests/browser/dashboard.test.mjs SPEC.json
//
// SPEC: {url, token, artifacts (a directory for the screenshots), subscriber, other, live, alert,
// password, operator} (see test_dashboard.py, which writes it). Each check prints "ok - NAME (MS ms)" or
// "not ok - NAME: why"; the last line is "RESULTS {json}" with every check, the screenshots
// taken and what the page sent outside the server (must be nothing). Exit status 0 only when
// every check passed.
//
// No fixed sleeps: every wait is for a condition on the page (with a timeout that fails the
// check with what was there instead).

import fs from 'node:fs';
import { adminGet, guardNetwork, launchChromium, postUsage, assert, assertEq, log, Run } from './lib.mjs';

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const BASE = spec.url;
const WAIT = 15_000;
const run = new Run(spec.artifacts);
const { blocked, pageErrors } = run;
const check = (name, f) => run.check(name, f);
const shot = (page, name, opts) => run.shot(page, name, opts);

/** Waits until `sel` (inside `scope`, a selector or null) has exactly `expected` as its text. */
async function waitText(page, sel, expected, { timeout = WAIT, what = sel, contains = false } = {}) {
  try {
    await page.waitForFunction(([s, want, part]) => {
      const el = document.querySelector(s);
      if (!el) return false;
      const text = el.textContent.trim();
      return part ? text.includes(want) : text === want;
    }, [sel, expected, contains], { timeout, polling: 100 });
  } catch {
    const now = await page.evaluate((s) => document.querySelector(s)?.textContent.trim() ?? '(no such element)', sel);
    throw new Error(`${what}: waited ${timeout} ms for ${contains ? 'text containing' : 'text'} ${JSON.stringify(expected)}, `
      + `the page shows ${JSON.stringify(now)}`);
  }
}

async function text(page, sel) {
  return page.evaluate((s) => document.querySelector(s)?.textContent.trim() ?? null, sel);
}

/**
 * Calls a formatter of the page's own web/js/format.js in the page, in the page's current
 * locale ('$LOC' in args): the expected text is formatted exactly the way the UI formats it.
 */
async function fmt(page, fn, ...args) {
  return page.evaluate(async ([name, list]) => {
    const f = await import('/js/format.js');
    const i18n = await import('/js/i18n.js');
    const loc = i18n.locale();
    return f[name](...list.map((a) => (a === '$LOC' ? loc : a)));
  }, [fn, args]);
}

async function pageLocale(page) {
  return page.evaluate(async () => (await import('/js/i18n.js')).locale());
}

/** A message of web/js/messages.js in a language. */
async function msg(page, lang, key) {
  return page.evaluate(async ([l, k]) => (await import('/js/messages.js')).MESSAGES[l][k], [lang, key]);
}

const UNITS = { B: 1, byte: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };

/**
 * "1.25 GB" -> bytes, with the tolerance its digits allow: an independent check that what the
 * page shows is the API's number (not just that it went through the same formatter).
 */
function parseShown(s) {
  const m = /([\d.,]+)\s*(kB|MB|GB|TB|B|byte)/.exec(s);
  if (!m) return null;
  const digits = m[1].replace(/,/g, '');
  const decimals = digits.includes('.') ? digits.split('.')[1].length : 0;
  const unit = UNITS[m[2]];
  return { bytes: Number(digits) * unit, tolerance: 0.5 * 10 ** -decimals * unit * 1.0001 };
}

function assertShows(shown, bytes, what) {
  const p = parseShown(shown);
  assert(p, `${what}: ${JSON.stringify(shown)} is not a byte quantity`);
  assert(Math.abs(p.bytes - bytes) <= p.tolerance,
    `${what}: the page shows ${JSON.stringify(shown)} but the API says ${bytes} bytes`);
}

const card = (line) => `[data-testid="line-card"][data-line="${line}"]`;

async function noOverflow(page, width, what) {
  const r = await page.evaluate(() => ({
    scroll: document.scrollingElement.scrollWidth,
    client: document.scrollingElement.clientWidth,
    wide: [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5
        && !el.closest('.table-wrap, .uplot, .visually-hidden, .toasts'))
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''}`
        + `${el.dataset.testid ? `[${el.dataset.testid}]` : ''} right=${Math.round(el.getBoundingClientRect().right)}`),
  }));
  assert(r.scroll <= width, `${what}: the page is ${r.scroll} px wide in a ${width} px viewport `
    + `(horizontal scrolling); wider elements: ${r.wide.join(', ') || 'none found'}`);
}

async function signIn(page, account, password) {
  await page.goto(`${BASE}/`);
  await page.waitForURL(/\/login$/, { timeout: WAIT });
  await page.locator('[data-testid="login-form"]').waitFor({ timeout: WAIT });
  await page.fill('[data-testid="login-account"]', account);
  await page.fill('[data-testid="login-password"]', password);
  await page.click('[data-testid="login-submit"]');
  await page.waitForURL(`${BASE}/`, { timeout: WAIT });
}

/** The subscriber's card fully drawn: numbers, the chart's canvas and the breakdown rows. */
async function cardReady(page, line) {
  const c = card(line);
  await page.locator(`${c} [data-testid="remaining"]`).waitFor({ timeout: WAIT });
  await page.locator(`${c} [data-testid="history-chart"] canvas`).first().waitFor({ timeout: WAIT });
  await page.locator(`${c} [data-testid="app-row"]`).first().waitFor({ timeout: WAIT });
}

async function liveStatus(page) {
  await page.waitForFunction(() => document.querySelector('[data-testid="live-status"]')?.classList.contains('live-live'),
    null, { timeout: WAIT }).catch(async () => {
    throw new Error(`the live status never became "live": ${await text(page, '[data-testid="live-status"]')}`);
  });
}

async function subscriberUsage(page, line) {
  return page.evaluate(async (id) => {
    const r = await fetch(`/v1/lines/${encodeURIComponent(id)}/usage`, { cache: 'no-store' });
    return r.json();
  }, line);
}

/** What the card must show for a usage object, formatted by the page's own rules. */
async function expectedCard(page, u) {
  const loc = await pageLocale(page);
  return page.evaluate(async ([usage, l]) => {
    const f = await import('/js/format.js');
    const consumed = Math.max(0, usage.quota - usage.remaining);
    return {
      remaining: usage.remaining === 0
        ? f.formatBytes(0, l, { unit: f.byteUnitFor(usage.quota).unit }) : f.formatBytes(usage.remaining, l),
      used: `${f.formatBytes(usage.used, l)} (${f.formatPercent(Math.min(1, consumed / usage.quota), l)})`,
      quota: f.formatBytes(usage.quota, l),
      resetAt: f.formatDateTime(usage.cycle.end, l, usage.timezone),
    };
  }, [u, loc]);
}

async function checkCard(page, line, u, what) {
  const want = await expectedCard(page, u);
  const c = card(line);
  await waitText(page, `${c} [data-testid="remaining"]`, want.remaining, { what: `${what}: remaining` });
  await waitText(page, `${c} [data-testid="used"]`, want.used, { what: `${what}: used` });
  await waitText(page, `${c} [data-testid="quota"]`, want.quota, { what: `${what}: quota` });
  assertShows(await text(page, `${c} [data-testid="remaining"]`), u.remaining, `${what}: remaining`);
  assertShows(await text(page, `${c} [data-testid="used"]`), u.used, `${what}: used`);
  assertShows(await text(page, `${c} [data-testid="quota"]`), u.quota, `${what}: quota`);
  return want;
}

async function main() {
  fs.mkdirSync(spec.artifacts, { recursive: true });
  const browser = await launchChromium();
  log(`# chromium ${browser.version()} at ${BASE}`);
  const S = spec.subscriber;
  const O = spec.other;
  const contexts = [];
  async function newContext(opts) {
    const ctx = await browser.newContext({ locale: 'en-US', timezoneId: 'Europe/London', ...opts });
    await guardNetwork(ctx, BASE, blocked);
    ctx.on('page', (p) => {
      p.on('pageerror', (e) => pageErrors.push(`${p.url()}: ${e.message}`));
      p.on('console', (m) => {
        if (m.type() === 'error' && !/status of (401|403|404)/.test(m.text())) pageErrors.push(`${p.url()}: console: ${m.text()}`);
      });
    });
    contexts.push(ctx);
    return ctx;
  }

  try {
    // ---- 7a. the login page on a phone, before anyone signs in --------------------------------
    const phone = await newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const mp = await phone.newPage();
    await check('login page (390 px): form, no horizontal overflow, screenshot', async () => {
      await mp.goto(`${BASE}/`);
      await mp.waitForURL(/\/login$/, { timeout: WAIT });
      await mp.locator('[data-testid="login-form"]').waitFor({ timeout: WAIT });
      await noOverflow(mp, 390, 'login');
      await shot(mp, 'login', { fullPage: false });
    });

    // ---- 1. sign in, the numbers of GET /v1/lines/{id}/usage --------------------------------
    const desk = await newContext({ viewport: { width: 1280, height: 900 } });
    const page = await desk.newPage();
    let usage0 = null;
    await check('1 sign-in with account and password shows the API\'s numbers', async () => {
      await page.goto(`${BASE}/login`);
      await page.locator('[data-testid="login-form"]').waitFor({ timeout: WAIT });
      // A wrong password first: refused with a message, still on the login page.
      await page.fill('[data-testid="login-account"]', S.account);
      await page.fill('[data-testid="login-password"]', 'not-the-password');
      await page.click('[data-testid="login-submit"]');
      await waitText(page, '[data-testid="login-error"]', await msg(page, 'en', 'login.error.credentials'), { what: 'wrong password' });
      assert(page.url().endsWith('/login'), `a wrong password left the login page: ${page.url()}`);
      await signIn(page, S.account, S.password);
      await page.locator(card(S.line)).waitFor({ timeout: WAIT });
      await cardReady(page, S.line);
      usage0 = await adminGet(BASE, spec.token, `/v1/lines/${S.line}/usage`);
      const mine = await subscriberUsage(page, S.line);
      assertEq(mine.used, usage0.used, 'GET usage as the subscriber vs the admin token: used');
      assertEq(usage0.used, S.expect.used, 'the API\'s used bytes (what the test posted)');
      const want = await checkCard(page, S.line, usage0, 'signed in');
      // The API's own display strings say the same numbers.
      assertShows(usage0.display.used, usage0.used, 'API display.used');
      assertShows(want.remaining, Number(usage0.remaining), 'remaining');
      const c = card(S.line);
      assertEq(await page.getAttribute(`${c} [data-testid="state"]`, 'data-state'), 'normal', 'state');
      // Dates in the line's time zone (Asia/Tokyo), although the browser is in Europe/London.
      await waitText(page, `${c} [data-testid="reset-countdown"] time`, want.resetAt, { what: 'reset time' });
      assert(want.resetAt.includes('GMT+9'), `the reset time is not in the line's zone: ${want.resetAt}`);
      assert(await page.isVisible(`${c} [data-testid="forecast"]`), 'no forecast');
      assert((await text(page, '.page-head')).includes(S.name), 'the account\'s name is not shown');
      // The only line's card takes the whole row at 1280 px (two lines would share it).
      const widths = await page.evaluate((sel) => ({
        card: document.querySelector(sel).getBoundingClientRect().width,
        row: document.querySelector('.cards').getBoundingClientRect().width,
      }), c);
      assert(Math.abs(widths.card - widths.row) < 1, `a lone card is ${widths.card} px wide in a ${widths.row} px row`);
    });

    await check('1b usage per app and per device, unattributed shown as such', async () => {
      const c = card(S.line);
      const rows = async (by) => page.$$eval(`${c} [data-testid="${by}-row"]`, (els) => els.map((el) => ({
        name: el.dataset.name, value: el.querySelector('.breakdown-value')?.firstChild?.textContent.trim(),
      })));
      for (const [by, want] of [['app', S.expect.apps], ['device', S.expect.devices]]) {
        if (by === 'device') {
          await page.click(`${c} [data-testid="breakdown-device"]`);
          await page.locator(`${c} [data-testid="device-row"]`).first().waitFor({ timeout: WAIT });
        }
        const got = await rows(by);
        const names = got.map((r) => r.name).sort();
        const wantNames = Object.keys(want).map((k) => (k === '' ? '' : k)).sort();
        assertEq(JSON.stringify(names), JSON.stringify(wantNames), `${by} rows`);
        for (const r of got) {
          assertEq(r.value, await fmt(page, 'formatBytes', want[r.name], '$LOC'), `${by} ${r.name || '(unattributed)'}`);
        }
      }
      await page.click(`${c} [data-testid="breakdown-app"]`);
      await page.locator(`${c} [data-testid="app-row"]`).first().waitFor({ timeout: WAIT });
    });

    // ---- 2. live: new usage changes the numbers without a reload ------------------------------
    await check('2 live: usage posted through the admin API shows without a reload', async () => {
      await liveStatus(page);
      await page.evaluate(() => { window.__noReload = true; });
      const before = await text(page, `${card(S.line)} [data-testid="used"]`);
      await postUsage(BASE, spec.token, spec.live.records);
      const u = await adminGet(BASE, spec.token, `/v1/lines/${S.line}/usage`);
      assertEq(u.used, usage0.used + spec.live.bytes, 'used after the live post');
      await checkCard(page, S.line, u, 'after the live post');
      assert(before !== await text(page, `${card(S.line)} [data-testid="used"]`), 'the used text did not change');
      assert(await page.evaluate(() => window.__noReload === true), 'the page reloaded');
    });

    // ---- 3. alerts: a threshold set in the page fires and shows ------------------------------
    let alertLabel = null;
    let alertShown = null;
    await check('3 alerts: a threshold added in the alert settings fires and shows on the page', async () => {
      await page.click('nav a[href="/alerts"]');
      await page.waitForURL(`${BASE}/alerts`, { timeout: WAIT });
      const form = page.locator(`[data-testid="alert-form"][data-line="${S.line}"]`);
      await form.waitFor({ timeout: WAIT });
      const before = await page.locator('[data-testid="threshold-row"]').count();
      await page.click('[data-testid="threshold-add"]');
      const row = page.locator('[data-testid="threshold-row"]').nth(before);
      await row.locator('[data-testid="threshold-kind"]').selectOption('left');
      await row.locator('[data-testid="threshold-value"]').fill(String(spec.alert.amount));
      await row.locator('[data-testid="threshold-unit"]').selectOption(spec.alert.unit);
      await page.click('[data-testid="alerts-save"]');
      await waitText(page, '[data-testid="alerts-status"]', await msg(page, 'en', 'alerts.saved'), { what: 'saving the alerts' });
      const saved = await adminGet(BASE, spec.token, `/v1/lines/${S.line}/alerts`);
      assertEq(saved.inherited, false, 'inherited after saving');
      // The server keeps a "left" threshold in its own spelling ("1500 MB left" may come back as
      // "1.5 GB left"): the new one is the label that was not there before, of the same bytes.
      const added = saved.thresholds.filter((l) => !spec.alert.before.includes(l));
      assertEq(added.length, 1, `new thresholds in ${JSON.stringify(saved.thresholds)}`);
      const label = added[0];
      const m = /^([\d.]+) (MB|GB) left$/.exec(label);
      assert(m && Math.round(Number(m[1]) * UNITS[m[2]]) === spec.alert.bytes,
        `the saved threshold ${label} is not ${spec.alert.amount} ${spec.alert.unit} left`);
      const shownAmount = `${m[1]} ${m[2]}`;
      alertLabel = label;
      alertShown = shownAmount;
      await shot(page, 'alerts');

      await page.click('nav a[href="/"]');
      await page.waitForURL(`${BASE}/`, { timeout: WAIT });
      await cardReady(page, S.line);
      await liveStatus(page);
      await postUsage(BASE, spec.token, spec.alert.records);
      const alert = `[data-testid="live-alert"].event-threshold`;
      await page.waitForFunction(([sel, amount]) => [...document.querySelectorAll(sel)]
        .some((el) => el.textContent.includes(amount)), [alert, shownAmount], { timeout: WAIT })
        .catch(async () => {
          throw new Error(`no threshold alert for ${label} on the page; alerts shown: `
            + `${JSON.stringify(await page.$$eval('[data-testid="live-alert"]', (els) => els.map((e) => e.textContent)))}`);
        });
      const ev = (await adminGet(BASE, spec.token, '/v1/events?after=0&limit=1000')).events
        .filter((e) => e.type === 'threshold' && e.line === S.line && e.threshold === label);
      assertEq(ev.length, 1, `threshold events "${label}" in GET /v1/events`);
      const u = await adminGet(BASE, spec.token, `/v1/lines/${S.line}/usage`);
      await checkCard(page, S.line, u, 'after the alert');
      await cardReady(page, S.line);
      await shot(page, 'dashboard-desktop');
    });

    // ---- 3b. alerts raised before the page was opened -----------------------------------------
    await check('3b recent alerts: a page opened after the alert lists it (GET /v1/lines/{id}/events)', async () => {
      assert(alertLabel, 'check 3 raised no alert');
      const ALERT_TYPES = ['threshold', 'pace', 'exhausted', 'throttled', 'blocked', 'restored'];
      // The operator's view of the same: the whole event log, this line's alerts, newest first.
      const log = (await adminGet(BASE, spec.token, '/v1/events?after=0&limit=1000')).events
        .filter((e) => e.line === S.line && ALERT_TYPES.includes(e.type)).reverse();
      const raised = log.find((e) => e.type === 'threshold' && e.threshold === alertLabel);
      assert(raised, `no "${alertLabel}" alert in GET /v1/events`);
      const fresh = await desk.newPage();
      try {
        await fresh.goto(`${BASE}/`);
        await cardReady(fresh, S.line);
        // The line's alerts as the subscriber's session reads them: the same, newest first.
        const mine = await fresh.evaluate(async (id) => {
          const r = await fetch(`/v1/lines/${encodeURIComponent(id)}/events?limit=20`);
          return { status: r.status, body: await r.json() };
        }, S.line);
        assertEq(mine.status, 200, 'GET /v1/lines/{id}/events as the subscriber');
        assertEq(JSON.stringify(mine.body.events.map((e) => e.seq)), JSON.stringify(log.slice(0, 20).map((e) => e.seq)),
          'the line\'s alerts (seq, newest first) vs GET /v1/events');
        // Listed on the page as soon as it opens, before anything new happens.
        const item = `[data-testid="recent-alert"][data-seq="${raised.seq}"]`;
        await fresh.locator(item).waitFor({ timeout: WAIT }).catch(async () => {
          throw new Error(`the alert ${raised.seq} (${alertLabel}) is not listed; the list: `
            + `${JSON.stringify(await fresh.$$eval('[data-testid="recent-alerts"] li', (els) => els.map((e) => e.textContent)))}`);
        });
        assert((await text(fresh, item)).includes(alertShown), `the listed alert does not say ${alertShown}: ${await text(fresh, item)}`);
        const seqs = await fresh.$$eval('[data-testid="recent-alerts"] li', (els) => els.map((e) => Number(e.dataset.seq)));
        assertEq(JSON.stringify(seqs), JSON.stringify(mine.body.events.map((e) => e.seq)), 'the alerts listed on the page');
        assertEq(await fresh.locator('[data-testid="live-alert"]').count(), 0, 'alerts marked as arrived while the page was open');
      } finally {
        await fresh.close();
      }
    });

    // ---- 5. another account's line ------------------------------------------------------------
    await check('5 another account\'s line: not found in the API and the UI, nothing of it in the page', async () => {
      // Its API routes from the page (the session's cookie): exactly what a missing line answers.
      const probe = await page.evaluate(async ([other, missing]) => {
        const out = [];
        for (const suffix of ['', '/usage', '/history?granularity=hour&by=app', '/alerts', '/events']) {
          const a = await fetch(`/v1/lines/${other}${suffix}`);
          const b = await fetch(`/v1/lines/${missing}${suffix}`);
          out.push({ suffix, status: a.status, body: await a.text(), missingStatus: b.status, missingBody: await b.text() });
        }
        const s = await fetch(`/v1/stream?line=${other}`);
        out.push({ suffix: 'stream', status: s.status, body: await s.text(), missingStatus: 404, missingBody: null });
        return out;
      }, [O.line, 'no-such-line']);
      for (const p of probe) {
        assertEq(p.status, 404, `GET ${O.line}${p.suffix} from the page`);
        if (p.missingBody !== null) {
          assertEq(p.body.replaceAll(O.line, 'no-such-line'), p.missingBody, `GET ${p.suffix}: another account's line vs a missing one`);
        }
        for (const secret of O.secrets.filter((s) => s !== O.line)) {
          assert(!p.body.includes(secret), `GET ${O.line}${p.suffix} answered ${secret}`);
        }
      }
      // Its pages: an operator's URL sends the subscriber home; a made-up one is "not found".
      await page.goto(`${BASE}/admin/lines/${O.line}`);
      await page.waitForURL(`${BASE}/`, { timeout: WAIT });
      await page.locator(card(S.line)).waitFor({ timeout: WAIT });
      await page.goto(`${BASE}/alerts?line=${O.line}`);
      await page.locator(`[data-testid="alert-form"][data-line="${S.line}"]`).waitFor({ timeout: WAIT });
      assertEq(await page.locator(`[data-line="${O.line}"]`).count(), 0, 'elements of the other line on /alerts');
      await page.goto(`${BASE}/lines/${O.line}`);
      await waitText(page, 'main h1', await msg(page, 'en', 'notfound.title'), { what: 'an unknown page' });
      await page.goto(`${BASE}/`);
      await cardReady(page, S.line);
      const html = await page.content();
      for (const secret of O.secrets) assert(!html.includes(secret), `the dashboard's DOM holds ${secret}`);
      assertEq(await page.locator('[data-testid="line-card"]').count(), 1, 'line cards');
    });

    // ---- privacy (screenshot) -----------------------------------------------------------------
    await check('privacy page shows the per-app setting as saved', async () => {
      await page.click('nav a[href="/privacy"]');
      await page.waitForURL(`${BASE}/privacy`, { timeout: WAIT });
      const toggle = page.locator('[data-testid="privacy-collect-apps"]');
      await toggle.waitFor({ timeout: WAIT });
      assertEq(await toggle.isChecked(), true, 'collect_apps switch');
      await shot(page, 'privacy');
    });

    // ---- 7. phone: the dashboard at 390 px and 360 px -----------------------------------------
    await check('7 mobile: dashboard at 390 px (screenshot) and no horizontal overflow at 360 px', async () => {
      await signIn(mp, S.account, S.password);
      await cardReady(mp, S.line);
      const u = await adminGet(BASE, spec.token, `/v1/lines/${S.line}/usage`);
      await checkCard(mp, S.line, u, 'on a phone');
      await noOverflow(mp, 390, 'dashboard at 390 px');
      await shot(mp, 'dashboard-mobile');
      await mp.setViewportSize({ width: 360, height: 740 });
      for (const [p, ready] of [['/', card(S.line)], ['/alerts', '[data-testid="alert-form"]'], ['/privacy', '[data-testid="privacy-collect-apps"]']]) {
        await mp.goto(`${BASE}${p}`);
        await mp.locator(ready).waitFor({ timeout: WAIT });
        if (p === '/') await cardReady(mp, S.line);
        await noOverflow(mp, 360, `${p} at 360 px`);
      }
    });

    // ---- 4. languages -------------------------------------------------------------------------
    await check('4 language: 日本語 and 中文 change the words and the formats, and stay after a reload', async () => {
      const u = await adminGet(BASE, spec.token, `/v1/lines/${S.line}/usage`);
      const c = card(S.line);
      await page.click('nav a[href="/"]');
      await page.waitForURL(`${BASE}/`, { timeout: WAIT });
      await cardReady(page, S.line);
      const enReset = await text(page, `${c} [data-testid="reset-countdown"] time`);
      for (const [lang, htmlLang, loc, dateRe] of [['ja', 'ja', 'ja-JP', /\d+月\d+日/], ['zh', 'zh-Hans', 'zh-CN', /\d+月\d+日/]]) {
        await page.selectOption('[data-testid="lang-switch"]', lang);
        await waitText(page, 'nav a[href="/"]', await msg(page, lang, 'nav.usage'), { what: `${lang}: menu` });
        await waitText(page, `${c} .gauge-caption`, await msg(page, lang, 'card.left'), { what: `${lang}: "left" label` });
        await waitText(page, 'main h1', await msg(page, lang, 'dash.title'), { what: `${lang}: title` });
        assertEq(await page.getAttribute('html', 'lang'), htmlLang, `${lang}: <html lang>`);
        assertEq(await pageLocale(page), loc, `${lang}: the formatting locale`);
        const want = await checkCard(page, S.line, u, lang);
        const reset = await text(page, `${c} [data-testid="reset-countdown"] time`);
        assertEq(reset, want.resetAt, `${lang}: reset date`);
        assert(dateRe.test(reset) && reset !== enReset, `${lang}: the reset date is not in ${loc}'s format: ${reset}`);
        if (lang === 'ja') {
          await cardReady(page, S.line);
          await shot(page, 'dashboard-ja');
        }
        // The choice stays on reload (localStorage) ...
        await page.reload();
        await cardReady(page, S.line);
        await waitText(page, `${c} .gauge-caption`, await msg(page, lang, 'card.left'), { what: `${lang} after a reload` });
        assertEq(await page.inputValue('[data-testid="lang-switch"]'), lang, `${lang}: the switch after a reload`);
      }
      // ... and in the account (PUT /v1/me), for SMS and other devices.
      const acc = await adminGet(BASE, spec.token, `/v1/accounts/${S.account}`);
      assertEq(acc.locale, 'zh', 'the account\'s locale');
    });

    // ---- 8. the password, changed on the privacy page -----------------------------------------
    await check('8 password: a wrong current password is refused; the new one signs in, the old one not', async () => {
      const P = spec.password;
      await page.click('nav a[href="/privacy"]');
      await page.waitForURL(`${BASE}/privacy`, { timeout: WAIT });
      await page.locator('[data-testid="password-form"]').waitFor({ timeout: WAIT });
      const lang = await page.inputValue('[data-testid="lang-switch"]');
      const submit = async (current, next, repeat = next) => {
        await page.fill('[data-testid="password-current"]', current);
        await page.fill('[data-testid="password-new"]', next);
        await page.fill('[data-testid="password-repeat"]', repeat);
        await page.click('[data-testid="password-submit"]');
      };
      // The new password typed twice differently: refused in the page.
      await submit(S.password, P.next, `${P.next}-typo`);
      await waitText(page, '[data-testid="password-error"]', await msg(page, lang, 'privacy.passwordError.mismatch'), { what: 'mismatch' });
      // A wrong current password: refused by the server, said so, nothing changed.
      await submit(P.wrong, P.next);
      await waitText(page, '[data-testid="password-error"]', await msg(page, lang, 'privacy.passwordError.wrong'), { what: 'wrong current password' });
      assertEq(await page.inputValue('[data-testid="password-current"]'), '', 'the wrong current password left in its field');
      assert(page.url().endsWith('/privacy'), `a wrong current password left the page: ${page.url()}`);
      // The right one: changed; this session goes on.
      await submit(S.password, P.next);
      await waitText(page, '[data-testid="password-status"]', await msg(page, lang, 'privacy.passwordChanged'), { what: 'password changed' });
      assert(await page.isHidden('[data-testid="password-error"]'), 'an error is still shown after the change');
      const me = await page.evaluate(async () => (await fetch('/v1/me')).status);
      assertEq(me, 200, 'GET /v1/me in the session that changed the password');
      // The phone's session (signed in with the old password) has ended.
      const phoneMe = await mp.evaluate(async () => (await fetch('/v1/me')).status);
      assertEq(phoneMe, 401, 'GET /v1/me in another session of the account');
      // A new browser: the old password is refused, the new one signs in.
      const other = await newContext({ viewport: { width: 1280, height: 900 } });
      const np = await other.newPage();
      await np.goto(`${BASE}/login`);
      await np.locator('[data-testid="login-form"]').waitFor({ timeout: WAIT });
      await np.fill('[data-testid="login-account"]', S.account);
      await np.fill('[data-testid="login-password"]', S.password);
      await np.click('[data-testid="login-submit"]');
      const loginLang = await np.inputValue('[data-testid="lang-switch"]');
      await waitText(np, '[data-testid="login-error"]', await msg(np, loginLang, 'login.error.credentials'), { what: 'the old password' });
      await signIn(np, S.account, P.next);
      await cardReady(np, S.line);
      await other.close();
    });

    // ---- 6. operator --------------------------------------------------------------------------
    const ops = await newContext({ viewport: { width: 1280, height: 900 } });
    const op = await ops.newPage();
    await check('6 operator: admin token sign-in, lines list, search, sort, a line\'s detail with its audit trail', async () => {
      const P = spec.operator;
      await op.goto(`${BASE}/login?as=operator`);
      await op.locator('[data-testid="login-token"]').waitFor({ timeout: WAIT });
      await op.fill('[data-testid="login-token"]', spec.token);
      await op.click('[data-testid="login-submit"]');
      await op.waitForURL(`${BASE}/admin`, { timeout: WAIT });
      const rows = '[data-testid="admin-line-row"]';
      await op.waitForFunction(([s, n]) => document.querySelectorAll(s).length === n, [rows, P.lines.length], { timeout: WAIT })
        .catch(async () => { throw new Error(`lines listed: ${await op.locator(rows).count()}, expected ${P.lines.length}`); });
      const listed = await op.$$eval(rows, (els) => els.map((el) => el.dataset.line));
      assertEq(JSON.stringify([...listed].sort()), JSON.stringify([...P.lines].sort()), 'lines listed');
      // Sorted by use (the default): the heaviest first; each row's "used" as the API says.
      const all = (await adminGet(BASE, spec.token, '/v1/lines?limit=1000')).lines;
      const heaviest = [...all].sort((a, b) => b.used - a.used)[0];
      assertEq(listed[0], heaviest.id, 'first line sorted by use');
      for (const l of all) {
        const shown = await text(op, `${rows}[data-line="${l.id}"] [data-testid="admin-line-used"]`);
        assertEq(shown, await fmt(op, 'formatBytes', l.used, '$LOC'), `used of ${l.id}`);
      }
      await op.selectOption('[data-testid="admin-sort"]', 'id');
      await op.waitForFunction(([s, first]) => document.querySelector(s)?.dataset.line === first,
        [rows, [...P.lines].sort()[0]], { timeout: WAIT });
      await op.selectOption('[data-testid="admin-sort"]', 'used');
      await shot(op, 'operator-lines');
      await op.fill('[data-testid="admin-search"]', P.search);
      await op.waitForFunction(([s, want]) => {
        const got = [...document.querySelectorAll(s)].map((el) => el.dataset.line).sort();
        return JSON.stringify(got) === JSON.stringify(want);
      }, [rows, [...P.searchExpect].sort()], { timeout: WAIT }).catch(async () => {
        throw new Error(`search "${P.search}": rows ${JSON.stringify(await op.$$eval(rows, (els) => els.map((e) => e.dataset.line)))}`);
      });
      await op.click(`${rows}[data-line="${P.detailLine}"] a`);
      await op.waitForURL(`${BASE}/admin/lines/${P.detailLine}`, { timeout: WAIT });
      await cardReady(op, P.detailLine);
      const u = await adminGet(BASE, spec.token, `/v1/lines/${P.detailLine}/usage`);
      await checkCard(op, P.detailLine, u, 'operator detail');
      await op.locator('[data-testid="audit-row"]').first().waitFor({ timeout: WAIT });
      const audit = await adminGet(BASE, spec.token, `/v1/lines/${P.detailLine}/audit?limit=50`);
      await op.waitForFunction(([n]) => document.querySelectorAll('[data-testid="audit-row"]').length === n,
        [audit.entries.length], { timeout: WAIT }).catch(async () => {
        throw new Error(`audit rows: ${await op.locator('[data-testid="audit-row"]').count()}, the API has ${audit.entries.length}`);
      });
      const firstRecord = await text(op, '[data-testid="audit-row"] td.mono');
      assertEq(firstRecord, audit.entries[0].record, 'the newest audit row\'s record');
      await op.locator('[data-testid="topup-form"]').waitFor({ timeout: WAIT });
      await shot(op, 'operator-line', { fullPage: false });
      // The audit trail, from its heading down one screen.
      await op.locator('#audit-h').scrollIntoViewIfNeeded();
      const top = await op.evaluate(() => document.getElementById('audit-h').closest('section').getBoundingClientRect().top
        + window.scrollY);
      await shot(op, 'operator-audit', { clip: { x: 0, y: Math.max(0, top - 16), width: 1280, height: 900 } });
    });

    await check('operator pages: no horizontal overflow at 360 px', async () => {
      await op.setViewportSize({ width: 360, height: 740 });
      for (const [p, ready] of [['/admin', '[data-testid="admin-line-row"]'],
        [`/admin/lines/${spec.operator.detailLine}`, '[data-testid="audit-row"]']]) {
        await op.goto(`${BASE}${p}`);
        await op.locator(ready).first().waitFor({ timeout: WAIT });
        await noOverflow(op, 360, `${p} at 360 px`);
      }
    });

    await check('no script errors, nothing requested outside the server', async () => {
      assertEq(JSON.stringify(pageErrors), '[]', 'errors in the pages');
      assertEq(JSON.stringify(blocked), '[]', 'requests outside the server');
    });
  } finally {
    for (const c of contexts) await c.close().catch(() => {});
    await browser.close();
  }
}

await run.finish(main);
