// Privacy and account: whether ryuryo keeps which apps used the data (PUT /v1/me
// {collect_apps}), the sign-in password (PUT /v1/me {password, current_password}), a copy of
// everything kept about the account (GET /v1/me/export, a JSON download), and deleting the
// usage history (DELETE /v1/me/history, after a confirmation).

import { ApiError, del, put } from '../api.js';
import { field, h } from '../dom.js';
import { t } from '../i18n.js';

// The server's shortest password (api/accounts.h, password_bytes_min): it counts UTF-8 bytes.
const PASSWORD_BYTES_MIN = 8;

function utf8Length(s) {
  return new TextEncoder().encode(s).length;
}

/** The password form: the current password, the new one twice; errors next to the fields. */
function passwordSection(account) {
  const input = (name, autocomplete, testid) => h('input', { type: 'password', name, autocomplete, required: true,
    'data-testid': testid });
  const current = input('current-password', 'current-password', 'password-current');
  const next = input('new-password', 'new-password', 'password-new');
  const repeat = input('new-password-repeat', 'new-password', 'password-repeat');
  const error = h('p', { class: 'form-error', role: 'alert', id: 'password-error', 'data-testid': 'password-error', hidden: true });
  const status = h('p', { class: 'form-status', role: 'status', 'data-testid': 'password-status' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'password-submit' },
    t('privacy.passwordSubmit'));
  const fields = [current, next, repeat];

  const fail = (message, at) => {
    error.textContent = message;
    error.hidden = false;
    for (const f of fields) f.removeAttribute('aria-invalid');
    if (at) {
      at.setAttribute('aria-invalid', 'true');
      at.focus();
    }
  };

  const form = h('form', { class: 'password-form', 'data-testid': 'password-form', 'aria-describedby': 'password-text',
    onsubmit: async (e) => {
      e.preventDefault();
      error.hidden = true;
      status.textContent = '';
      for (const f of fields) f.removeAttribute('aria-invalid');
      const empty = fields.find((f) => f.value === '');
      if (empty) return fail(t('privacy.passwordError.missing'), empty);
      if (utf8Length(next.value) < PASSWORD_BYTES_MIN) {
        return fail(t('privacy.passwordError.short', { n: PASSWORD_BYTES_MIN }), next);
      }
      if (next.value !== repeat.value) return fail(t('privacy.passwordError.mismatch'), repeat);
      if (next.value === current.value) return fail(t('privacy.passwordError.same'), next);
      submit.disabled = true;
      status.textContent = t('common.saving');
      try {
        await put('/v1/me', { password: next.value, current_password: current.value });
        for (const f of fields) f.value = '';
        status.textContent = t('privacy.passwordChanged');
      } catch (err) {
        status.textContent = '';
        if (err instanceof ApiError && err.code === 'wrong_password') {
          current.value = '';
          fail(t('privacy.passwordError.wrong'), current);
        } else if (err instanceof ApiError && err.status === 429) {
          const n = Number.isFinite(err.retryAfter) && err.retryAfter > 0 ? err.retryAfter : 60;
          fail(t('login.error.rateLimited', { n }), current);
        } else if (err instanceof ApiError && err.status === 0) {
          fail(t('login.error.network'));
        } else {
          fail(t('common.failed', { message: err.message }), err instanceof ApiError && err.status === 400 ? next : null);
        }
      } finally {
        submit.disabled = false;
      }
    } },
  // For password managers: whose password this is.
  h('input', { type: 'text', name: 'username', autocomplete: 'username', value: account.id ?? '', readonly: true,
    hidden: true, tabindex: '-1', 'aria-hidden': 'true' }),
  field(t('privacy.passwordCurrent'), current),
  h('div', { class: 'grid-2' },
    field(t('privacy.passwordNew'), next, { hint: t('privacy.passwordHint', { n: PASSWORD_BYTES_MIN }) }),
    field(t('privacy.passwordRepeat'), repeat)),
  error,
  h('div', { class: 'form-actions' }, submit, status));
  for (const f of fields) f.setAttribute('aria-errormessage', 'password-error');

  return h('section', { class: 'card', 'aria-labelledby': 'privacy-password' },
    h('h2', { id: 'privacy-password' }, t('privacy.passwordTitle')),
    h('p', { id: 'password-text' }, t('privacy.passwordText')),
    form);
}

export function mount(root, ctx) {
  const account = ctx.me.account ?? {};
  const toggleStatus = h('p', { class: 'form-status', role: 'status', 'data-testid': 'privacy-status' });
  const toggle = h('input', { type: 'checkbox', role: 'switch', id: 'collect-apps', checked: Boolean(account.collect_apps),
    'data-testid': 'privacy-collect-apps', 'aria-describedby': 'collect-apps-help',
    onchange: async () => {
      const want = toggle.checked;
      toggle.disabled = true;
      toggleStatus.className = 'form-status';
      toggleStatus.textContent = t('common.saving');
      try {
        const a = await put('/v1/me', { collect_apps: want });
        toggle.checked = Boolean(a?.collect_apps ?? want);
        if (ctx.me.account) ctx.me.account.collect_apps = toggle.checked;
        toggleStatus.textContent = toggle.checked ? t('privacy.appsOnSaved') : t('privacy.appsOffSaved');
      } catch (e) {
        toggle.checked = !want;
        toggleStatus.classList.add('form-error');
        toggleStatus.textContent = t('common.failed', { message: e.message });
      } finally {
        toggle.disabled = false;
      }
    } });

  const deleteStatus = h('p', { class: 'form-status', role: 'status', 'data-testid': 'privacy-delete-status' });
  const confirmButton = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'privacy-delete-confirm' },
    t('privacy.deleteConfirm'));
  const cancelButton = h('button', { type: 'button', class: 'btn', 'data-testid': 'privacy-delete-cancel' }, t('common.cancel'));
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'delete-title', 'aria-describedby': 'delete-text',
    'data-testid': 'privacy-delete-dialog' },
  h('h2', { id: 'delete-title' }, t('privacy.deleteTitle')),
  h('p', { id: 'delete-text' }, t('privacy.deleteWarning')),
  h('div', { class: 'form-actions' }, cancelButton, confirmButton));
  cancelButton.addEventListener('click', () => dialog.close());
  confirmButton.addEventListener('click', async () => {
    confirmButton.disabled = true;
    deleteStatus.className = 'form-status';
    try {
      await del('/v1/me/history');
      dialog.close();
      deleteStatus.textContent = t('privacy.deleted');
    } catch (e) {
      dialog.close();
      deleteStatus.classList.add('form-error');
      deleteStatus.textContent = t('common.failed', { message: e.message });
    } finally {
      confirmButton.disabled = false;
    }
  });

  root.append(h('div', { class: 'page narrow' },
    h('h1', null, t('privacy.title')),
    h('p', { class: 'muted' }, t('privacy.intro')),
    h('section', { class: 'card', 'aria-labelledby': 'privacy-apps' },
      h('h2', { id: 'privacy-apps' }, t('privacy.appsTitle')),
      h('div', { class: 'switch-row' },
        toggle,
        h('label', { for: 'collect-apps' }, t('privacy.appsLabel'))),
      h('p', { id: 'collect-apps-help', class: 'muted small' }, t('privacy.appsHelp')),
      toggleStatus),
    passwordSection(account),
    h('section', { class: 'card', 'aria-labelledby': 'privacy-export' },
      h('h2', { id: 'privacy-export' }, t('privacy.exportTitle')),
      h('p', null, t('privacy.exportText')),
      h('a', { class: 'btn', href: '/v1/me/export', download: 'ryuryo-my-data.json', 'data-testid': 'privacy-export' },
        t('privacy.exportButton'))),
    h('section', { class: 'card', 'aria-labelledby': 'privacy-delete' },
      h('h2', { id: 'privacy-delete' }, t('privacy.deleteTitle')),
      h('p', null, t('privacy.deleteText')),
      h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'privacy-delete',
        onclick: () => dialog.showModal() }, t('privacy.deleteButton')),
      deleteStatus),
    dialog));
  return { destroy: () => dialog.close() };
}
