import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MESSAGES } from '../js/messages.js';
import {
  checkCode, checkMsisdn, formatCountdown, parseQuietHours, quietHoursValue, smsChannel, smsChannelError,
} from '../js/sms.js';

test('phone numbers as people type them', () => {
  assert.deepEqual(checkMsisdn('090-1234-5678'), { value: '09012345678' });
  assert.deepEqual(checkMsisdn(' +81 90 1234 5678 '), { value: '+819012345678' });
  assert.deepEqual(checkMsisdn('+81 (90) 1234.5678'), { value: '+819012345678' });
  // Full-width digits and '＋', the katakana 'ー' and dashes Japanese keyboards type.
  assert.deepEqual(checkMsisdn('＋８１ ９０ー１２３４ー５６７８'), { value: '+819012345678' });
  assert.deepEqual(checkMsisdn('090\u20101234\u22125678'), { value: '09012345678' });
  assert.deepEqual(checkMsisdn('81 90 1234 5678'), { value: '819012345678' });
  assert.equal(checkMsisdn('').error, 'sms.error.phoneMissing');
  assert.equal(checkMsisdn('   ').error, 'sms.error.phoneMissing');
  for (const bad of ['090-1234-567x', 'abc', '+81+90', '90+1234', '1234567', '+1234567890123456', '+', '090/1234/5678']) {
    assert.equal(checkMsisdn(bad).error, 'sms.error.phone', bad);
  }
});

test('sign-in codes: 6 digits, full-width and spaces forgiven', () => {
  assert.deepEqual(checkCode('042917'), { value: '042917' });
  assert.deepEqual(checkCode(' 042 917 '), { value: '042917' });
  assert.deepEqual(checkCode('０４２９１７'), { value: '042917' });
  assert.equal(checkCode('').error, 'sms.error.codeMissing');
  for (const bad of ['12345', '1234567', '12345a', '12.456']) assert.equal(checkCode(bad).error, 'sms.error.code', bad);
});

test('quiet hours from the API', () => {
  assert.deepEqual(parseQuietHours(null), { mode: 'default' });
  assert.deepEqual(parseQuietHours(undefined), { mode: 'default' });
  assert.deepEqual(parseQuietHours('off'), { mode: 'off' });
  assert.deepEqual(parseQuietHours('22:00-07:00'), { mode: 'custom', from: '22:00', to: '07:00' });
  assert.deepEqual(parseQuietHours('00:30-06:15'), { mode: 'custom', from: '00:30', to: '06:15' });
  for (const bad of ['24:00-07:00', '22:60-07:00', '22-07', 'always', '2200-0700']) assert.equal(parseQuietHours(bad), null, bad);
});

test('quiet hours to the API', () => {
  assert.deepEqual(quietHoursValue({ mode: 'default' }), { value: undefined });
  assert.deepEqual(quietHoursValue(undefined), { value: undefined });
  assert.deepEqual(quietHoursValue({ mode: 'off' }), { value: 'off' });
  assert.deepEqual(quietHoursValue({ mode: 'custom', from: '22:00', to: '07:00' }), { value: '22:00-07:00' });
  // An <input type=time> may give seconds.
  assert.deepEqual(quietHoursValue({ mode: 'custom', from: '22:00:00', to: '07:30:00.000' }), { value: '22:00-07:30' });
  assert.equal(quietHoursValue({ mode: 'custom', from: '22:00', to: '' }).error, 'alerts.error.quietTimes');
  assert.equal(quietHoursValue({ mode: 'custom', from: '25:00', to: '07:00' }).error, 'alerts.error.quietTimes');
  assert.equal(quietHoursValue({ mode: 'custom', from: '07:00', to: '07:00' }).error, 'alerts.error.quietSame');
  for (const v of [null, 'off', '22:00-07:00', '09:15-17:45']) {
    const back = quietHoursValue(parseQuietHours(v)).value;
    assert.equal(back ?? null, v);
  }
});

test('SMS channels: a subscriber names no number; an operator may', () => {
  const c = { type: 'sms', to: '+819012345678', quiet: { mode: 'custom', from: '22:00', to: '07:00' } };
  assert.deepEqual(smsChannel(c), { channel: { type: 'sms', quiet_hours: '22:00-07:00' } });
  assert.deepEqual(smsChannel({ type: 'sms', to: '', quiet: { mode: 'default' } }), { channel: { type: 'sms' } });
  assert.deepEqual(smsChannel({ type: 'sms', quiet: { mode: 'off' } }), { channel: { type: 'sms', quiet_hours: 'off' } });
  assert.deepEqual(smsChannel({ ...c, to: '090-2222-3333' }, { ownNumberOnly: false }),
    { channel: { type: 'sms', to: '09022223333', quiet_hours: '22:00-07:00' } });
  assert.deepEqual(smsChannel({ type: 'sms', to: ' ', quiet: { mode: 'default' } }, { ownNumberOnly: false }), { channel: { type: 'sms' } });
  assert.equal(smsChannel({ type: 'sms', to: 'nope' }, { ownNumberOnly: false }).error, 'alerts.error.phone');
  assert.equal(smsChannel({ type: 'sms', quiet: { mode: 'custom', from: '', to: '' } }).error, 'alerts.error.quietTimes');
});

test('the server\'s SMS channel refusals become the page\'s messages', () => {
  assert.deepEqual(smsChannelError('channels[1]: type: SMS alerts are not available on this server (no SMS gateway is configured)'),
    { row: 1, key: 'alerts.error.smsUnavailable' });
  assert.deepEqual(smsChannelError('channels[0]: to: SMS alerts go to this line\'s own number only'),
    { row: 0, key: 'alerts.error.smsOwnNumber' });
  assert.deepEqual(smsChannelError('channels[2]: to: the line has no phone number; give one'),
    { row: 2, key: 'alerts.error.smsNoNumber' });
  assert.equal(smsChannelError('channels[0]: url: not a URL'), null);
  assert.equal(smsChannelError(undefined), null);
});

test('the countdown of a code\'s validity', () => {
  assert.equal(formatCountdown(300), '5:00');
  assert.equal(formatCountdown(299.2), '5:00');
  assert.equal(formatCountdown(65), '1:05');
  assert.equal(formatCountdown(0.4), '0:01');
  assert.equal(formatCountdown(0), '0:00');
  assert.equal(formatCountdown(-3), '0:00');
});

test('every message key these helpers return exists', () => {
  const keys = ['sms.error.phoneMissing', 'sms.error.phone', 'sms.error.codeMissing', 'sms.error.code',
    'alerts.error.quietTimes', 'alerts.error.quietSame', 'alerts.error.phone', 'alerts.error.smsUnavailable',
    'alerts.error.smsOwnNumber', 'alerts.error.smsNoNumber'];
  for (const lang of ['en', 'ja', 'zh']) {
    for (const k of keys) assert.ok(MESSAGES[lang][k], `${lang} ${k}`);
  }
});
