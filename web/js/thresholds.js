// Alert thresholds and channels as the API spells them, and as the alert form edits them.
//   "80%"          -> {kind: 'percent', amount: 80}
//   "500 MB left"  -> {kind: 'left', amount: 500, unit: 'MB'}
//   "1.5 GB left"  -> {kind: 'left', amount: 1.5, unit: 'GB'}
//   "pace"         -> {kind: 'pace'}
// Pure: no DOM.

const UNIT_BYTES = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };

/** Parses a threshold label from the API; null when it is none of the three forms. */
export function parseThreshold(label) {
  const s = String(label).trim();
  if (s === 'pace') return { kind: 'pace' };
  let m = /^(\d+(?:\.\d+)?)\s*%$/.exec(s);
  if (m) return { kind: 'percent', amount: Number(m[1]) };
  m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s+left$/.exec(s);
  if (m) {
    const unit = m[2].toUpperCase();
    const size = UNIT_BYTES[unit];
    if (size === undefined) return null;
    const bytes = Number(m[1]) * size;
    // The form offers MB and GB: whole GB stay GB, anything else is shown in MB.
    if (bytes >= 1e9 && bytes % 1e7 === 0) return { kind: 'left', amount: round(bytes / 1e9), unit: 'GB' };
    return { kind: 'left', amount: round(bytes / 1e6), unit: 'MB' };
  }
  return null;
}

function round(x) {
  return Math.round(x * 1000) / 1000;
}

/**
 * The API label of a threshold from the form, or an error key (for i18n) when the values are
 * not usable: {label} or {error}.
 */
export function thresholdLabel(t) {
  if (t.kind === 'pace') return { label: 'pace' };
  const amount = Number(t.amount);
  if (t.amount === '' || t.amount === null || !Number.isFinite(amount) || amount <= 0) {
    return { error: 'alerts.error.amount' };
  }
  if (t.kind === 'percent') {
    if (amount > 100) return { error: 'alerts.error.percent' };
    return { label: `${trimNumber(amount)}%` };
  }
  if (t.kind === 'left') {
    const unit = t.unit === 'GB' ? 'GB' : 'MB';
    return { label: `${trimNumber(amount)} ${unit} left` };
  }
  return { error: 'alerts.error.kind' };
}

function trimNumber(x) {
  // At most 3 decimals, no exponent, no trailing zeros.
  return String(Math.round(x * 1000) / 1000);
}

/** Checks a channel from the form: {channel} for the API or {error} (an i18n key). */
export function checkChannel(c) {
  if (c.type === 'webhook') {
    const url = String(c.url ?? '').trim();
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      return { error: 'alerts.error.url' };
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return { error: 'alerts.error.url' };
    return { channel: { type: 'webhook', url } };
  }
  if (c.type === 'sms') {
    // E.164: a plus and 8 to 15 digits; spaces, dashes and parentheses people type are dropped.
    const to = String(c.to ?? '').replace(/[\s\-().]/g, '');
    if (!/^\+[1-9]\d{7,14}$/.test(to)) return { error: 'alerts.error.phone' };
    return { channel: { type: 'sms', to } };
  }
  return { error: 'alerts.error.kind' };
}
