// Shared by the dashboard's browser tests (tests/browser/dashboard.test.mjs) and the page-load
// benchmark (bench/page_load.mjs): Debian's Chromium driven by playwright-core, with no network
// beyond loopback, and a few helpers that read the page.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.RYURYO_CHROMIUM || '/usr/bin/chromium';

// The flags of shared/PEERS.md ("Chromium"): headless (playwright adds --headless), no sandbox
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
