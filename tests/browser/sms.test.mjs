// The dashboard's SMS pages end to end, in real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core): sign-in with a code by SMS (web/js/views/login.js) and SMS alert
// channels with quiet hours (web/js/views/alerts.js). Run by tests/test_dashboard_sms.py, which
// starts Kannel (with its fake SMSC) and three servers: one with [sms] send_url at Kannel's
// sendsms, one whose send_url is a closed port (the gateway cannot be reached), and one without
// SMS, and passes them as a JSON file:
//
//   node tests/browser/sms.test.mjs SPEC.json
//
// SPEC: {url, token, failUrl, plainUrl, plainToken, artifacts, sent (the SMS Kannel's fake SMSC
// has received so far, as JSON), kannelToken, mika, ken, unknown, plain} (see
// test_dashboard_sms.py). Each check prints "ok - NAME (MS ms)" or "not ok - NAME: why"; the
// last line is "RESULTS {json}". Exit status 0 only when every check passed. No fixed sleeps:
// every wait is for a condition on the page (or for the SMS to reach the fake SMSC).

import fs from 'node:fs';
import { adminGet, guardNetwork, launchChromium, assert, assertEq, log, Run } from './lib.mjs';

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const BASE = spec.url;
const WAIT = 15_000;
const run = new Run(spec.artifacts);
const { blocked, pageErrors } = run;
const check = (name, f) => run.check(name, f);
const shot = (page, name, opts) => run.shot(page, name, opts);

/** Waits until `sel` has exactly `expected` as its text (or contains it). */
async function waitText(page, sel, expected, { what = sel, contains = false } = {}) {
  try {
    await page.waitForFunction(([s, want, part]) => {
      const el = document.querySelector(s);
      if (!el || el.hidden || el.closest('[hidden]')) return false;
      const text = el.textContent.trim();
      return part ? text.includes(want) : text === want;
    }, [sel, expected, contains], { timeout: WAIT, polling: 100 });
  } catch {
    const now = await page.evaluate((s) => {
      const el = document.querySelector(s);
      return el ? `${el.closest('[hidden]') ? '(hidden) ' : ''}${el.textContent.trim()}` : '(no such element)';
    }, sel);
    throw new Error(`${what}: waited ${WAIT} ms for ${contains ? 'text containing' : 'text'} ${JSON.stringify(expected)}, `
      + `the page shows ${JSON.stringify(now)}`);
  }
}

async function visible(page, sel, what = sel) {
  await page.locator(sel).first().waitFor({ state: 'visible', timeout: WAIT }).catch(() => {
    throw new Error(`${what}: ${sel} never became visible`);
  });
}

/** A message of web/js/messages.js, with its {placeholders} filled. */
async function msg(page, lang, key, params = {}) {
  const m = await page.evaluate(async ([l, k]) => (await import('/js/messages.js')).MESSAGES[l][k], [lang, key]);
  assert(typeof m === 'string', `no message ${lang} ${key}`);
  return m.replace(/\{(\w+)\}/g, (all, name) => (params[name] === undefined ? all : String(params[name])));
}

async function noOverflow(page, width, what) {
  const r = await page.evaluate(() => ({
    scroll: document.scrollingElement.scrollWidth,
    wide: [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5
        && !el.closest('.table-wrap, .uplot, .visually-hidden, .toasts'))
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''}`
        + `${el.dataset.testid ? `[${el.dataset.testid}]` : ''} right=${Math.round(el.getBoundingClientRect().right)}`),
  }));
  assert(r.scroll <= width, `${what}: the page is ${r.scroll} px wide in a ${width} px viewport; `
    + `wider elements: ${r.wide.join(', ') || 'none found'}`);
}

async function signInWithPassword(page, base, account, password) {
  await page.goto(`${base}/login`);
  await visible(page, '[data-testid="login-form"]');
  await page.fill('[data-testid="login-account"]', account);
  await page.fill('[data-testid="login-password"]', password);
  await page.click('[data-testid="login-submit"]');
  await page.waitForURL(`${base}/`, { timeout: WAIT });
}

/** The SMS to a number that Kannel's fake SMSC has received, oldest first: waits (up to WAIT)
 * until there is at least one. */
async function sentTo(e164) {
  const end = Date.now() + WAIT;
  for (;;) {
    const r = await fetch(spec.sent);
    assert(r.ok, `GET ${spec.sent}: HTTP ${r.status}`);
    const all = await r.json();
    const texts = all.filter((m) => m.to === e164);
    if (texts.length || Date.now() > end) {
      if (!texts.length) throw new Error(`no SMS to ${e164} reached the fake SMSC in ${WAIT} ms; it got ${JSON.stringify(all)}`);
      return texts;
    }
    await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
}

/** Texts the service number as the line's phone would (Kannel's get-url). */
async function textService(from, text) {
  const q = new URLSearchParams({ from, to: '5555', text, token: spec.kannelToken });
  const r = await fetch(`${BASE}/v1/sms/kannel?${q}`);
  assert(r.status === 200, `GET /v1/sms/kannel ${text}: HTTP ${r.status}: ${await r.text()}`);
}

const smsRow = '[data-testid="channel-row"][data-type="sms"]';

async function main() {
  fs.mkdirSync(spec.artifacts, { recursive: true });
  const browser = await launchChromium();
  log(`# chromium ${browser.version()} at ${BASE}`);
  const contexts = [];
  async function newContext(base, opts) {
    const ctx = await browser.newContext({ locale: 'en-US', timezoneId: 'Europe/London', ...opts });
    await guardNetwork(ctx, base, blocked);
    ctx.on('page', (p) => {
      p.on('pageerror', (e) => pageErrors.push(`${p.url()}: ${e.message}`));
      p.on('console', (m) => {
        // The refusals these checks cause on purpose (400 of the SMS probe, 401 wrong code,
        // 404 without SMS, 503 gateway down) are logged by Chromium as failed loads.
        if (m.type() === 'error' && !/status of (400|401|403|404|503)/.test(m.text())) {
          pageErrors.push(`${p.url()}: console: ${m.text()}`);
        }
      });
    });
    contexts.push(ctx);
    return ctx;
  }
  const M = spec.mika;

  try {
    const phone = await newContext(BASE, { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const mp = await phone.newPage();

    await check('sms 1 the sign-in page offers a code by SMS (360 px, no horizontal overflow)', async () => {
      // The page asks the server which ways of signing in it offers, and offers SMS when it does.
      const methods = mp.waitForResponse((r) => r.url() === `${BASE}/v1/auth/methods`, { timeout: WAIT });
      await mp.goto(`${BASE}/login`);
      assertEq((await (await methods).json()).sms_code, true, 'GET /v1/auth/methods: sms_code');
      await visible(mp, '[data-testid="login-form"]');
      await waitText(mp, '[data-testid="login-sms"]', await msg(mp, 'en', 'sms.start'), { what: 'the SMS option' });
      const asked = [];
      mp.on('request', (r) => { if (r.url() === `${BASE}/v1/auth/sms-code`) asked.push(r.url()); });
      await mp.click('[data-testid="login-sms"]');
      await visible(mp, '[data-testid="sms-phone"]', 'the phone number field');
      assert(await mp.isHidden('[data-testid="login-form"]'), 'the password form is still shown');
      assertEq(await mp.getAttribute('[data-testid="sms-phone"]', 'type'), 'tel', 'phone field type');
      assertEq(await mp.getAttribute('[data-testid="sms-phone"]', 'autocomplete'), 'tel', 'phone field autocomplete');
      assertEq(asked.length, 0, 'requests to /v1/auth/sms-code before a number was sent');
      assert(await mp.isHidden('[data-testid="login-sms-unavailable"]'), 'said unavailable on a server with SMS');
      await noOverflow(mp, 360, 'sign-in by SMS at 360 px');
      await shot(mp, 'login-sms');
    });

    await check('sms 2 a number the gateway cannot text: the page says the SMS could not be sent (503)', async () => {
      // The server whose gateway cannot be reached (send_url at a closed port).
      const down = await newContext(spec.failUrl, { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
      const dp = await down.newPage();
      await dp.goto(`${spec.failUrl}/login`);
      await visible(dp, '[data-testid="login-sms"]', 'the SMS option');
      await dp.click('[data-testid="login-sms"]');
      await visible(dp, '[data-testid="sms-phone"]', 'the phone number field');
      await dp.fill('[data-testid="sms-phone"]', spec.ken.typed);
      const answer = dp.waitForResponse((r) => r.url() === `${spec.failUrl}/v1/auth/sms-code`
        && r.request().method() === 'POST' && r.request().postData()?.includes('msisdn'), { timeout: WAIT });
      await dp.click('[data-testid="sms-send"]');
      assertEq((await answer).status(), 503, 'POST /v1/auth/sms-code with the gateway unreachable');
      await waitText(dp, '[data-testid="sms-phone-error"]', await msg(dp, 'en', 'sms.error.gateway'), { what: 'gateway error' });
      assert(await dp.isHidden('[data-testid="sms-code-form"]'), 'the code step is shown after a failed send');
      await noOverflow(dp, 360, 'the gateway error at 360 px');
      // A number that is no number: refused in the page, nothing sent.
      await mp.fill('[data-testid="sms-phone"]', '090-12ab');
      await mp.click('[data-testid="sms-send"]');
      await waitText(mp, '[data-testid="sms-phone-error"]', await msg(mp, 'en', 'sms.error.phone'), { what: 'malformed number' });
    });

    await check('sms 3 a number no account has: the code step (202), a countdown, and a wrong code is refused', async () => {
      await mp.fill('[data-testid="sms-phone"]', spec.unknown);
      await mp.click('[data-testid="sms-send"]');
      await visible(mp, '[data-testid="sms-code"]', 'the code field');
      assert(await mp.isHidden('[data-testid="sms-phone-form"]'), 'the number step is still shown');
      await waitText(mp, '[data-testid="sms-sent"]', await msg(mp, 'en', 'sms.sent', { number: spec.unknown }), { what: 'sent note' });
      const code = '[data-testid="sms-code"]';
      assertEq(await mp.getAttribute(code, 'inputmode'), 'numeric', 'code inputmode');
      assertEq(await mp.getAttribute(code, 'autocomplete'), 'one-time-code', 'code autocomplete');
      assertEq(await mp.getAttribute(code, 'pattern'), '[0-9]{6}', 'code pattern');
      // Valid for 5 minutes, counting down.
      const template = await msg(mp, 'en', 'sms.validFor');
      const re = new RegExp(`^${template.split('{time}').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('(\\d+):(\\d\\d)')}$`);
      const first = await mp.textContent('[data-testid="sms-countdown"]');
      const m = re.exec(first.trim());
      assert(m, `countdown ${JSON.stringify(first)} is not like ${JSON.stringify(template)}`);
      const left = Number(m[1]) * 60 + Number(m[2]);
      assert(left > 240 && left <= 300, `countdown says ${left} s left of a 300 s code`);
      await mp.waitForFunction(([s, was]) => document.querySelector(s).textContent.trim() !== was,
        ['[data-testid="sms-countdown"]', first.trim()], { timeout: 5000 }).catch(() => {
        throw new Error(`the countdown stays at ${first}`);
      });
      assert(await mp.isDisabled('[data-testid="sms-resend"]'), '"send again" is offered at once');
      // Not 6 digits: said in the page.
      await mp.fill(code, '12a');
      await mp.click('[data-testid="sms-submit"]');
      await waitText(mp, '[data-testid="sms-code-error"]', await msg(mp, 'en', 'sms.error.code'), { what: 'malformed code' });
      // A wrong code: refused by the server (401), said so, still here.
      await mp.fill(code, '123456');
      await mp.click('[data-testid="sms-submit"]');
      await waitText(mp, '[data-testid="sms-code-error"]', await msg(mp, 'en', 'sms.error.wrongCode'), { what: 'wrong code' });
      assert(mp.url().startsWith(`${BASE}/login`), `a wrong code left the sign-in page: ${mp.url()}`);
      await noOverflow(mp, 360, 'the code step at 360 px');
      await shot(mp, 'login-sms-code');
    });

    await check('sms 4 the code texted to the line\'s number signs its subscriber in', async () => {
      await mp.click('[data-testid="sms-change"]');
      await visible(mp, '[data-testid="sms-phone"]', 'the number step again');
      await mp.fill('[data-testid="sms-phone"]', M.typed);
      await mp.click('[data-testid="sms-send"]');
      await visible(mp, '[data-testid="sms-code"]', 'the code field');
      const texts = await sentTo(M.e164);
      assertEq(texts.length, 1, `SMS to ${M.e164}`);
      const code = /\b(\d{6})\b/.exec(texts[0].text)?.[1];
      assert(code, `no 6-digit code in the SMS: ${texts[0].text}`);
      assert(texts[0].text.includes('sign-in code'), `the SMS is not in the line's language (en): ${texts[0].text}`);
      await mp.fill('[data-testid="sms-code"]', code);
      await mp.click('[data-testid="sms-submit"]');
      await mp.waitForURL(`${BASE}/`, { timeout: WAIT });
      await visible(mp, `[data-testid="line-card"][data-line="${M.line}"]`, 'the line card');
      const me = await mp.evaluate(async () => (await fetch('/v1/me')).json());
      assertEq(me.role, 'subscriber', 'role');
      assertEq(me.account?.id, M.account, 'the account signed in');
    });

    const desk = await newContext(BASE, { viewport: { width: 1280, height: 900 } });
    const page = await desk.newPage();
    await check('sms 5 alerts: an SMS channel with quiet hours 22:00-07:00 is saved and shown after a reload', async () => {
      await signInWithPassword(page, BASE, M.account, M.password);
      await page.goto(`${BASE}/alerts`);
      await visible(page, `[data-testid="alert-form"][data-line="${M.line}"]`, 'the alert form');
      assertEq(await page.locator('[data-testid="channel-row"]').count(), 0, 'channels before');
      await page.click('[data-testid="channel-add"]');
      const row = page.locator(smsRow);
      await row.waitFor({ timeout: WAIT });
      // A new SMS channel goes to this line's own number: said, not editable.
      assertEq(await row.locator('input[type="tel"]').count(), 0, 'number fields in a subscriber\'s SMS row');
      await waitText(page, `${smsRow} [data-testid="channel-to"]`,
        `${await msg(page, 'en', 'alerts.smsTo')} ${await msg(page, 'en', 'alerts.smsOwnNumberIs', { number: M.e164 })}`,
        { what: 'the new channel\'s number' });
      await row.locator('[data-testid="quiet-mode"]').selectOption('custom');
      await row.locator('[data-testid="quiet-from"]').fill('22:00');
      await row.locator('[data-testid="quiet-to"]').fill('07:00');
      const put = page.waitForRequest((r) => r.method() === 'PUT' && r.url().endsWith(`/v1/lines/${M.line}/alerts`),
        { timeout: WAIT });
      await page.click('[data-testid="alerts-save"]');
      const body = JSON.parse((await put).postData());
      assertEq(body.channels, [{ type: 'sms', quiet_hours: '22:00-07:00' }], 'channels sent (no `to`)');
      await waitText(page, '[data-testid="alerts-status"]', await msg(page, 'en', 'alerts.saved'), { what: 'saving' });
      const saved = await adminGet(BASE, spec.token, `/v1/lines/${M.line}/alerts`);
      assertEq(saved.channels.map((c) => [c.type, c.to, c.quiet_hours]), [['sms', M.e164, '22:00-07:00']], 'the API\'s channels');

      await page.reload();
      await visible(page, smsRow, 'the SMS channel after a reload');
      assertEq(await page.inputValue(`${smsRow} [data-testid="quiet-mode"]`), 'custom', 'quiet hours mode after a reload');
      assertEq(await page.inputValue(`${smsRow} [data-testid="quiet-from"]`), '22:00', 'quiet from after a reload');
      assertEq(await page.inputValue(`${smsRow} [data-testid="quiet-to"]`), '07:00', 'quiet to after a reload');
      await waitText(page, `${smsRow} [data-testid="channel-to"]`, M.e164, { contains: true, what: 'the saved number' });
      assert(await page.isHidden('[data-testid="sms-stopped"]'), 'the STOP notice shows before any STOP');
      await shot(page, 'alerts-sms');

      // None: "off"; after a reload the time fields are hidden.
      await page.selectOption(`${smsRow} [data-testid="quiet-mode"]`, 'off');
      const second = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith(`/v1/lines/${M.line}/alerts`),
        { timeout: WAIT });
      await page.click('[data-testid="alerts-save"]');
      assertEq(JSON.parse((await second).request().postData()).channels, [{ type: 'sms', quiet_hours: 'off' }], 'channels sent for "none"');
      assertEq((await second).status(), 200, 'saving "none"');
      const off = await adminGet(BASE, spec.token, `/v1/lines/${M.line}/alerts`);
      assertEq(off.channels.map((c) => c.quiet_hours), ['off'], 'the API\'s quiet hours after "none"');
      await page.reload();
      await visible(page, smsRow, 'the SMS channel after the second reload');
      assertEq(await page.inputValue(`${smsRow} [data-testid="quiet-mode"]`), 'off', 'quiet hours mode "none"');
      assert(await page.isHidden(`${smsRow} [data-testid="quiet-from"]`), 'time fields shown for "none"');
    });

    await check('sms 6 STOP texted to the service: the alerts page says alert SMS are off until START', async () => {
      await textService(M.e164, 'STOP');
      await page.reload();
      await waitText(page, '[data-testid="sms-stopped"]', await msg(page, 'en', 'alerts.smsStopped'), { what: 'after STOP' });
      await textService(M.e164, 'START');
      await page.reload();
      await visible(page, smsRow);
      assert(await page.isHidden('[data-testid="sms-stopped"]'), 'the notice stays after START');
    });

    await check('sms 7 without SMS on the server: sign-in does not offer it, an SMS channel is refused clearly', async () => {
      const P = spec.plain;
      const other = await newContext(spec.plainUrl, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      const op = await other.newPage();
      const methods = op.waitForResponse((r) => r.url() === `${spec.plainUrl}/v1/auth/methods`, { timeout: WAIT });
      await op.goto(`${spec.plainUrl}/login`);
      assertEq((await (await methods).json()).sms_code, false, 'GET /v1/auth/methods: sms_code');
      await visible(op, '[data-testid="login-form"]', 'the password form');
      await op.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
      assert(await op.isHidden('[data-testid="login-sms"]'), 'the SMS option is offered by a server without SMS');

      // A server that stopped sending SMS after the page was loaded (reconfigured and restarted)
      // answers its SMS routes with 404: here that answer is given in the browser, as the
      // server without SMS gives it, to the page of the server with SMS. The choice is withdrawn
      // with a note.
      const gone = await newContext(BASE, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      const gp = await gone.newPage();
      await gp.route(`${BASE}/v1/auth/sms-code`, (route) => route.fulfill({ status: 404, contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'not_found', message: 'sign-in by SMS is not enabled on this server' } }) }));
      await gp.goto(`${BASE}/login`);
      await visible(gp, '[data-testid="login-sms"]', 'the SMS option');
      await gp.click('[data-testid="login-sms"]');
      await gp.fill('[data-testid="sms-phone"]', spec.ken.typed);
      await gp.click('[data-testid="sms-send"]');
      await waitText(gp, '[data-testid="login-sms-unavailable"]', await msg(gp, 'en', 'sms.unavailable'), { what: 'the note' });
      assert(await gp.isHidden('[data-testid="login-sms"]'), 'the SMS option is still offered');
      assert(await gp.isHidden('[data-testid="login-sms-box"]'), 'the SMS form is still shown');
      await visible(gp, '[data-testid="login-form"]', 'the password form');

      await signInWithPassword(op, spec.plainUrl, P.account, P.password);
      await op.goto(`${spec.plainUrl}/alerts`);
      await visible(op, `[data-testid="alert-form"][data-line="${P.line}"]`);
      await op.click('[data-testid="channel-add"]');
      await visible(op, smsRow);
      await op.click('[data-testid="alerts-save"]');
      const want = (await msg(op, 'en', 'alerts.channelError', { n: 1, message: await msg(op, 'en', 'alerts.error.smsUnavailable') }));
      await waitText(op, '[data-testid="alerts-status"]', want, { what: 'saving an SMS channel without SMS' });
      await waitText(op, '[data-testid="channel-sms-unavailable"]', await msg(op, 'en', 'alerts.smsUnavailable'), { what: 'the row' });
      await noOverflow(op, 390, 'the refused SMS channel at 390 px');
      const a = await adminGet(spec.plainUrl, spec.plainToken, `/v1/lines/${P.line}/alerts`);
      assertEq(a.channels, [], 'channels saved');
    });

    await check('sms 8 mobile: the alerts page with quiet hours, and sign-in by SMS in Japanese, at 360 px', async () => {
      await mp.goto(`${BASE}/alerts`);
      await visible(mp, smsRow);
      await mp.selectOption(`${smsRow} [data-testid="quiet-mode"]`, 'custom');
      await visible(mp, `${smsRow} [data-testid="quiet-from"]`);
      await noOverflow(mp, 360, '/alerts with quiet hours at 360 px');
      await shot(mp, 'alerts-sms-mobile');
      const ja = await newContext(BASE, { locale: 'ja-JP', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
      const jp = await ja.newPage();
      await jp.goto(`${BASE}/login`);
      await waitText(jp, '[data-testid="login-sms"]', await msg(jp, 'ja', 'sms.start'), { what: 'ja: the SMS option' });
      await jp.click('[data-testid="login-sms"]');
      await jp.fill('[data-testid="sms-phone"]', spec.unknown);
      await jp.click('[data-testid="sms-send"]');
      await waitText(jp, '[data-testid="sms-sent"]', await msg(jp, 'ja', 'sms.sent', { number: spec.unknown }), { what: 'ja: sent' });
      await noOverflow(jp, 360, 'ja: the code step at 360 px');
      await shot(jp, 'login-sms-ja');
    });

    await check('no script errors, nothing requested outside the server', async () => {
      assertEq(pageErrors, [], 'errors in the pages');
      assertEq(blocked, [], 'requests outside the server');
    });
  } finally {
    for (const c of contexts) await c.close().catch(() => {});
    await browser.close();
  }
}

await run.finish(main);
