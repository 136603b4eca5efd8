// SMS in the page: phone numbers and sign-in codes as people type them, an SMS alert channel's
// quiet hours between the API's string and the form, the API's SMS channel errors as messages.
// Errors are i18n keys. Pure: no DOM.
//
//   checkMsisdn('090-1234-5678')       -> {value: '09012345678'}   (the server normalises it)
//   checkCode('１２３ ４５６')          -> {value: '123456'}
//   parseQuietHours(null)              -> {mode: 'default'}         (the server's [sms] quiet_hours)
//   parseQuietHours('off')             -> {mode: 'off'}
//   parseQuietHours('22:00-07:00')     -> {mode: 'custom', from: '22:00', to: '07:00'}
//   quietHoursValue({mode: 'custom', from: '22:00', to: '07:00'}) -> {value: '22:00-07:00'}

// What people put between digits: spaces (also no-break and ideographic), '-', '.', brackets,
// dashes and the katakana 'ー' Japanese input methods type for '-' (as src/sms/msisdn.h).
const SEPARATORS = /[\s\u00a0\u3000\-.()\u2010-\u2015\u2212\u30fc\uff70]/g;

/** Full-width ASCII ('０'..'９', '＋', '－', ...) to ASCII. */
function halfWidth(s) {
  return String(s ?? '').replace(/[\uff01-\uff5e]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
}

/**
 * A phone number as typed: {value} (digits, with a leading '+' when given) or {error}. National
 * ('090…') and international ('+81 90…') forms pass; which line it is the server decides.
 */
export function checkMsisdn(text) {
  const s = halfWidth(text).trim().replace(SEPARATORS, '');
  if (s === '') return { error: 'sms.error.phoneMissing' };
  if (!/^\+?\d+$/.test(s)) return { error: 'sms.error.phone' };
  const digits = s.replace('+', '');
  if (digits.length < 8 || digits.length > 15) return { error: 'sms.error.phone' };
  return { value: s };
}

/** A sign-in code as typed: {value} (6 digits) or {error}. */
export function checkCode(text) {
  const s = halfWidth(text).replace(/[\s\u3000-]/g, '');
  if (s === '') return { error: 'sms.error.codeMissing' };
  if (!/^\d{6}$/.test(s)) return { error: 'sms.error.code' };
  return { value: s };
}

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** An SMS channel's `quiet_hours` from the API: null/absent (the default), 'off' or 'HH:MM-HH:MM'. */
export function parseQuietHours(v) {
  if (v === null || v === undefined || v === '') return { mode: 'default' };
  if (v === 'off') return { mode: 'off' };
  const m = /^(\d\d:\d\d)-(\d\d:\d\d)$/.exec(String(v));
  if (m && TIME.test(m[1]) && TIME.test(m[2])) return { mode: 'custom', from: m[1], to: m[2] };
  return null;
}

/** '22:00', '22:00:00' (an <input type=time> with seconds) -> '22:00'; anything else -> null. */
function timeOfDay(v) {
  const m = /^(\d\d:\d\d)(?::\d\d(?:\.\d+)?)?$/.exec(String(v ?? '').trim());
  return m && TIME.test(m[1]) ? m[1] : null;
}

/**
 * The form's quiet hours as the API takes them: {value} with value undefined for the default
 * (the field is left out), 'off', or 'HH:MM-HH:MM'; or {error}.
 */
export function quietHoursValue(q) {
  const mode = q?.mode ?? 'default';
  if (mode === 'default') return { value: undefined };
  if (mode === 'off') return { value: 'off' };
  if (mode !== 'custom') return { error: 'alerts.error.kind' };
  const from = timeOfDay(q.from);
  const to = timeOfDay(q.to);
  if (!from || !to) return { error: 'alerts.error.quietTimes' };
  if (from === to) return { error: 'alerts.error.quietSame' };
  return { value: `${from}-${to}` };
}

/**
 * An SMS channel of the form as the API takes it: {channel} or {error}. A subscriber's goes to
 * the line's own number (no `to`); an operator may name another one.
 */
export function smsChannel(c, { ownNumberOnly = true } = {}) {
  const channel = { type: 'sms' };
  if (!ownNumberOnly && String(c.to ?? '').trim() !== '') {
    const to = checkMsisdn(c.to);
    if (to.error) return { error: 'alerts.error.phone' };
    channel.to = to.value;
  }
  const q = quietHoursValue(c.quiet);
  if (q.error) return { error: q.error };
  if (q.value !== undefined) channel.quiet_hours = q.value;
  return { channel };
}

/**
 * What the server said about an SMS channel, as a message of the page: {row (0-based, or null),
 * key} for the known refusals, else null (show the server's own words).
 *   'channels[1]: type: SMS alerts are not available on this server (…)' -> {row: 1, key: 'alerts.error.smsUnavailable'}
 */
export function smsChannelError(message) {
  const s = String(message ?? '');
  const m = /^channels\[(\d+)\]:/.exec(s);
  const row = m ? Number(m[1]) : null;
  if (/SMS alerts are not available on this server/.test(s)) return { row, key: 'alerts.error.smsUnavailable' };
  if (/this line's own number only/.test(s)) return { row, key: 'alerts.error.smsOwnNumber' };
  if (/the line has no phone number/.test(s)) return { row, key: 'alerts.error.smsNoNumber' };
  return null;
}

/** Seconds as 'm:ss' ('4:05'); never negative. */
export function formatCountdown(seconds) {
  const s = Math.max(0, Math.ceil(Number(seconds) || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
