// Shared by the dashboard's browser tests (tests/browser/*.test.mjs, run by tests/browser_run.py)
// and the page-load benchmark (bench/page_load.mjs): Debian's Chromium driven by playwright-core,
// with no network beyond loopback, a few helpers that read the page, and the bookkeeping of a test
// run (Run: checks, screenshots, the RESULTS line).

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.RYURYO_CHROMIUM || '/usr/bin/chromium';

// Chromium's flags for tests: headless (playwright adds --headless), no sandbox
// (tests run as root), no GPU, and nothing that reaches out to the internet on its own.
// --host-resolver-rules makes any name but loopback fail to resolve, so a page that asked for
// something outside would fail loudly (the tests also refuse such requests, see guardNetwork).
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-default-apps',
  '--disable-extensions',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];

/** playwright-core from the repository's node_modules (npm ci), with a clear error if missing. */
export async function loadPlaywright() {
  const require = createRequire(path.join(REPO, 'package.json'));
  let entry;
  try {
    entry = require.resolve('playwright-core');
  } catch {
    throw new Error(`playwright-core is not installed in ${REPO}/node_modules: run scripts/install-deps.sh `
      + '(or `npm ci` at the repository root)');
  }
  return (await import(entry)).default ?? (await import(entry));
}

export async function launchChromium() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run scripts/install-deps.sh (it installs Debian's chromium)`);
  }
  const { chromium } = await loadPlaywright();
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/**
 * Lets a context reach the server under test only: any other request is aborted and recorded in
 * `blocked` (a dashboard that loads something from elsewhere is a bug).
 */
export async function guardNetwork(context, baseUrl, blocked) {
  const origin = new URL(baseUrl).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin + '/') || url === origin || url.startsWith('data:') || url.startsWith('blob:')) {
      return route.continue();
    }
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
}

/** POST /v1/usage with the admin token; throws unless every record was accepted. */
export async function postUsage(baseUrl, token, records) {
  const r = await fetch(`${baseUrl}/v1/usage`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(records),
  });
  const body = await r.text();
  if (r.status !== 200) throw new Error(`POST /v1/usage: HTTP ${r.status}: ${body}`);
  const j = JSON.parse(body);
  if (j.accepted + j.duplicates !== records.length || (j.rejected ?? []).length) {
    throw new Error(`POST /v1/usage: not all accepted: ${body}`);
  }
  return j;
}

/** GET a /v1 path with the admin token, as JSON. */
export async function adminGet(baseUrl, token, p) {
  const r = await fetch(`${baseUrl}${p}`, { headers: { Authorization: `Bearer ${token}` } });
  const body = await r.text();
  if (r.status !== 200) throw new Error(`GET ${p}: HTTP ${r.status}: ${body}`);
  return JSON.parse(body);
}

/** Throws `message` unless `cond`. */
export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** Throws unless `actual` and `expected` are the same JSON. */
export function assertEq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

export function log(s) {
  process.stdout.write(`${s}\n`);
}

/**
 * One run of a browser test script: its checks ("ok - NAME (MS ms)" / "not ok - NAME: why"), the
 * screenshots it took into `artifacts`, the requests guardNetwork refused (`blocked`) and the
 * pages' errors (`pageErrors`, filled by the script). finish() runs the script's main, prints
 * "RESULTS {json}" last and exits 0 only when every check passed.
 */
export class Run {
  constructor(artifacts) {
    this.artifacts = artifacts;
    this.results = [];
    this.screenshots = [];
    this.blocked = [];
    this.pageErrors = [];
  }

  /** Runs one check; a throw fails it (with the first lines of its stack) and the run goes on. */
  async check(name, f) {
    const t0 = Date.now();
    try {
      await f();
      this.results.push({ name, ok: true, ms: Date.now() - t0 });
      log(`ok - ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      const message = String(e?.stack || e).split('\n').slice(0, 6).join('\n');
      this.results.push({ name, ok: false, ms: Date.now() - t0, error: message });
      log(`not ok - ${name}: ${message.replace(/\n/g, '\n#   ')}`);
    }
  }

  /** A screenshot of the page as `name`.png (full page unless opts.fullPage is false). */
  async shot(page, name, opts = {}) {
    // Toasts come and go on their own: not part of a screenshot.
    await page.evaluate(() => document.getElementById('toasts')?.replaceChildren());
    const file = path.join(this.artifacts, `${name}.png`);
    await page.screenshot({ path: file, fullPage: opts.clip ? true : opts.fullPage ?? true, clip: opts.clip,
      animations: 'disabled' });
    this.screenshots.push(file);
  }

  /** Runs `main`, prints the RESULTS line and exits. */
  async finish(main) {
    let fatal = null;
    try {
      await main();
    } catch (e) {
      fatal = String(e?.stack || e);
      log(`not ok - the browser run: ${fatal}`);
    }
    const { results, screenshots, blocked, pageErrors } = this;
    const failed = results.filter((r) => !r.ok).length + (fatal ? 1 : 0);
    log(`RESULTS ${JSON.stringify({ results, screenshots, blocked, pageErrors, fatal })}`);
    log(`browser: ${results.length - results.filter((r) => !r.ok).length} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  }
}
