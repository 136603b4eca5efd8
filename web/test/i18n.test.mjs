// Every message exists in Japanese, Chinese and English with the same placeholders, and every
// key the pages ask for exists.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chooseLang, formatLocaleFor, langFromTag } from '../js/i18n.js';
import { MESSAGES } from '../js/messages.js';

const jsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'js');

function placeholders(m) {
  const texts = typeof m === 'object' ? Object.values(m) : [m];
  return [...new Set(texts.flatMap((s) => [...s.matchAll(/\{(\w+)\}/g)].map((x) => x[1])))].sort();
}

test('the three languages have the same keys and placeholders', () => {
  const keys = Object.keys(MESSAGES.en).sort();
  for (const lang of ['ja', 'zh']) {
    assert.deepEqual(Object.keys(MESSAGES[lang]).sort(), keys, lang);
    for (const k of keys) {
      assert.deepEqual(placeholders(MESSAGES[lang][k]), placeholders(MESSAGES.en[k]), `${lang} ${k}`);
      const m = MESSAGES[lang][k];
      assert.ok(typeof m === 'string' ? m.trim() !== '' : typeof m.other === 'string', `${lang} ${k} is empty`);
    }
  }
});

function sources() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js') && e.name !== 'messages.js') out.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walk(jsDir);
  return out.join('\n');
}

test('every literal key the pages use exists', () => {
  const src = sources();
  // Every quoted string shaped like a key of a known namespace ("nav.usage", "card.asOf"):
  // keys given to t() directly, and those passed around first (route titles, menu entries,
  // form errors, ternaries).
  const namespaces = new Set(Object.keys(MESSAGES.en).map((k) => k.split('.')[0]));
  const used = new Set();
  for (const m of src.matchAll(/'([a-z][a-zA-Z0-9]*(?:\.[a-zA-Z0-9_]+)+)'/g)) {
    if (namespaces.has(m[1].split('.')[0])) used.add(m[1]);
  }
  assert.ok(used.size > 100, `only ${used.size} keys found`);
  const missing = [...used].filter((k) => MESSAGES.en[k] === undefined);
  assert.deepEqual(missing, []);
});

test('keys built at run time exist', () => {
  const families = {
    'state.': ['normal', 'throttled', 'blocked', 'throttled.quota', 'throttled.fairUse', 'throttled.expired',
      'blocked.quota', 'blocked.fairUse', 'blocked.expired'],
    'live.': ['connecting', 'live', 'reconnecting', 'polling'],
    'lang.': ['ja', 'zh', 'en'],
    'bucket.': ['plan', 'rollover', 'topup'],
    'breakdown.unattributed.': ['app', 'device'],
    'breakdown.unattributedHelp.': ['app', 'device'],
    'alerts.kind.': ['percent', 'left', 'pace'],
    'alerts.channel.': ['sms', 'webhook'],
    'admin.lines.sort.': ['id', 'used', 'share', 'remaining'],
    'admin.lines.col.': ['line', 'account', 'plan', 'state', 'used', 'remaining', 'share'],
    'admin.sessions.col.': ['nas', 'session', 'started', 'bytes', 'last'],
    'admin.audit.col.': ['end', 'bytes', 'debits', 'attribution', 'source', 'record'],
    'admin.audit.target.': ['over_quota', 'previous_cycle', 'closed_cycle'],
    'admin.accounts.col.': ['id', 'name', 'locale', 'lines', 'actions'],
    'admin.quarantine.col.': ['seq', 'received', 'line', 'bytes', 'end', 'attribution', 'id'],
    'admin.events.col.': ['at', 'type', 'line', 'detail'],
    'admin.events.type.': ['threshold', 'pace', 'exhausted', 'throttled', 'blocked', 'restored', 'reset', 'topup',
      'quarantined', 'enforcement'],
    'admin.health.': ['applied', 'bytes', 'duplicates', 'rejected', 'quarantined', 'queue', 'batches', 'events', 'http',
      'http5xx', 'connections', 'lines', 'webhooksDelivered', 'webhooksFailed', 'webhooksDead', 'webhooksPending',
      'enforcementDelivered', 'enforcementFailed', 'enforcementDead', 'enforcementPending'],
    'admin.health.radius.': ['requests', 'responses', 'duplicates', 'malformed', 'badAuth', 'unknownLine', 'dropped'],
  };
  const missing = [];
  for (const [prefix, names] of Object.entries(families)) {
    for (const n of names) if (MESSAGES.en[prefix + n] === undefined) missing.push(prefix + n);
  }
  assert.deepEqual(missing, []);
});

test('the language: the switch, then the account, then the browser, then English', () => {
  assert.equal(chooseLang({ stored: 'zh', account: 'ja', languages: ['en-US'] }), 'zh');
  assert.equal(chooseLang({ stored: null, account: 'ja', languages: ['en-US'] }), 'ja');
  assert.equal(chooseLang({ stored: 'xx', account: null, languages: ['fr-FR', 'zh-TW', 'en'] }), 'zh');
  assert.equal(chooseLang({ stored: null, account: null, languages: ['fr-FR', 'de'] }), 'en');
  assert.equal(langFromTag('ja-JP'), 'ja');
  assert.equal(langFromTag('zh-Hans-CN'), 'zh');
  assert.equal(langFromTag('japanese'), null);
  assert.equal(formatLocaleFor('en', ['en-GB', 'ja']), 'en-GB');
  assert.equal(formatLocaleFor('ja', ['en-GB']), 'ja-JP');
  assert.equal(formatLocaleFor('zh', []), 'zh-CN');
});
