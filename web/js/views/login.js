// Sign in: a subscriber with account and password or with a code texted to their line's number,
// an operator with the admin token. POST /v1/auth/login (or /v1/auth/sms-login after
// /v1/auth/sms-code) answers with a session cookie; the token is not kept by the page.
//
// Sign-in by SMS is on only when the server sends SMS ([sms] send_url): the page offers it when
// GET /v1/auth/methods (asked once a page load) says so. If its routes answer 404 later (the
// server was reconfigured), the choice is withdrawn with a note.

import { ApiError, get, post, setCsrfToken } from '../api.js';
import { field, h, uid } from '../dom.js';
import { t } from '../i18n.js';
import { checkCode, checkMsisdn, formatCountdown } from '../sms.js';

// Before "send again" is offered: time for the first SMS to arrive.
const RESEND_AFTER_MS = 30_000;

// Whether the server signs in by SMS: set by the answer of GET /v1/auth/methods, cleared when
// its routes answer 404.
let smsOn = false;
let methodsAsked = null;
// A code sent and still valid: kept over a re-render (a language switch), not over a reload.
let pending = null;

/** GET /v1/auth/methods, once a page load; a failure leaves SMS off (the password form stays). */
function askMethods() {
  methodsAsked ??= get('/v1/auth/methods', { quiet401: true }).then((m) => {
    smsOn = m?.sms_code === true;
  }, () => {});
  return methodsAsked;
}

export function mount(root, ctx) {
  let mode = ctx.query.get('as') === 'operator' ? 'operator' : 'subscriber';
  let method = pending && pending.expiresAt > Date.now() ? 'sms' : 'password';
  let timer = null;

  // ---- account and password, or the admin token ------------------------------------------------
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'login-error', hidden: true });
  const account = h('input', { type: 'text', name: 'account', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false', 'data-testid': 'login-account' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password',
    required: true, 'data-testid': 'login-password' });
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false',
    'data-testid': 'login-token' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'login-submit' },
    t('login.submit'));
  const subscriberFields = h('div', null,
    field(t('login.account'), account),
    field(t('login.password'), password));
  const operatorFields = h('div', null,
    field(t('login.token'), token, { hint: t('login.tokenHint') }));

  const modeName = uid('mode');
  const modeRadio = (value, label) => h('label', { class: 'segmented-option' },
    h('input', { type: 'radio', name: modeName, value, checked: mode === value, 'data-testid': `login-mode-${value}`,
      onchange: () => {
        mode = value;
        show();
      } }),
    h('span', null, label));

  const form = h('form', { class: 'login-form', 'data-testid': 'login-form', novalidate: false,
    onsubmit: async (e) => {
      e.preventDefault();
      error.hidden = true;
      const body = mode === 'operator'
        ? { token: token.value.trim() }
        : { account: account.value.trim(), password: password.value };
      submit.disabled = true;
      try {
        const answer = await post('/v1/auth/login', body, { quiet401: true });
        setCsrfToken(answer?.csrf_token);
        token.value = '';
        password.value = '';
        await ctx.signedIn(ctx.query.get('next'));
      } catch (err) {
        error.textContent = loginError(err);
        error.hidden = false;
        submit.disabled = false;
        (mode === 'operator' ? token : password).focus();
      }
    } },
    subscriberFields,
    operatorFields,
    error,
    submit);

  // ---- a code by SMS -----------------------------------------------------------------------------
  const smsStart = h('button', { type: 'button', class: 'btn btn-block', 'data-testid': 'login-sms',
    onclick: () => openSms() }, t('sms.start'));
  const smsOffer = h('div', { class: 'login-alt' }, h('p', { class: 'login-or' }, h('span', null, t('sms.or'))), smsStart);
  const smsUnavailable = h('p', { class: 'note', role: 'status', 'data-testid': 'login-sms-unavailable', hidden: true },
    t('sms.unavailable'));

  const phone = h('input', { type: 'tel', name: 'msisdn', autocomplete: 'tel', inputmode: 'tel', required: true,
    'data-testid': 'sms-phone' });
  const phoneError = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'sms-phone-error', hidden: true });
  const send = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'sms-send' }, t('sms.send'));
  const phoneForm = h('form', { class: 'login-form', 'data-testid': 'sms-phone-form', novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      const n = checkMsisdn(phone.value);
      if (n.error) {
        showError(phoneError, t(n.error));
        phone.focus();
        return;
      }
      sendCode(phone.value.trim(), false);
    } },
  field(t('sms.phone'), phone, { hint: t('sms.phoneHint') }),
  phoneError,
  send);

  const sentNote = h('p', { class: 'note', role: 'status', 'data-testid': 'sms-sent' });
  const code = h('input', { type: 'text', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code',
    pattern: '[0-9]{6}', maxlength: '7', required: true, spellcheck: 'false', class: 'input-code', 'data-testid': 'sms-code' });
  const countdown = h('p', { class: 'muted small countdown', role: 'timer', 'data-testid': 'sms-countdown' });
  const codeError = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'sms-code-error', hidden: true });
  const signIn = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'sms-submit' },
    t('sms.submit'));
  const resend = h('button', { type: 'button', class: 'btn-link', 'data-testid': 'sms-resend',
    onclick: () => sendCode(pending?.number ?? phone.value.trim(), true) }, t('sms.resend'));
  const change = h('button', { type: 'button', class: 'btn-link', 'data-testid': 'sms-change', onclick: () => {
    pending = null;
    stopTimer();
    code.value = '';
    showStep();
    phone.focus();
  } }, t('sms.changeNumber'));
  const codeForm = h('form', { class: 'login-form', 'data-testid': 'sms-code-form', novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      codeError.hidden = true;
      const c = checkCode(code.value);
      if (c.error) {
        showError(codeError, t(c.error));
        code.focus();
        return;
      }
      signIn.disabled = true;
      try {
        const answer = await post('/v1/auth/sms-login', { msisdn: pending.number, code: c.value }, { quiet401: true });
        setCsrfToken(answer?.csrf_token);
        pending = null;
        stopTimer();
        await ctx.signedIn(ctx.query.get('next'));
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          smsGone();
          return;
        }
        showError(codeError, smsLoginError(err));
        signIn.disabled = false;
        code.select();
        code.focus();
      }
    } },
  sentNote,
  field(t('sms.code'), code, { hint: t('sms.codeHint') }),
  countdown,
  codeError,
  signIn,
  h('p', { class: 'login-links' }, resend, change));

  const usePassword = h('button', { type: 'button', class: 'btn-link', 'data-testid': 'sms-use-password', onclick: () => {
    method = 'password';
    show();
    account.focus();
  } }, t('sms.usePassword'));
  const smsBox = h('div', { class: 'sms-login', 'data-testid': 'login-sms-box' },
    h('h2', null, t('sms.start')),
    h('p', { class: 'muted small' }, t('sms.intro')),
    phoneForm,
    codeForm,
    h('p', { class: 'login-links' }, usePassword));

  function showError(el, message) {
    el.textContent = message;
    el.hidden = false;
  }

  function show() {
    const sms = mode === 'subscriber' && method === 'sms' && smsOn;
    form.hidden = sms;
    subscriberFields.hidden = mode !== 'subscriber';
    operatorFields.hidden = mode !== 'operator';
    account.required = mode === 'subscriber';
    password.required = mode === 'subscriber';
    token.required = mode === 'operator';
    error.hidden = true;
    offerSms();
    smsBox.hidden = !sms;
    if (mode !== 'subscriber') smsUnavailable.hidden = true;
    showStep();
  }

  /** "Sign in with a code by SMS" is offered to subscribers when the server has it. */
  function offerSms() {
    smsOffer.hidden = mode !== 'subscriber' || method === 'sms' || !smsOn;
  }

  function showStep() {
    const codeStep = Boolean(pending);
    phoneForm.hidden = codeStep;
    codeForm.hidden = !codeStep;
    phoneError.hidden = true;
    codeError.hidden = true;
    send.disabled = false;
    signIn.disabled = false;
    if (codeStep) {
      phone.value = pending.number;
      sentNote.textContent = t(pending.resent ? 'sms.resent' : 'sms.sent', { number: pending.number });
      tick();
      if (!timer) timer = setInterval(tick, 1000);
    } else {
      stopTimer();
    }
  }

  function tick() {
    if (!pending) return;
    const now = Date.now();
    const left = (pending.expiresAt - now) / 1000;
    if (left > 0) {
      countdown.textContent = t('sms.validFor', { time: formatCountdown(left) });
      countdown.classList.remove('form-error');
    } else {
      countdown.textContent = t('sms.expired');
      countdown.classList.add('form-error');
    }
    signIn.disabled = left <= 0;
    const wait = Math.ceil((pending.resendAt - now) / 1000);
    resend.disabled = wait > 0 && left > 0;
    resend.textContent = resend.disabled ? t('sms.resendIn', { n: wait }) : t('sms.resend');
  }

  function stopTimer() {
    if (timer) clearInterval(timer);
    timer = null;
  }

  function smsGone() {
    smsOn = false;
    pending = null;
    method = 'password';
    smsUnavailable.hidden = false;
    show();
    account.focus();
  }

  function openSms() {
    method = 'sms';
    show();
    phone.focus();
  }

  async function sendCode(number, again) {
    const errorEl = again ? codeError : phoneError;
    errorEl.hidden = true;
    send.disabled = true;
    resend.disabled = true;
    try {
      const answer = await post('/v1/auth/sms-code', { msisdn: number }, { quiet401: true });
      const now = Date.now();
      const ttl = Number(answer?.expires_in_s) > 0 ? Number(answer.expires_in_s) : 300;
      pending = { number, expiresAt: now + ttl * 1000, resendAt: now + RESEND_AFTER_MS, resent: again };
      code.value = '';
      showStep();
      code.focus();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        smsGone();
        return;
      }
      send.disabled = false;
      if (again) tick();
      showError(errorEl, smsSendError(err));
      (again ? code : phone).focus();
    }
  }

  const card = h('div', { class: 'card login-card' },
    h('h1', null, t('login.title')),
    h('p', { class: 'muted' }, t('login.intro')),
    h('fieldset', { class: 'segmented' },
      h('legend', null, t('login.as')),
      modeRadio('subscriber', t('login.subscriber')),
      modeRadio('operator', t('login.operator'))),
    form,
    smsUnavailable,
    smsOffer,
    smsBox);
  show();
  // Offered once the server said it signs in by SMS (at once when this page load asked before).
  askMethods().then(offerSms);
  root.append(h('section', { class: 'page login-page' }, card));
  if (mode === 'operator') token.focus();
  else if (method === 'sms') code.focus();
  else account.focus();
  return {
    destroy() {
      stopTimer();
    },
  };
}

function loginError(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) return t('login.error.credentials');
    if (err.status === 429) return t('login.error.rateLimited', { n: retrySeconds(err) });
    if (err.status === 0) return t('login.error.network');
  }
  return t('login.error.other', { message: err.message });
}

function retrySeconds(err) {
  return Number.isFinite(err.retryAfter) && err.retryAfter > 0 ? err.retryAfter : 60;
}

/** A wait of Retry-After seconds, in seconds when short and in minutes when not. */
function tooMany(err) {
  const s = retrySeconds(err);
  return s < 120 ? t('login.error.rateLimited', { n: s }) : t('sms.error.tooMany', { n: Math.ceil(s / 60) });
}

function smsSendError(err) {
  if (err instanceof ApiError) {
    if (err.status === 400) return t('sms.error.phone');
    if (err.status === 429) return tooMany(err);
    if (err.status === 503) return t('sms.error.gateway');
    if (err.status === 0) return t('login.error.network');
  }
  return t('login.error.other', { message: err.message });
}

function smsLoginError(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) return t('sms.error.wrongCode');
    if (err.status === 400) return t('sms.error.code');
    if (err.status === 429) return tooMany(err);
    if (err.status === 0) return t('login.error.network');
  }
  return t('login.error.other', { message: err.message });
}
