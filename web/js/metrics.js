// The Prometheus text exposition format (version 0.0.4) as /metrics writes it, parsed in the
// browser for the operator's ingest-health page, and the few computations that page needs:
// sums over labels, rates between two scrapes, quantiles of a histogram. Pure: no DOM.

/**
 * Parses exposition text into {families: Map(name -> {type, help}), samples: [{name, labels, value}]}.
 * Malformed lines are skipped (a scrape should never break the page).
 */
export function parsePrometheus(text) {
  const families = new Map();
  const samples = [];
  for (const raw of String(text).split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(.*)$/.exec(line);
      if (!m) continue;
      const fam = families.get(m[2]) ?? { type: 'untyped', help: '' };
      if (m[1] === 'TYPE') fam.type = m[3].trim();
      else fam.help = unescapeHelp(m[3]);
      families.set(m[2], fam);
      continue;
    }
    const sample = parseSample(line);
    if (sample) samples.push(sample);
  }
  return { families, samples };
}

function unescapeHelp(s) {
  return s.replace(/\\(n|\\)/g, (_, c) => (c === 'n' ? '\n' : '\\'));
}

function parseSample(line) {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!m) return null;
  const name = m[1];
  let i = name.length;
  const labels = {};
  if (line[i] === '{') {
    i += 1;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i += 1;
      if (line[i] === '}') {
        i += 1;
        break;
      }
      const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(line.slice(i));
      if (!lm) return null;
      i += lm[0].length;
      let value = '';
      for (;;) {
        if (i >= line.length) return null;
        const c = line[i];
        if (c === '\\') {
          const next = line[i + 1];
          value += next === 'n' ? '\n' : next;
          i += 2;
        } else if (c === '"') {
          i += 1;
          break;
        } else {
          value += c;
          i += 1;
        }
      }
      labels[lm[1]] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  if (rest.length === 0 || rest[0] === '') return null;
  const value = parseValue(rest[0]);
  if (Number.isNaN(value) && rest[0] !== 'NaN') return null;
  return { name, labels, value };
}

function parseValue(s) {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

/** The sum of every sample of `name` whose labels include `match`; null when there is none. */
export function sum(parsed, name, match = {}) {
  let total = null;
  for (const s of parsed.samples) {
    if (s.name !== name) continue;
    if (!Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
    total = (total ?? 0) + s.value;
  }
  return total;
}

/** The distinct values of one label among the samples of the names starting with `prefix`. */
export function labelValues(parsed, prefix, label) {
  const out = new Set();
  for (const s of parsed.samples) {
    if (s.name.startsWith(prefix) && s.labels[label] !== undefined) out.add(s.labels[label]);
  }
  return [...out].sort();
}

/** Per-second increase of a counter between two scrapes `seconds` apart (a reset counts from 0). */
export function rate(previous, current, seconds) {
  if (previous === null || current === null || !(seconds > 0)) return null;
  const delta = current >= previous ? current - previous : current;
  return delta / seconds;
}

/**
 * The cumulative buckets of histogram `name` (`name_bucket{le=...}`), summed over the other
 * labels that match, as [{le, count}] sorted by le.
 */
export function histogramBuckets(parsed, name, match = {}) {
  const byLe = new Map();
  for (const s of parsed.samples) {
    if (s.name !== `${name}_bucket` || s.labels.le === undefined) continue;
    if (!Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
    const le = parseValue(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/** Bucket counts of the observations made between two scrapes (cumulative, like the input). */
export function histogramDelta(previous, current) {
  if (!previous) return current;
  const prev = new Map(previous.map((b) => [b.le, b.count]));
  const out = current.map((b) => ({ le: b.le, count: b.count - (prev.get(b.le) ?? 0) }));
  // A counter reset: fall back to the current totals.
  return out.some((b) => b.count < 0) ? current : out;
}

/**
 * The q-quantile (0..1) of cumulative buckets, interpolated linearly inside the bucket as
 * Prometheus' histogram_quantile does; null without observations. A quantile in the +Inf bucket
 * is the highest finite bound.
 */
export function histogramQuantile(q, buckets) {
  if (buckets.length === 0) return null;
  const total = buckets[buckets.length - 1].count;
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      const inBucket = b.count - prevCount;
      if (inBucket <= 0) return b.le;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
