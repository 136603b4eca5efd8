import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkChannel, parseThreshold, thresholdLabel } from '../js/thresholds.js';

test('labels from the API parse into the form\'s rows', () => {
  assert.deepEqual(parseThreshold('80%'), { kind: 'percent', amount: 80 });
  assert.deepEqual(parseThreshold('12.5%'), { kind: 'percent', amount: 12.5 });
  assert.deepEqual(parseThreshold('500 MB left'), { kind: 'left', amount: 500, unit: 'MB' });
  assert.deepEqual(parseThreshold('1 GB left'), { kind: 'left', amount: 1, unit: 'GB' });
  assert.deepEqual(parseThreshold('1.5 GB left'), { kind: 'left', amount: 1.5, unit: 'GB' });
  assert.deepEqual(parseThreshold('200 kB left'), { kind: 'left', amount: 0.2, unit: 'MB' });
  assert.deepEqual(parseThreshold('1 GiB left'), { kind: 'left', amount: 1073.742, unit: 'MB' });
  assert.deepEqual(parseThreshold('pace'), { kind: 'pace' });
  assert.equal(parseThreshold('soon'), null);
});

test('rows become the labels the server parses', () => {
  assert.deepEqual(thresholdLabel({ kind: 'percent', amount: '80' }), { label: '80%' });
  assert.deepEqual(thresholdLabel({ kind: 'left', amount: '750', unit: 'MB' }), { label: '750 MB left' });
  assert.deepEqual(thresholdLabel({ kind: 'left', amount: 1.5, unit: 'GB' }), { label: '1.5 GB left' });
  assert.deepEqual(thresholdLabel({ kind: 'pace' }), { label: 'pace' });
  assert.equal(thresholdLabel({ kind: 'percent', amount: '' }).error, 'alerts.error.amount');
  assert.equal(thresholdLabel({ kind: 'percent', amount: '0' }).error, 'alerts.error.amount');
  assert.equal(thresholdLabel({ kind: 'percent', amount: '101' }).error, 'alerts.error.percent');
  for (const label of ['80%', '500 MB left', '2 GB left', 'pace']) {
    assert.equal(thresholdLabel(parseThreshold(label)).label, label);
  }
});

test('channels: https webhooks and E.164 numbers', () => {
  assert.deepEqual(checkChannel({ type: 'sms', to: '+81 90-1234-5678' }), { channel: { type: 'sms', to: '+819012345678' } });
  assert.equal(checkChannel({ type: 'sms', to: '090 1234 5678' }).error, 'alerts.error.phone');
  assert.deepEqual(checkChannel({ type: 'webhook', url: ' https://hooks.example.net/x ' }),
    { channel: { type: 'webhook', url: 'https://hooks.example.net/x' } });
  assert.equal(checkChannel({ type: 'webhook', url: 'ftp://x' }).error, 'alerts.error.url');
  assert.equal(checkChannel({ type: 'webhook', url: 'not a url' }).error, 'alerts.error.url');
});
