// Every module of the dashboard parses, and the pure ones load (the browser would refuse a
// page whose module graph has a syntax error, with nothing on screen).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const jsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'js');

function modules(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return modules(p);
    return e.name.endsWith('.js') ? [p] : [];
  });
}

test('every module parses', () => {
  const files = modules(jsDir);
  assert.ok(files.length >= 10);
  for (const f of files) {
    assert.doesNotThrow(() => execFileSync(process.execPath, ['--check', f], { stdio: 'pipe' }), f);
  }
});

test('the views and their imports load without a page', async () => {
  // Importing defines functions only; nothing touches the DOM until a view is mounted.
  for (const f of ['views/admin.js', 'views/alerts.js', 'views/dashboard.js', 'views/linecard.js',
    'views/login.js', 'views/privacy.js', 'live.js', 'api.js', 'chart.js']) {
    await import(path.join(jsDir, f));
  }
});
