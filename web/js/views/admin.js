// The operator's pages: lines (search, sort, provision), one line (its card, settings, top-up,
// alerts, open sessions, audit trail), accounts (edit, login links), quarantined records,
// ingest health (from /metrics) and recent events.

import { ApiError, get, getMetricsText, path, post, put, withQuery } from '../api.js';
import { TimeChart } from '../chart.js';
import { field, h, replace, toast, uid } from '../dom.js';
import {
  byteUnitFor, formatBytes, formatDateTime, formatNumber, formatPercent, formatRate, formatRelative,
} from '../format.js';
import { locale, t } from '../i18n.js';
import { LiveFeed } from '../live.js';
import {
  histogramBuckets, histogramDelta, histogramQuantile, labelValues, parsePrometheus, rate, sum,
} from '../metrics.js';
import { AlertsEditor } from './alerts.js';
import { LineCard } from './linecard.js';

const LIST_PAGE = 1000;
const LINES_REFRESH_MS = 30_000;
const HEALTH_SCRAPE_MS = 5_000;
const HEALTH_POINTS_MAX = 120;
const EVENTS_SHOWN_MAX = 200;
const EVENTS_POLL_MS = 5_000;

function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

function errorNotice(e) {
  return h('p', { class: 'notice notice-error', role: 'alert' }, t('common.failed', { message: e.message }));
}

function stateBadge(state) {
  return h('span', { class: `badge badge-${state}`, 'data-state': state }, t(`state.${state}`));
}

function tableWrap(...children) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data-table' }, children));
}

let plansCache = null;
async function plans() {
  if (!plansCache) plansCache = get('/v1/plans').then((r) => r.plans ?? []).catch((e) => {
    plansCache = null;
    throw e;
  });
  return plansCache;
}

// ---- lines ---------------------------------------------------------------------------------

const SORTS = {
  id: (a, b) => a.id.localeCompare(b.id),
  used: (a, b) => b.used - a.used || a.id.localeCompare(b.id),
  share: (a, b) => usedShare(b) - usedShare(a) || a.id.localeCompare(b.id),
  remaining: (a, b) => (a.remaining ?? Infinity) - (b.remaining ?? Infinity) || a.id.localeCompare(b.id),
};

function usedShare(l) {
  if (l.remaining === null || l.remaining === undefined) return -1;
  const q = l.used + l.remaining;
  return q > 0 ? l.used / q : 0;
}

export const lines = {
  mount(root, ctx) {
    let all = [];
    let next = null;
    let sort = ctx.query.get('sort') in SORTS ? ctx.query.get('sort') : 'used';
    let q = ctx.query.get('q') ?? '';
    let timer = null;
    let searchTimer = null;
    let seq = 0;

    const count = h('p', { class: 'muted', role: 'status', 'data-testid': 'admin-line-count' });
    const body = h('tbody');
    const more = h('button', { type: 'button', class: 'btn', hidden: true, 'data-testid': 'admin-more',
      onclick: () => load(true) }, t('common.more'));
    const search = h('input', { type: 'search', value: q, 'data-testid': 'admin-search', autocomplete: 'off',
      placeholder: t('admin.lines.searchHint'),
      oninput: () => {
        clearTimeout(searchTimer);
        searchTimer = setTimeout(() => {
          q = search.value.trim();
          remember();
          load(false);
        }, 250);
      } });
    const sortSelect = h('select', { 'data-testid': 'admin-sort', onchange: () => {
      sort = sortSelect.value;
      remember();
      draw();
    } }, Object.keys(SORTS).map((k) => h('option', { value: k, selected: k === sort }, t(`admin.lines.sort.${k}`))));
    const formHolder = h('div');
    const newButton = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'admin-new-line',
      'aria-expanded': 'false', onclick: async () => {
        if (formHolder.firstChild) {
          replace(formHolder);
          newButton.setAttribute('aria-expanded', 'false');
          return;
        }
        newButton.setAttribute('aria-expanded', 'true');
        replace(formHolder, await lineForm(null, (line) => ctx.navigate(`/admin/lines/${encodeURIComponent(line.id)}`)));
        formHolder.querySelector('input')?.focus();
      } }, t('admin.lines.new'));

    function remember() {
      history.replaceState(null, '', withQuery('/admin', { q, sort: sort === 'used' ? '' : sort }));
    }

    async function load(append) {
      const mine = ++seq;
      try {
        const r = await get(withQuery('/v1/lines', { q, limit: LIST_PAGE, after: append ? next : null }));
        if (mine !== seq) return;
        all = append ? all.concat(r.lines) : r.lines;
        next = r.next;
        draw();
      } catch (e) {
        if (mine === seq) replace(body, h('tr', null, h('td', { colspan: 7 }, errorNotice(e))));
      }
    }

    function draw() {
      const loc = locale();
      const rows = [...all].sort(SORTS[sort]);
      count.textContent = t('admin.lines.count', { n: rows.length });
      more.hidden = !next;
      replace(body, rows.length === 0 ? h('tr', null, h('td', { colspan: 7, class: 'muted' }, t('admin.lines.none'))) : null,
        rows.map((l) => {
          const share = usedShare(l);
          const fill = h('span', { class: 'bar-fill' });
          fill.style.width = `${Math.max(0, share * 100).toFixed(1)}%`;
          return h('tr', { 'data-testid': 'admin-line-row', 'data-line': l.id },
            h('th', { scope: 'row' }, h('a', { href: `/admin/lines/${encodeURIComponent(l.id)}`, 'data-link': true }, l.id),
              l.msisdn ? h('div', { class: 'muted small' }, l.msisdn) : null),
            h('td', null, l.account ?? '–'),
            h('td', null, l.plan),
            h('td', null, stateBadge(l.state)),
            h('td', { class: 'num', 'data-testid': 'admin-line-used' }, formatBytes(l.used, loc)),
            h('td', { class: 'num' }, l.remaining === null ? t('card.unlimited')
              : formatBytes(l.remaining, loc, l.remaining === 0 ? { unit: byteUnitFor(l.used).unit } : {})),
            h('td', { class: 'share' }, share < 0 ? '–' : [
              h('span', { class: `bar${share >= 1 ? ' bar-full' : share >= 0.8 ? ' bar-warn' : ''}`, 'aria-hidden': 'true' }, fill),
              h('span', { class: 'small' }, formatPercent(share, loc))]));
        }));
    }

    root.append(h('div', { class: 'page wide' },
      h('div', { class: 'page-head' }, h('h1', null, t('admin.lines.title')), newButton),
      formHolder,
      h('div', { class: 'toolbar' },
        field(t('admin.lines.search'), search),
        field(t('admin.lines.sort'), sortSelect)),
      count,
      tableWrap(
        h('thead', null, h('tr', null,
          ['line', 'account', 'plan', 'state', 'used', 'remaining', 'share'].map((c) => h('th', { scope: 'col' }, t(`admin.lines.col.${c}`))))),
        body),
      more));
    load(false);
    timer = setInterval(() => { if (!next) load(false); }, LINES_REFRESH_MS);
    return {
      destroy() {
        clearInterval(timer);
        clearTimeout(searchTimer);
      },
    };
  },
};

/**
 * Provision (line null) or change a line: PUT /v1/lines/{id} is a full replace, so every field
 * is sent as the form holds it.
 */
async function lineForm(line, done) {
  const catalog = await plans().catch(() => []);
  const status = h('p', { class: 'form-status', role: 'status' });
  const input = (name, value, attrs = {}) => h('input', { type: 'text', name, value: value ?? '', autocomplete: 'off',
    spellcheck: 'false', 'data-testid': `line-form-${name}`, ...attrs });
  const id = input('id', line?.id, { required: true, pattern: '[A-Za-z0-9._+@\\-]+', readonly: line ? true : null });
  const plan = h('select', { name: 'plan', 'data-testid': 'line-form-plan' },
    catalog.map((p) => h('option', { value: p.id, selected: !line?.pool && p.id === line?.plan }, `${p.name} (${p.id})`)),
    h('option', { value: '', selected: Boolean(line?.pool) }, t('admin.line.poolPlan')));
  const account = input('account', line?.account);
  const msisdn = input('msisdn', line?.msisdn, { type: 'tel' });
  const imsi = input('imsi', line?.imsi, { inputmode: 'numeric' });
  const iccid = input('iccid', line?.iccid, { inputmode: 'numeric' });
  const zones = uid('zones');
  const timezone = input('timezone', line?.timezone ?? 'Asia/Tokyo', { list: zones });
  const zoneList = h('datalist', { id: zones },
    (Intl.supportedValuesOf ? Intl.supportedValuesOf('timeZone') : ['Asia/Tokyo', 'UTC']).map((z) => h('option', { value: z })));
  const localeSelect = h('select', { name: 'locale', 'data-testid': 'line-form-locale' },
    ['ja', 'zh', 'en'].map((l) => h('option', { value: l, selected: (line?.locale ?? 'ja') === l }, t(`lang.${l}`))));
  const pool = input('pool', line?.pool);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'line-form-submit' },
    line ? t('admin.line.save') : t('admin.lines.create'));
  return h('form', { class: 'card form-grid', 'data-testid': line ? 'line-edit-form' : 'line-new-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const lineId = id.value.trim();
      if (!lineId) {
        status.textContent = t('admin.line.idMissing');
        status.className = 'form-status form-error';
        return;
      }
      const body = {};
      const set = (k, v) => { if (v.trim() !== '') body[k] = v.trim(); };
      set('plan', plan.value);
      set('account', account.value);
      set('msisdn', msisdn.value);
      set('imsi', imsi.value);
      set('iccid', iccid.value);
      set('timezone', timezone.value);
      set('locale', localeSelect.value);
      set('pool', pool.value);
      submit.disabled = true;
      status.className = 'form-status';
      status.textContent = t('common.saving');
      try {
        const saved = await put(path`/v1/lines/${lineId}`, body);
        status.textContent = t('admin.line.saved');
        toast(t('admin.line.savedToast', { id: lineId }));
        done(saved);
      } catch (err) {
        status.className = 'form-status form-error';
        status.textContent = t('common.failed', { message: err.message });
      } finally {
        submit.disabled = false;
      }
    } },
  h('h2', null, line ? t('admin.line.settings') : t('admin.lines.new')),
  line ? h('p', { class: 'muted small' }, t('admin.line.replaceHelp')) : null,
  h('div', { class: 'grid-2' },
    field(t('admin.line.id'), id, { hint: line ? null : t('admin.line.idHint') }),
    field(t('admin.line.plan'), plan),
    field(t('admin.line.account'), account),
    field(t('admin.line.msisdn'), msisdn),
    field(t('admin.line.imsi'), imsi),
    field(t('admin.line.iccid'), iccid),
    field(t('admin.line.timezone'), timezone),
    field(t('admin.line.locale'), localeSelect),
    field(t('admin.line.pool'), pool, { hint: t('admin.line.poolHint') })),
  zoneList,
  h('div', { class: 'form-actions' }, submit, status));
}

// ---- one line ------------------------------------------------------------------------------

export const lineDetail = {
  mount(root, ctx) {
    const id = ctx.params[0];
    const page = h('div', { class: 'page' },
      h('p', null, h('a', { href: '/admin', 'data-link': true }, `← ${t('admin.line.back')}`)));
    root.append(page);
    let card = null;
    let feed = null;
    let destroyed = false;
    (async () => {
      let line;
      try {
        line = await get(path`/v1/lines/${id}`);
      } catch (e) {
        page.append(e instanceof ApiError && e.status === 404
          ? h('p', { class: 'notice notice-error', role: 'alert' }, t('admin.line.notFound', { id }))
          : errorNotice(e));
        return;
      }
      if (destroyed) return;
      card = new LineCard(line, { headingLevel: 1 });
      page.append(card.el);
      card.load();
      feed = new LiveFeed({
        lines: [line.id],
        onUsage: (lineId, usage) => { if (lineId === line.id) card.setUsage(usage); },
        poll: () => card.refreshUsage(),
      });
      feed.start();

      const topup = topupForm(line.id, () => card.refreshUsage());
      const alerts = new AlertsEditor(line.id, { headingLevel: 2 });
      const settings = await lineForm(line, (saved) => {
        Object.assign(line, saved);
        card.refreshUsage().catch(() => {});
      });
      if (destroyed) return;
      page.append(
        h('div', { class: 'cards cards-2' },
          topup,
          h('section', { class: 'card', 'aria-labelledby': 'alerts-h' }, h('h2', { id: 'alerts-h' }, t('alerts.title')), alerts.el)),
        settings,
        sessionsSection(line.id),
        auditSection(line.id, line.timezone));
      alerts.load();
    })();
    return {
      destroy() {
        destroyed = true;
        feed?.stop();
        card?.destroy();
      },
    };
  },
};

function topupForm(lineId, done) {
  const status = h('p', { class: 'form-status', role: 'status', 'data-testid': 'topup-status' });
  const quota = h('input', { type: 'text', name: 'quota', value: '1 GB', required: true, 'data-testid': 'topup-quota',
    list: 'topup-quotas', autocomplete: 'off' });
  const validity = h('input', { type: 'text', name: 'validity', value: '30d', required: true, 'data-testid': 'topup-validity',
    list: 'topup-validities', autocomplete: 'off' });
  // One idempotency key per top-up: a resend after a lost answer does not add twice.
  let key = crypto.randomUUID();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'topup-submit' }, t('admin.topup.submit'));
  return h('form', { class: 'card', 'data-testid': 'topup-form', onsubmit: async (e) => {
    e.preventDefault();
    submit.disabled = true;
    status.className = 'form-status';
    status.textContent = t('common.saving');
    try {
      const b = await post(path`/v1/lines/${lineId}/topups`, { quota: quota.value.trim(), validity: validity.value.trim(), id: key });
      key = crypto.randomUUID();
      status.textContent = t('admin.topup.done', { bytes: formatBytes(b.quota, locale()), date: formatDateTime(b.expires_at, locale(), browserZone()) });
      done();
    } catch (err) {
      status.className = 'form-status form-error';
      status.textContent = t('common.failed', { message: err.message });
    } finally {
      submit.disabled = false;
    }
  } },
  h('h2', null, t('admin.topup.title')),
  field(t('admin.topup.quota'), quota, { hint: t('admin.topup.quotaHint') }),
  h('datalist', { id: 'topup-quotas' }, ['500 MB', '1 GB', '3 GB', '10 GB'].map((v) => h('option', { value: v }))),
  field(t('admin.topup.validity'), validity, { hint: t('admin.topup.validityHint') }),
  h('datalist', { id: 'topup-validities' }, ['1d', '7d', '30d', '90d'].map((v) => h('option', { value: v }))),
  h('div', { class: 'form-actions' }, submit, status));
}

function sessionsSection(lineId) {
  const box = h('div', null, h('p', { class: 'loading' }, t('common.loading')));
  get(withQuery('/v1/sessions', { line: lineId, limit: 100 })).then((r) => {
    const loc = locale();
    const list = r.sessions ?? [];
    replace(box, list.length === 0 ? h('p', { class: 'muted' }, t('admin.sessions.none')) : tableWrap(
      h('thead', null, h('tr', null, ['nas', 'session', 'started', 'bytes', 'last'].map((c) => h('th', { scope: 'col' }, t(`admin.sessions.col.${c}`))))),
      h('tbody', null, list.map((s) => h('tr', { 'data-testid': 'session-row' },
        h('td', null, s.nas), h('td', { class: 'mono' }, s.session_id),
        h('td', null, formatDateTime(s.started_at, loc, browserZone())),
        h('td', { class: 'num' }, formatBytes((s.bytes_in ?? 0) + (s.bytes_out ?? 0), loc)),
        h('td', null, formatRelative(s.last_event_at, Date.now(), loc)))))));
  }).catch((e) => {
    replace(box, e instanceof ApiError && e.status === 404 ? h('p', { class: 'muted' }, t('admin.sessions.noRadius')) : errorNotice(e));
  });
  return h('section', { class: 'card', 'aria-labelledby': 'sessions-h' }, h('h2', { id: 'sessions-h' }, t('admin.sessions.title')), box);
}

function auditSection(lineId, timeZone) {
  const body = h('tbody');
  let before = null;
  const more = h('button', { type: 'button', class: 'btn', hidden: true, 'data-testid': 'audit-more', onclick: () => load() }, t('admin.audit.older'));
  async function load() {
    try {
      const r = await get(withQuery(path`/v1/lines/${lineId}/audit`, { limit: 50, before }));
      const loc = locale();
      if (before === null && r.entries.length === 0) {
        replace(body, h('tr', null, h('td', { colspan: 6, class: 'muted' }, t('admin.audit.none'))));
      }
      for (const e of r.entries) {
        body.append(h('tr', { 'data-testid': 'audit-row' },
          h('td', null, formatDateTime(e.end, loc, timeZone), e.late ? h('span', { class: 'badge badge-late' }, t('admin.audit.late')) : null),
          h('td', { class: 'num' }, formatBytes(e.bytes_up + e.bytes_down, loc)),
          h('td', null, e.debits.map((d) => h('div', null, debitText(d, loc)))),
          h('td', null, [e.app, e.device].filter(Boolean).join(' · ') || '–'),
          h('td', null, e.source ?? '–'),
          h('td', { class: 'mono small' }, e.record)));
      }
      before = r.next;
      more.hidden = r.entries.length < 50 || r.next === null;
    } catch (e) {
      replace(body, h('tr', null, h('td', { colspan: 6 }, errorNotice(e))));
    }
  }
  load();
  return h('section', { class: 'card', 'aria-labelledby': 'audit-h' },
    h('h2', { id: 'audit-h' }, t('admin.audit.title')),
    h('p', { class: 'muted small' }, t('admin.audit.help')),
    tableWrap(h('thead', null, h('tr', null, ['end', 'bytes', 'debits', 'attribution', 'source', 'record'].map((c) => h('th', { scope: 'col' }, t(`admin.audit.col.${c}`))))), body),
    more);
}

function debitText(d, loc) {
  const bytes = formatBytes(d.bytes, loc);
  if (d.target === 'bucket') return t('admin.audit.bucket', { bytes, bucket: d.bucket });
  return t(`admin.audit.target.${d.target}`, { bytes });
}

// ---- accounts ------------------------------------------------------------------------------

export const accounts = {
  mount(root) {
    const body = h('tbody');
    const editor = h('div');
    const linkBox = h('div', { 'aria-live': 'polite' });
    let next = null;
    const more = h('button', { type: 'button', class: 'btn', hidden: true, 'data-testid': 'accounts-more',
      onclick: () => load(true) }, t('common.more'));

    async function load(append = false) {
      try {
        const r = await get(withQuery('/v1/accounts', { limit: 500, after: append ? next : null }));
        const list = r.accounts ?? [];
        next = r.next ?? null;
        more.hidden = !next;
        if (!append) replace(body);
        if (!append && list.length === 0) body.append(h('tr', null, h('td', { colspan: 5, class: 'muted' }, t('admin.accounts.none'))));
        body.append(...list.map((a) => h('tr', { 'data-testid': 'account-row', 'data-account': a.id },
            h('th', { scope: 'row' }, a.id),
            h('td', null, a.name || '–'),
            h('td', null, a.locale ? t(`lang.${a.locale}`) : '–'),
            h('td', null, (a.lines ?? []).length === 0 ? '–' : (a.lines ?? []).map((id, i) => [i ? ', ' : '',
              h('a', { href: `/admin/lines/${encodeURIComponent(typeof id === 'string' ? id : id.id)}`, 'data-link': true },
                typeof id === 'string' ? id : id.id)])),
            h('td', { class: 'actions' },
              h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'account-edit', onclick: () => edit(a) }, t('admin.accounts.edit')),
              h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'account-link', onclick: () => link(a) }, t('admin.accounts.link'))))));
      } catch (e) {
        replace(body, h('tr', null, h('td', { colspan: 5 }, errorNotice(e))));
      }
    }

    function edit(a) {
      const isNew = !a;
      const status = h('p', { class: 'form-status', role: 'status' });
      const id = h('input', { type: 'text', value: a?.id ?? '', required: true, readonly: isNew ? null : true, autocomplete: 'off',
        spellcheck: 'false', 'data-testid': 'account-form-id' });
      const name = h('input', { type: 'text', value: a?.name ?? '', autocomplete: 'off', 'data-testid': 'account-form-name' });
      const password = h('input', { type: 'password', autocomplete: 'new-password', 'data-testid': 'account-form-password',
        required: isNew ? true : null, minlength: 8 });
      const loc = h('select', { 'data-testid': 'account-form-locale' },
        ['ja', 'zh', 'en'].map((l) => h('option', { value: l, selected: (a?.locale ?? 'ja') === l }, t(`lang.${l}`))));
      const form = h('form', { class: 'card', 'data-testid': 'account-form', onsubmit: async (e) => {
        e.preventDefault();
        const accountId = id.value.trim();
        if (!accountId) return;
        const payload = { name: name.value.trim(), locale: loc.value };
        if (password.value) payload.password = password.value;
        status.className = 'form-status';
        status.textContent = t('common.saving');
        try {
          await put(path`/v1/accounts/${accountId}`, payload);
          password.value = '';
          status.textContent = t('admin.accounts.saved');
          load();
        } catch (err) {
          status.className = 'form-status form-error';
          status.textContent = t('common.failed', { message: err.message });
        }
      } },
      h('h2', null, isNew ? t('admin.accounts.new') : t('admin.accounts.editTitle', { id: a.id })),
      h('div', { class: 'grid-2' },
        field(t('admin.accounts.id'), id),
        field(t('admin.accounts.name'), name),
        field(isNew ? t('admin.accounts.password') : t('admin.accounts.newPassword'), password,
          { hint: isNew ? t('admin.accounts.passwordHint') : t('admin.accounts.keepPassword') }),
        field(t('admin.accounts.locale'), loc)),
      h('div', { class: 'form-actions' },
        h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save')),
        h('button', { type: 'button', class: 'btn', onclick: () => replace(editor) }, t('common.close')),
        status));
      replace(editor, form);
      (isNew ? id : name).focus();
    }

    async function link(a) {
      replace(linkBox, h('p', { class: 'loading' }, t('common.loading')));
      try {
        const r = await post(path`/v1/accounts/${a.id}/login-link`);
        const url = new URL(r.url, location.origin).href;
        const out = h('input', { type: 'text', readonly: true, value: url, class: 'mono', 'data-testid': 'login-link-url' });
        const copied = h('span', { class: 'muted small', role: 'status' });
        replace(linkBox, h('div', { class: 'card', 'data-testid': 'login-link' },
          h('h2', null, t('admin.accounts.linkTitle', { id: a.id })),
          field(t('admin.accounts.linkLabel'), out, { hint: r.expires_at ? t('admin.accounts.linkExpires', { date: formatDateTime(r.expires_at, locale(), browserZone()) }) : null }),
          h('div', { class: 'form-actions' },
            h('button', { type: 'button', class: 'btn', 'data-testid': 'login-link-copy', onclick: async () => {
              try {
                await navigator.clipboard.writeText(url);
                copied.textContent = t('admin.accounts.copied');
              } catch {
                out.select();
                copied.textContent = t('admin.accounts.copyManually');
              }
            } }, t('admin.accounts.copy')), copied)));
        out.select();
      } catch (e) {
        replace(linkBox, errorNotice(e));
      }
    }

    root.append(h('div', { class: 'page wide' },
      h('div', { class: 'page-head' }, h('h1', null, t('admin.accounts.title')),
        h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'account-new', onclick: () => edit(null) }, t('admin.accounts.new'))),
      editor,
      linkBox,
      tableWrap(h('thead', null, h('tr', null, ['id', 'name', 'locale', 'lines', 'actions'].map((c) => h('th', { scope: 'col' }, t(`admin.accounts.col.${c}`))))), body),
      more));
    load();
    return null;
  },
};

// ---- quarantine ----------------------------------------------------------------------------

export const quarantine = {
  mount(root) {
    const body = h('tbody');
    let after = 0;
    let seen = 0;
    const count = h('p', { class: 'muted', role: 'status', 'data-testid': 'quarantine-count' });
    const result = h('p', { class: 'form-status', role: 'status', 'data-testid': 'quarantine-result' });
    const more = h('button', { type: 'button', class: 'btn', hidden: true, onclick: () => load(false) }, t('common.more'));
    const apply = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'quarantine-apply', onclick: async () => {
      apply.disabled = true;
      result.className = 'form-status';
      result.textContent = t('common.saving');
      try {
        const r = await post('/v1/quarantine/apply');
        result.textContent = t('admin.quarantine.applied', { applied: r.applied, duplicates: r.duplicates, left: r.still_quarantined });
        load(true);
      } catch (e) {
        result.className = 'form-status form-error';
        result.textContent = t('common.failed', { message: e.message });
      } finally {
        apply.disabled = false;
      }
    } }, t('admin.quarantine.apply'));

    async function load(reset) {
      if (reset) {
        after = 0;
        seen = 0;
        replace(body);
      }
      try {
        const r = await get(withQuery('/v1/quarantine', { after, limit: 100 }));
        const loc = locale();
        for (const e of r.records) {
          const rec = e.record ?? {};
          body.append(h('tr', { 'data-testid': 'quarantine-row' },
            h('td', { class: 'num' }, e.seq),
            h('td', null, formatDateTime(e.received_at, loc, browserZone())),
            h('th', { scope: 'row', class: 'mono' }, rec.line ?? '–'),
            h('td', { class: 'num' }, formatBytes((rec.bytes_up ?? 0) + (rec.bytes_down ?? 0), loc)),
            h('td', null, rec.end ? formatDateTime(rec.end, loc, browserZone()) : '–'),
            h('td', null, [rec.app, rec.device, rec.source].filter(Boolean).join(' · ') || '–'),
            h('td', { class: 'mono small' }, rec.id ?? '–')));
        }
        seen += r.records.length;
        after = r.next;
        more.hidden = r.records.length < 100;
        count.textContent = seen === 0 ? t('admin.quarantine.none') : t('admin.quarantine.count', { n: seen });
        table.hidden = seen === 0;
      } catch (e) {
        replace(body, h('tr', null, h('td', { colspan: 7 }, errorNotice(e))));
      }
    }

    const table = tableWrap(h('thead', null, h('tr', null, ['seq', 'received', 'line', 'bytes', 'end', 'attribution', 'id']
      .map((c) => h('th', { scope: 'col' }, t(`admin.quarantine.col.${c}`))))), body);
    root.append(h('div', { class: 'page wide' },
      h('h1', null, t('admin.quarantine.title')),
      h('p', { class: 'muted' }, t('admin.quarantine.intro')),
      h('div', { class: 'form-actions' }, apply, result),
      count,
      table,
      more));
    load(true);
    return null;
  },
};

// ---- ingest health -------------------------------------------------------------------------

const COUNTERS = [
  // [key, metric, kind: 'rate' | 'bytes-rate' | 'gauge', warn when > 0]
  ['applied', 'ryuryo_records_applied_total', 'rate', false],
  ['bytes', 'ryuryo_bytes_applied_total', 'bytes-rate', false],
  ['duplicates', 'ryuryo_records_duplicate_total', 'rate', false],
  ['rejected', 'ryuryo_records_rejected_total', 'rate', true],
  ['quarantined', 'ryuryo_records_quarantined_total', 'rate', true],
  ['queue', 'ryuryo_ingest_queue_records', 'gauge', false],
  ['batches', 'ryuryo_batches_total', 'rate', false],
  ['events', 'ryuryo_events_total', 'rate', false],
  ['http', 'ryuryo_http_requests_total', 'rate', false],
  ['http5xx', 'ryuryo_http_errors_total', 'rate', true],
  ['connections', 'ryuryo_http_connections', 'gauge', false],
  ['lines', 'ryuryo_lines', 'gauge', false],
];

const OUTBOX = [
  ['webhooksDelivered', 'ryuryo_webhooks_delivered_total', 'total', false],
  ['webhooksFailed', 'ryuryo_webhooks_failed_attempts_total', 'total', true],
  ['webhooksDead', 'ryuryo_webhooks_dead_total', 'total', true],
  ['webhooksPending', 'ryuryo_webhooks_pending', 'gauge', false],
  ['enforcementDelivered', 'ryuryo_enforcement_outbox_delivered_total', 'total', false],
  ['enforcementFailed', 'ryuryo_enforcement_outbox_failed_attempts_total', 'total', true],
  ['enforcementDead', 'ryuryo_enforcement_outbox_dead_total', 'total', true],
  ['enforcementPending', 'ryuryo_enforcement_outbox_pending', 'gauge', false],
];

const RADIUS_COLUMNS = [
  ['requests', 'ryuryo_radius_acct_requests_total'],
  ['responses', 'ryuryo_radius_acct_responses_total'],
  ['duplicates', 'ryuryo_radius_acct_duplicates_total'],
  ['malformed', 'ryuryo_radius_acct_malformed_total'],
  ['badAuth', 'ryuryo_radius_acct_bad_authenticator_total'],
  ['unknownLine', 'ryuryo_radius_acct_unknown_line_total'],
  ['dropped', 'ryuryo_radius_acct_dropped_total'],
];

export const health = {
  mount(root) {
    let previous = null;
    let previousAt = 0;
    let timer = null;
    const history = { x: [], applied: [] };
    const cards = h('div', { class: 'metric-grid', 'data-testid': 'health-metrics' });
    const latency = h('div', { class: 'metric-grid' });
    const outbox = h('div', { class: 'metric-grid' });
    const radius = h('div');
    const updated = h('p', { class: 'muted small', role: 'status', 'data-testid': 'health-updated' });
    const chartBox = h('div', { class: 'chart' });
    let chart = null;

    const tile = (key, label, value, warn) => h('div', { class: `metric${warn ? ' metric-warn' : ''}`, 'data-testid': `health-${key}` },
      h('span', { class: 'metric-label' }, label), h('strong', { class: 'metric-value' }, value));

    async function scrape() {
      let parsed;
      const at = Date.now();
      try {
        parsed = parsePrometheus(await getMetricsText());
      } catch (e) {
        updated.textContent = t('admin.health.scrapeError', { message: e.message });
        updated.classList.add('form-error');
        return;
      }
      updated.classList.remove('form-error');
      const loc = locale();
      const seconds = previous ? (at - previousAt) / 1000 : 0;
      const fmtRate = (v) => (v === null ? '–' : t('admin.health.perSecond', { value: formatNumber(v, loc, v < 10 ? 2 : 0) }));
      replace(cards, COUNTERS.map(([key, name, kind, warnable]) => {
        const cur = sum(parsed, name);
        if (cur === null) return null;
        let value;
        let warn = false;
        if (kind === 'gauge') {
          value = formatNumber(cur, loc);
        } else {
          const r = previous ? rate(sum(previous, name), cur, seconds) : null;
          value = kind === 'bytes-rate' ? (r === null ? '–' : t('admin.health.perSecond', { value: formatBytes(r, loc) })) : fmtRate(r);
          warn = warnable && r !== null && r > 0;
        }
        return tile(key, t(`admin.health.${key}`), value, warn);
      }));
      // Commit latency over the last interval (or since start on the first scrape).
      const commit = histogramDelta(previous ? histogramBuckets(previous, 'ryuryo_commit_seconds') : null,
        histogramBuckets(parsed, 'ryuryo_commit_seconds'));
      const radiusLatency = histogramDelta(previous ? histogramBuckets(previous, 'ryuryo_radius_acct_response_seconds') : null,
        histogramBuckets(parsed, 'ryuryo_radius_acct_response_seconds'));
      const ms = (v) => (v === null ? '–' : t('admin.health.ms', { value: formatNumber(v * 1000, loc, 1) }));
      replace(latency,
        tile('commit-p50', t('admin.health.commitP50'), ms(histogramQuantile(0.5, commit))),
        tile('commit-p99', t('admin.health.commitP99'), ms(histogramQuantile(0.99, commit))),
        radiusLatency.length ? tile('radius-p50', t('admin.health.radiusP50'), ms(histogramQuantile(0.5, radiusLatency))) : null,
        radiusLatency.length ? tile('radius-p99', t('admin.health.radiusP99'), ms(histogramQuantile(0.99, radiusLatency))) : null);
      replace(outbox, OUTBOX.map(([key, name, , warnable]) => {
        const cur = sum(parsed, name);
        if (cur === null) return null;
        return tile(key, t(`admin.health.${key}`), formatNumber(cur, loc), warnable && cur > 0);
      }));
      const clients = labelValues(parsed, 'ryuryo_radius_acct_', 'client');
      replace(radius, clients.length === 0 ? h('p', { class: 'muted' }, t('admin.health.noRadius')) : tableWrap(
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('admin.health.client')),
          RADIUS_COLUMNS.map(([k]) => h('th', { scope: 'col' }, t(`admin.health.radius.${k}`))))),
        h('tbody', null, clients.map((c) => h('tr', { 'data-testid': 'health-radius-row', 'data-client': c },
          h('th', { scope: 'row' }, c),
          RADIUS_COLUMNS.map(([k, name]) => {
            const cur = sum(parsed, name, { client: c });
            const r = previous ? rate(sum(previous, name, { client: c }), cur, seconds) : null;
            const bad = !['requests', 'responses', 'duplicates'].includes(k) && cur > 0;
            return h('td', { class: `num${bad ? ' warn' : ''}` }, formatNumber(cur ?? 0, loc),
              r !== null && r > 0 ? h('div', { class: 'muted small' }, fmtRate(r)) : null);
          }))))));
      if (previous) {
        const r = rate(sum(previous, 'ryuryo_records_applied_total'), sum(parsed, 'ryuryo_records_applied_total'), seconds);
        history.x.push(at / 1000);
        history.applied.push(r ?? 0);
        if (history.x.length > HEALTH_POINTS_MAX) {
          history.x.shift();
          history.applied.shift();
        }
        if (!chart) {
          chart = new TimeChart(chartBox, { locale: loc, timeZone: browserZone(), granularity: 'second', height: 160, values: 'number', xLabel: t('admin.events.col.at') });
        }
        if (history.x.length >= 2) {
          chart.render(history.x, [{ label: t('admin.health.appliedChart'), values: history.applied, style: 'line' }]);
        }
      }
      updated.textContent = t('admin.health.updated', { time: new Date(at).toLocaleTimeString(loc) });
      previous = parsed;
      previousAt = at;
    }

    root.append(h('div', { class: 'page wide' },
      h('h1', null, t('admin.health.title')),
      h('p', { class: 'muted' }, t('admin.health.intro')),
      updated,
      h('section', { class: 'card' }, h('h2', null, t('admin.health.ingest')), cards,
        h('figure', { class: 'chart-figure' }, chartBox, h('figcaption', { class: 'chart-caption' }, t('admin.health.chartCaption')))),
      h('section', { class: 'card' }, h('h2', null, t('admin.health.latency')), latency),
      h('section', { class: 'card' }, h('h2', null, t('admin.health.radiusTitle')), radius),
      h('section', { class: 'card' }, h('h2', null, t('admin.health.outbox')), outbox)));
    scrape();
    timer = setInterval(scrape, HEALTH_SCRAPE_MS);
    return {
      destroy() {
        clearInterval(timer);
        chart?.destroy();
      },
    };
  },
};

// ---- events --------------------------------------------------------------------------------

/**
 * The sequence number of the newest event: events are numbered 1, 2, 3, ... so the last one
 * is found by doubling `after` until a page comes back empty, then bisecting (about 2 log2 N
 * requests of one event each).
 */
async function lastEventSeq() {
  const exists = async (after) => (await get(withQuery('/v1/events', { after, limit: 1 }))).events.length > 0;
  if (!(await exists(0))) return 0;
  let lo = 0;
  let hi = 1;
  while (await exists(hi)) {
    lo = hi;
    hi *= 2;
  }
  // An event after lo exists, none after hi.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await exists(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}

export const events = {
  mount(root, ctx) {
    const list = h('tbody');
    const status = h('p', { class: 'muted small', role: 'status', 'data-testid': 'events-status' });
    let typeFilter = ctx.query.get('type') ?? '';
    let next = 0;
    let timer = null;
    let shown = [];
    const types = ['threshold', 'pace', 'exhausted', 'throttled', 'blocked', 'restored', 'reset', 'topup', 'quarantined', 'enforcement'];
    const filter = h('select', { 'data-testid': 'events-type', onchange: () => {
      typeFilter = filter.value;
      history.replaceState(null, '', withQuery('/admin/events', { type: typeFilter }));
      draw();
    } }, h('option', { value: '' }, t('admin.events.all')),
    types.map((ty) => h('option', { value: ty, selected: ty === typeFilter }, t(`admin.events.type.${ty}`))));

    function draw() {
      const loc = locale();
      const rows = shown.filter((e) => !typeFilter || e.type === typeFilter);
      replace(list, rows.length === 0 ? h('tr', null, h('td', { colspan: 4, class: 'muted' }, t('admin.events.none'))) : null,
        rows.map((e) => h('tr', { 'data-testid': 'event-row', 'data-type': e.type },
          h('td', null, h('time', { datetime: e.at }, formatDateTime(e.at, loc, browserZone()))),
          h('td', null, h('span', { class: `badge badge-event badge-${e.type}` }, t(`admin.events.type.${e.type}`))),
          h('th', { scope: 'row' }, e.line ? h('a', { href: `/admin/lines/${encodeURIComponent(e.line)}`, 'data-link': true }, e.line) : '–'),
          h('td', null, eventDetail(e, loc)))));
    }

    async function poll() {
      try {
        const r = await get(withQuery('/v1/events', { after: next, limit: 1000 }));
        if (r.events.length) {
          shown = r.events.slice().reverse().concat(shown).slice(0, EVENTS_SHOWN_MAX);
          draw();
        }
        next = r.next;
        status.textContent = t('admin.events.updated', { time: new Date().toLocaleTimeString(locale()) });
      } catch (e) {
        status.textContent = t('common.failed', { message: e.message });
      }
    }

    (async () => {
      try {
        const last = await lastEventSeq();
        next = Math.max(0, last - EVENTS_SHOWN_MAX);
        await poll();
        if (shown.length === 0) draw();
      } catch (e) {
        replace(list, h('tr', null, h('td', { colspan: 4 }, errorNotice(e))));
      }
      timer = setInterval(poll, EVENTS_POLL_MS);
    })();

    root.append(h('div', { class: 'page wide' },
      h('h1', null, t('admin.events.title')),
      h('p', { class: 'muted' }, t('admin.events.intro')),
      h('div', { class: 'toolbar' }, field(t('admin.events.filter'), filter)),
      status,
      tableWrap(h('thead', null, h('tr', null, ['at', 'type', 'line', 'detail'].map((c) => h('th', { scope: 'col' }, t(`admin.events.col.${c}`))))), list)));
    return { destroy: () => clearInterval(timer) };
  },
};

function eventDetail(e, loc) {
  const parts = [];
  if (e.threshold && e.type !== 'pace') parts.push(t('admin.events.threshold', { threshold: e.threshold }));
  if (e.reason) parts.push(t('admin.events.reason', { reason: e.reason }));
  if (e.rate_bps) parts.push(formatRate(e.rate_bps, loc));
  if (e.type === 'topup' || e.type === 'quarantined') parts.push(formatBytes(e.bytes, loc));
  if (e.type === 'quarantined') parts.push(t('admin.events.records', { n: e.records, key: e.key }));
  if (e.type === 'enforcement') parts.push(`${e.action} → ${e.nas} ${e.session_id}: ${e.result}${e.detail ? ` (${e.detail})` : ''}`);
  if (e.exhausted_at) parts.push(t('admin.events.runOut', { date: formatDateTime(e.exhausted_at, loc, browserZone()) }));
  if (e.used !== undefined && e.type !== 'quarantined') {
    parts.push(e.quota !== undefined
      ? t('admin.events.usedOf', { used: formatBytes(e.used, loc), quota: formatBytes(e.quota, loc) })
      : t('admin.events.used', { used: formatBytes(e.used, loc) }));
  }
  return parts.join(' · ');
}
