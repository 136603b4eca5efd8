// Sign in: a subscriber with account and password, an operator with the admin token. Either way
// POST /v1/auth/login answers with a session cookie; the token is not kept by the page.

import { ApiError, post, setCsrfToken } from '../api.js';
import { field, h, uid } from '../dom.js';
import { t } from '../i18n.js';

export function mount(root, ctx) {
  let mode = ctx.query.get('as') === 'operator' ? 'operator' : 'subscriber';
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

  function show() {
    subscriberFields.hidden = mode !== 'subscriber';
    operatorFields.hidden = mode !== 'operator';
    account.required = mode === 'subscriber';
    password.required = mode === 'subscriber';
    token.required = mode === 'operator';
    error.hidden = true;
  }

  const form = h('form', { class: 'card login-card', 'data-testid': 'login-form', novalidate: false,
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
    h('h1', null, t('login.title')),
    h('p', { class: 'muted' }, t('login.intro')),
    h('fieldset', { class: 'segmented' },
      h('legend', null, t('login.as')),
      modeRadio('subscriber', t('login.subscriber')),
      modeRadio('operator', t('login.operator'))),
    subscriberFields,
    operatorFields,
    error,
    submit);
  show();
  root.append(h('section', { class: 'page login-page' }, form));
  (mode === 'operator' ? token : account).focus();
  return null;
}

function loginError(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) return t('login.error.credentials');
    if (err.status === 429) {
      const s = Number.isFinite(err.retryAfter) && err.retryAfter > 0 ? err.retryAfter : 60;
      return t('login.error.rateLimited', { n: s });
    }
    if (err.status === 0) return t('login.error.network');
  }
  return t('login.error.other', { message: err.message });
}
