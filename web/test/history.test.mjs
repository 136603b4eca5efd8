import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  breakdown, cycleSeries, dailySeries, hourlySeries, isLocalMidnight, periodPoints,
} from '../js/history.js';

const H = 3600e3;

test('hourly: every hour present, then the forecast rate ahead', () => {
  const now = Date.parse('2026-11-27T10:30:00Z');
  const s = hourlySeries([
    { start: '2026-11-27T19:00:00+09:00', bytes_up: 1, bytes_down: 9 },
    { start: '2026-11-27T08:00:00Z', bytes_up: 0, bytes_down: 5 },
  ], now, 7, 4, 2);
  assert.deepEqual(s.x.map((x) => new Date(x * 1e3).toISOString().slice(11, 13)), ['07', '08', '09', '10', '11', '12']);
  assert.deepEqual(s.used, [0, 5, 0, 10, null, null]);
  assert.deepEqual(s.forecast, [null, null, null, 7, 7, 7]);
  assert.deepEqual(hourlySeries([], now, 0, 2, 5).forecast, [null, null]);
});

test('cycle: cumulative to now (the balance\'s count), forecast to the end', () => {
  const start = Date.parse('2026-11-01T00:00:00+09:00');
  const end = Date.parse('2026-12-01T00:00:00+09:00');
  const now = start + 2.5 * 24 * H;
  const s = cycleSeries([
    { start: '2026-11-01T00:00:00+09:00', bytes_up: 0, bytes_down: 100 },
    { start: '2026-11-02T00:00:00+09:00', bytes_up: 50, bytes_down: 50 },
    { start: '2026-11-03T00:00:00+09:00', bytes_up: 0, bytes_down: 30 },
  ], { cycleStartMs: start, cycleEndMs: end, nowMs: now, usedNow: 240, projectedTotal: 2000, quota: 5000 });
  assert.deepEqual(s.x, [start, start + 24 * H, start + 48 * H, now, end].map((t) => t / 1e3));
  assert.deepEqual(s.used, [0, 100, 200, 240, null]);
  assert.deepEqual(s.forecast, [null, null, null, 240, 2000]);
  assert.deepEqual(s.quota, [5000, 5000, 5000, 5000, 5000]);
});

test('daily: a point per day with usage', () => {
  const s = dailySeries([
    { start: '2026-11-26T00:00:00+09:00', bytes_up: 1, bytes_down: 2 },
    { start: '2026-11-25T00:00:00+09:00', bytes_up: 3, bytes_down: 4 },
  ], 10);
  assert.deepEqual(s.used, [7, 3]);
  assert.deepEqual(s.quota, [10, 10]);
});

test('breakdown sums per name and keeps the unattributed part', () => {
  const rows = breakdown([
    { start: 'a', app: 'youtube', bytes_up: 10, bytes_down: 50 },
    { start: 'b', app: 'youtube', bytes_up: 0, bytes_down: 20 },
    { start: 'a', app: null, bytes_up: 0, bytes_down: 100 },
    { start: 'a', app: 'maps', bytes_up: 0, bytes_down: 20 },
    { start: 'a', app: 'idle', bytes_up: 0, bytes_down: 0 },
  ], 'app');
  assert.deepEqual(rows.map((r) => [r.name, r.bytes]), [[null, 100], ['youtube', 80], ['maps', 20]]);
  assert.equal(rows[0].share, 0.5);
});

test('period points: whole days from daily points, a day begun mid-way from its hours', () => {
  assert.equal(isLocalMidnight('2026-11-01T00:00:00+09:00'), true);
  assert.equal(isLocalMidnight('2026-11-01T00:00:00Z'), true);
  assert.equal(isLocalMidnight('2026-11-01T00:00:00.000-05:00'), true);
  assert.equal(isLocalMidnight('2026-11-23T14:05:00+09:00'), false);
  const daily = [
    { start: '2026-11-23T00:00:00+09:00', app: 'youtube', bytes_up: 0, bytes_down: 900 },
    { start: '2026-11-24T00:00:00+09:00', app: 'youtube', bytes_up: 0, bytes_down: 50 },
    { start: '2026-11-24T00:00:00+09:00', app: null, bytes_up: 1, bytes_down: 4 },
  ];
  // A monthly cycle from local midnight: the daily points as they are.
  assert.equal(periodPoints(daily, [], '2026-11-23T00:00:00+09:00'), daily);
  // A pass started at 14:05 on the 23rd: that day from 14:00 on, hour by hour (earlier hours and
  // the next day's hours are not counted twice).
  const hourly = [
    { start: '2026-11-23T13:00:00+09:00', app: 'youtube', bytes_up: 0, bytes_down: 800 },
    { start: '2026-11-23T14:00:00+09:00', app: 'youtube', bytes_up: 0, bytes_down: 60 },
    { start: '2026-11-23T23:00:00+09:00', app: 'maps', bytes_up: 0, bytes_down: 40 },
    { start: '2026-11-24T00:00:00+09:00', app: 'youtube', bytes_up: 0, bytes_down: 50 },
  ];
  const rows = breakdown(periodPoints(daily, hourly, '2026-11-23T14:05:00+09:00'), 'app');
  assert.deepEqual(rows.map((r) => [r.name, r.bytes]), [['youtube', 110], ['maps', 40], [null, 5]]);
});
