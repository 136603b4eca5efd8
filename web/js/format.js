// Formatting with Intl: bytes, rates, money, dates in a line's time zone, durations. Pure
// functions of (value, locale, ...): no DOM, so node's test runner can check them.
//
// Bytes are SI like the server's ("1 GB" = 10^9 bytes), so what the page shows matches what
// the plan says.

const cache = new Map();
function cached(key, make) {
  let v = cache.get(key);
  if (v === undefined) {
    v = make();
    cache.set(key, v);
  }
  return v;
}

function numberFormat(locale, options) {
  return cached(`n|${locale}|${JSON.stringify(options)}`, () => new Intl.NumberFormat(locale, options));
}

function dateFormat(locale, options) {
  return cached(`d|${locale}|${JSON.stringify(options)}`, () => new Intl.DateTimeFormat(locale, options));
}

const BYTE_UNITS = [
  [1e12, 'terabyte'],
  [1e9, 'gigabyte'],
  [1e6, 'megabyte'],
  [1e3, 'kilobyte'],
];

// Three significant digits at most: 2.15 GB, 21.5 GB, 215 GB.
function fractionDigits(value) {
  if (value < 10) return 2;
  if (value < 100) return 1;
  return 0;
}

/**
 * The byte unit (and its divisor) that suits a quantity: for axes that share one unit. Below
 * 1 kB it is still kB ("0 kB", "0.35 kB"): plain bytes read oddly next to GB.
 */
export function byteUnitFor(bytes) {
  const abs = Math.abs(Number(bytes) || 0);
  for (const [size, unit] of BYTE_UNITS) {
    if (abs >= size) return { size, unit };
  }
  return { size: 1e3, unit: 'kilobyte' };
}

/** 2150000000 -> "2.15 GB" (en), "2.15 GB" (ja), "2.15 GB" (zh); digits and separators per locale. */
export function formatBytes(bytes, locale, { unit, maxFractionDigits } = {}) {
  const n = Number(bytes);
  if (!Number.isFinite(n)) return '–';
  const u = unit ? BYTE_UNITS.find(([, name]) => name === unit) ?? [1, 'byte'] : null;
  const { size, unit: name } = u ? { size: u[0], unit: u[1] } : byteUnitFor(n);
  const value = n / size;
  const digits = name === 'byte' ? 0 : maxFractionDigits ?? fractionDigits(Math.abs(value));
  // A count that is not zero never shows as zero ("0.01 kB", not "0 kB").
  if (value !== 0 && Math.abs(value) < 10 ** -digits) {
    return numberFormat(locale, { style: 'unit', unit: name, unitDisplay: 'short', maximumSignificantDigits: 1 }).format(value);
  }
  return numberFormat(locale, {
    style: 'unit',
    unit: name,
    unitDisplay: 'short',
    maximumFractionDigits: digits,
  }).format(value);
}

/** 128000 -> "128 kb/s" (en), "128 kb/秒" (ja): a throttle or fair-use rate in bit/s. */
export function formatRate(bps, locale) {
  const n = Number(bps);
  if (!Number.isFinite(n)) return '–';
  let unit = 'kilobit-per-second';
  let value = n / 1e3;
  if (n >= 1e9) {
    unit = 'gigabit-per-second';
    value = n / 1e9;
  } else if (n >= 1e6) {
    unit = 'megabit-per-second';
    value = n / 1e6;
  }
  return numberFormat(locale, {
    style: 'unit',
    unit,
    unitDisplay: 'short',
    maximumFractionDigits: fractionDigits(value),
  }).format(value);
}

export function formatNumber(n, locale, maxFractionDigits = 0) {
  return numberFormat(locale, { maximumFractionDigits: maxFractionDigits }).format(Number(n));
}

/** 0.4231 -> "42%" */
export function formatPercent(fraction, locale, maxFractionDigits = 0) {
  return numberFormat(locale, { style: 'percent', maximumFractionDigits: maxFractionDigits })
    .format(Number(fraction));
}

/** The server's decimal string ("550", "1.5") in its currency: "¥550", "US$1.50". */
export function formatMoney(amount, currency, locale) {
  const n = Number(amount);
  if (!Number.isFinite(n)) return String(amount);
  try {
    return numberFormat(locale, { style: 'currency', currency }).format(n);
  } catch {
    // Not an ISO 4217 code: the amount and the code as the plan names it.
    return `${formatNumber(n, locale, 6)} ${currency}`;
  }
}

/** Milliseconds since the epoch of an RFC 3339 string, or NaN. */
export function toMillis(iso) {
  if (iso === null || iso === undefined) return NaN;
  return Date.parse(iso);
}

/** "Mon, 1 Dec, 00:00 GMT+9" in the line's time zone. */
export function formatDateTime(iso, locale, timeZone) {
  const t = typeof iso === 'number' ? iso : toMillis(iso);
  if (!Number.isFinite(t)) return '–';
  return dateFormat(locale, {
    timeZone,
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  }).format(t);
}

/** "1 Dec 2026" in the line's time zone. */
export function formatDate(iso, locale, timeZone) {
  const t = typeof iso === 'number' ? iso : toMillis(iso);
  if (!Number.isFinite(t)) return '–';
  return dateFormat(locale, { timeZone, year: 'numeric', month: 'short', day: 'numeric' }).format(t);
}

/** "14:03:27 GMT+9": the freshness stamp ("as of ..."). */
export function formatClock(iso, locale, timeZone) {
  const t = typeof iso === 'number' ? iso : toMillis(iso);
  if (!Number.isFinite(t)) return '–';
  return dateFormat(locale, {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).format(t);
}

/**
 * Short labels for chart axes in the line's time zone: a day ("12/1") for a daily chart or a
 * local midnight, else the time ("14:00").
 */
export function formatAxisTime(ms, locale, timeZone, granularity) {
  if (granularity === 'second') {
    return dateFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(ms);
  }
  const day = dateFormat(locale, { timeZone, month: 'numeric', day: 'numeric' });
  if (granularity !== 'hour') return day.format(ms);
  const time = dateFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const hm = dateFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
  return hm === '00:00' ? day.format(ms) : time.format(ms);
}

function unitFormat(locale, unit) {
  return numberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' });
}

function listFormat(locale) {
  return cached(`l|${locale}`, () => {
    try {
      return new Intl.ListFormat(locale, { type: 'unit', style: 'narrow' });
    } catch {
      return { format: (parts) => parts.join(' ') };
    }
  });
}

/**
 * A length of time, two units at most: "3 days 4 hours", "5 hours 12 minutes", "42 seconds"
 * (ja "3日 4時間" style, zh "3天4小时" style, as Intl words them).
 */
export function formatDuration(ms, locale) {
  let s = Math.max(0, Math.floor(Number(ms) / 1000));
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  const seconds = s - minutes * 60;
  const parts = [];
  if (days > 0) {
    parts.push(unitFormat(locale, 'day').format(days));
    if (hours > 0) parts.push(unitFormat(locale, 'hour').format(hours));
  } else if (hours > 0) {
    parts.push(unitFormat(locale, 'hour').format(hours));
    if (minutes > 0) parts.push(unitFormat(locale, 'minute').format(minutes));
  } else if (minutes > 0) {
    parts.push(unitFormat(locale, 'minute').format(minutes));
  } else {
    parts.push(unitFormat(locale, 'second').format(seconds));
  }
  return listFormat(locale).format(parts);
}

/** "in 3 days", "2 hours ago", "3日後": for event lists. */
export function formatRelative(iso, nowMs, locale) {
  const t = typeof iso === 'number' ? iso : toMillis(iso);
  if (!Number.isFinite(t)) return '–';
  const diff = t - nowMs;
  const abs = Math.abs(diff);
  const rtf = cached(`r|${locale}`, () => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }));
  if (abs < 60e3) return rtf.format(Math.round(diff / 1e3), 'second');
  if (abs < 3600e3) return rtf.format(Math.round(diff / 60e3), 'minute');
  if (abs < 86400e3) return rtf.format(Math.round(diff / 3600e3), 'hour');
  return rtf.format(Math.round(diff / 86400e3), 'day');
}

/** The short name of a time zone at an instant in a locale: "JST", "GMT+9", "CET". */
export function zoneName(timeZone, locale, atMs = Date.now()) {
  const parts = dateFormat(locale, { timeZone, timeZoneName: 'short' }).formatToParts(atMs);
  return parts.find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
}
