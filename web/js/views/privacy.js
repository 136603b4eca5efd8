// Privacy: whether ryuryo keeps which apps used the data (PUT /v1/me {collect_apps}), a copy of
// everything kept about the account (GET /v1/me/export, a JSON download), and deleting the
// usage history (DELETE /v1/me/history, after a confirmation).

import { del, put } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';

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
