import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  histogramBuckets, histogramDelta, histogramQuantile, labelValues, parsePrometheus, rate, sum,
} from '../js/metrics.js';

const TEXT = `# HELP ryuryo_records_applied_total Usage records applied to a line.
# TYPE ryuryo_records_applied_total counter
ryuryo_records_applied_total 1843
# TYPE ryuryo_radius_acct_requests_total counter
ryuryo_radius_acct_requests_total{client="local-nas"} 4088
ryuryo_radius_acct_requests_total{client="pgw \\"east\\", 2"} 12
ryuryo_enforcement_requests_total{action="coa",result="ack"} 2
ryuryo_enforcement_requests_total{action="disconnect",result="timeout"} 1
# TYPE ryuryo_commit_seconds histogram
ryuryo_commit_seconds_bucket{le="0.001"} 40
ryuryo_commit_seconds_bucket{le="0.002"} 80
ryuryo_commit_seconds_bucket{le="0.005"} 100
ryuryo_commit_seconds_bucket{le="+Inf"} 100
ryuryo_commit_seconds_sum 0.2
ryuryo_commit_seconds_count 100
this line is not a sample {{
ryuryo_ingest_queue_records 0 1700000000000
`;

test('parses families, samples, labels with escapes, and skips junk', () => {
  const p = parsePrometheus(TEXT);
  assert.equal(p.families.get('ryuryo_records_applied_total').type, 'counter');
  assert.equal(p.families.get('ryuryo_records_applied_total').help, 'Usage records applied to a line.');
  assert.equal(sum(p, 'ryuryo_records_applied_total'), 1843);
  assert.equal(sum(p, 'ryuryo_radius_acct_requests_total'), 4100);
  assert.equal(sum(p, 'ryuryo_radius_acct_requests_total', { client: 'pgw "east", 2' }), 12);
  assert.equal(sum(p, 'ryuryo_enforcement_requests_total', { result: 'timeout' }), 1);
  assert.equal(sum(p, 'ryuryo_ingest_queue_records'), 0);
  assert.equal(sum(p, 'ryuryo_missing_total'), null);
  assert.deepEqual(labelValues(p, 'ryuryo_radius_acct_', 'client'), ['local-nas', 'pgw "east", 2']);
});

test('rates between scrapes, a counter reset counts from zero', () => {
  assert.equal(rate(100, 150, 5), 10);
  assert.equal(rate(150, 20, 5), 4);
  assert.equal(rate(null, 20, 5), null);
  assert.equal(rate(1, 2, 0), null);
});

test('histogram quantiles interpolate inside the bucket', () => {
  const b = histogramBuckets(parsePrometheus(TEXT), 'ryuryo_commit_seconds');
  assert.deepEqual(b.map((x) => x.le), [0.001, 0.002, 0.005, Infinity]);
  assert.equal(histogramQuantile(0.2, b), 0.0005);
  assert.equal(histogramQuantile(0.5, b), 0.00125);
  assert.ok(Math.abs(histogramQuantile(0.99, b) - 0.00485) < 1e-12);
  assert.equal(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }]), null);
  // Everything above the last finite bound: the bound.
  assert.equal(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 5 }]), 1);
});

test('histogram deltas are the observations between two scrapes', () => {
  const before = [{ le: 0.001, count: 10 }, { le: Infinity, count: 20 }];
  const after = [{ le: 0.001, count: 15 }, { le: Infinity, count: 30 }];
  assert.deepEqual(histogramDelta(before, after), [{ le: 0.001, count: 5 }, { le: Infinity, count: 10 }]);
  assert.deepEqual(histogramDelta(after, before), before);
  assert.deepEqual(histogramDelta(null, after), after);
});
