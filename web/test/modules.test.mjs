// What a subscriber's browser loads: app.js's static imports stay small (the views come with
// import() when a page needs them; the operator's pages only for operators), and index.html's
// <link rel="modulepreload"> list is exactly the modules of the subscriber's usage page.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const webDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/** '/js/a.js' -> the static imports of that module, as site paths. */
function staticImports(sitePath) {
  const src = fs.readFileSync(path.join(webDir, sitePath), 'utf8');
  const out = [];
  for (const m of src.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'|^\s*import\s+'([^']+)'/gms)) {
    out.push(path.posix.join(path.posix.dirname(sitePath), m[1] ?? m[2]));
  }
  return out;
}

/** The module and everything it imports statically, transitively. */
function closure(sitePath, seen = new Set()) {
  if (seen.has(sitePath)) return seen;
  seen.add(sitePath);
  for (const dep of staticImports(sitePath)) closure(dep, seen);
  return seen;
}

function dynamicImports(sitePath) {
  const src = fs.readFileSync(path.join(webDir, sitePath), 'utf8');
  return [...src.matchAll(/import\('([^']+)'\)/g)].map((m) => path.posix.join(path.posix.dirname(sitePath), m[1]));
}

test('app.js imports no view statically; every view it loads exists', () => {
  const entry = closure('/js/app.js');
  for (const p of entry) assert.ok(!p.startsWith('/js/views/'), `app.js imports ${p} statically`);
  const views = dynamicImports('/js/app.js');
  assert.ok(views.includes('/js/views/admin.js') && views.includes('/js/views/dashboard.js'), String(views));
  for (const v of views) assert.ok(fs.existsSync(path.join(webDir, v)), v);
});

test('the subscriber\'s usage page does not pull in the operator\'s modules', () => {
  const page = closure('/js/views/dashboard.js', closure('/js/app.js'));
  for (const p of ['/js/views/admin.js', '/js/views/alerts.js', '/js/metrics.js', '/js/views/login.js']) {
    assert.ok(!page.has(p), `the usage page loads ${p}`);
  }
});

test('index.html preloads exactly the modules of the usage page', () => {
  const html = fs.readFileSync(path.join(webDir, 'index.html'), 'utf8');
  const preloaded = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]);
  assert.equal(new Set(preloaded).size, preloaded.length, 'a module preloaded twice');
  const want = closure('/js/views/dashboard.js', closure('/js/app.js'));
  want.delete('/js/app.js'); // the <script type="module"> itself
  assert.deepEqual([...preloaded].sort(), [...want].sort());
  // No inline script: the Content-Security-Policy forbids it.
  assert.ok(!/<script(?![^>]*\ssrc=)[^>]*>/.test(html), 'an inline <script>');
});
