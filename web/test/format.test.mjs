// node --test web/test/: formatting with Intl (node carries the same ICU data as browsers).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  byteUnitFor, formatAxisTime, formatBytes, formatClock, formatDuration, formatMoney, formatRate,
} from '../js/format.js';

test('bytes are SI with three significant digits at most', () => {
  assert.equal(formatBytes(2_150_000_000, 'en'), '2.15 GB');
  assert.equal(formatBytes(21_500_000_000, 'en'), '21.5 GB');
  assert.equal(formatBytes(215_000_000_000, 'en'), '215 GB');
  assert.equal(formatBytes(500_000_000, 'en'), '500 MB');
  assert.equal(formatBytes(3e12, 'en'), '3 TB');
  assert.equal(formatBytes(1_234_567, 'de'), '1,23 MB');
});

test('small and zero counts stay in kB, and a non-zero count never reads as zero', () => {
  assert.equal(formatBytes(0, 'en'), '0 kB');
  assert.equal(formatBytes(350, 'en'), '0.35 kB');
  assert.equal(formatBytes(1, 'en'), '0.001 kB');
  assert.equal(formatBytes(0, 'en', { unit: 'gigabyte' }), '0 GB');
  assert.deepEqual(byteUnitFor(999_999), { size: 1e3, unit: 'kilobyte' });
  assert.deepEqual(byteUnitFor(1e9), { size: 1e9, unit: 'gigabyte' });
});

test('bytes in Japanese and Chinese keep the unit and the locale digits', () => {
  for (const loc of ['ja-JP', 'zh-CN']) {
    const s = formatBytes(2_150_000_000, loc);
    assert.match(s, /2\.15/);
    assert.match(s, /GB/);
  }
});

test('rates are bit/s', () => {
  // ICU versions word the unit "kb/s" or "kbit/s".
  assert.match(formatRate(128_000, 'en'), /^128 kb(it)?\/s$/);
  assert.match(formatRate(1_000_000, 'en'), /^1 Mb(it)?\/s$/);
  assert.match(formatRate(1_500_000, 'en'), /^1\.5 Mb(it)?\/s$/);
});

test('durations use two units at most', () => {
  const d = 86400e3;
  assert.match(formatDuration(3 * d + 4 * 3600e3 + 59e3, 'en'), /^3 days,? 4 hours$/);
  assert.match(formatDuration(5 * 3600e3 + 12 * 60e3, 'en'), /^5 hours,? 12 minutes$/);
  assert.equal(formatDuration(42e3, 'en'), '42 seconds');
  assert.equal(formatDuration(-5, 'en'), '0 seconds');
  assert.match(formatDuration(3 * d + 4 * 3600e3, 'ja-JP'), /3\s?日.*4\s?時間/);
  assert.match(formatDuration(3 * d + 4 * 3600e3, 'zh-CN'), /3\s?天.*4\s?小时/);
});

test('money in its currency', () => {
  assert.equal(formatMoney('1485', 'JPY', 'en'), '¥1,485');
  assert.match(formatMoney('1485', 'JPY', 'ja-JP'), /^[¥￥]1,485$/);
  assert.equal(formatMoney('1.5', 'USD', 'en'), '$1.50');
  assert.equal(formatMoney('12', 'POINTS', 'en'), '12 POINTS');
});

test('times are in the line\'s zone, not the machine\'s', () => {
  const t = Date.parse('2026-11-30T15:00:00Z'); // midnight, 1 December, in Tokyo
  assert.match(formatClock(t, 'en-GB', 'Asia/Tokyo'), /^00:00:00 /);
  assert.match(formatClock(t, 'en-GB', 'Europe/London'), /^15:00:00 /);
  assert.equal(formatAxisTime(t, 'en-GB', 'Asia/Tokyo', 'hour'), '01/12');
  assert.equal(formatAxisTime(t + 3600e3, 'en-GB', 'Asia/Tokyo', 'hour'), '01:00');
  assert.equal(formatAxisTime(t, 'en-GB', 'Asia/Tokyo', 'day'), '01/12');
});
