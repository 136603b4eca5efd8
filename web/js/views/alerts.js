// Alert settings: the thresholds that warn a line (percent used, data left, pace) and where the
// warnings go (webhook, SMS). GET /v1/lines/{id}/alerts fills the form; Save PUTs both lists
// (the line's own thresholds replace the plan's defaults).
//
// An SMS channel texts the line's own number: a subscriber sees it and cannot change it (no `to`
// is sent); an operator may name another number. Its quiet hours are the server's default (left
// out), "off", or "HH:MM-HH:MM" in the line's local time. `sms_alerts: false` means the
// subscriber texted STOP: no alert SMS until START.

import { ApiError, get, path, put } from '../api.js';
import { field, h, replace, uid } from '../dom.js';
import { t } from '../i18n.js';
import { parseQuietHours, smsChannel, smsChannelError } from '../sms.js';
import { checkChannel, parseThreshold, thresholdLabel } from '../thresholds.js';

// A channel as the API returns it, as the form edits it (an SMS number may come as `to` or `url`).
function fromApi(c) {
  if (c.type === 'sms') {
    return { type: 'sms', to: c.to ?? c.url ?? '', quiet: parseQuietHours(c.quiet_hours) ?? { mode: 'default' }, id: c.id };
  }
  return { type: c.type, url: c.url ?? '', secret: c.secret ?? null, id: c.id };
}

export class AlertsEditor {
  /**
   * ownNumberOnly: a subscriber's editor (SMS goes to the line's own number, `msisdn`); an
   * operator's (the default) may name another number.
   */
  constructor(lineId, { headingLevel = 2, ownNumberOnly = false, msisdn = null } = {}) {
    this.lineId = lineId;
    this.thresholds = [];
    this.channels = [];
    this.inherited = false;
    this.smsAlerts = true;
    this.smsUnavailable = false;
    this.headingLevel = headingLevel;
    this.ownNumberOnly = ownNumberOnly;
    this.msisdn = msisdn;
    this.el = h('div', { class: 'alerts-editor' }, h('p', { class: 'loading' }, t('common.loading')));
  }

  async load() {
    try {
      const a = await get(path`/v1/lines/${this.lineId}/alerts`);
      this.inherited = Boolean(a.inherited);
      this.thresholds = (a.thresholds ?? []).map((label) => parseThreshold(label) ?? { kind: 'percent', amount: '' });
      this.channels = (a.channels ?? []).map(fromApi);
      this.smsAlerts = a.sms_alerts !== false;
      this.render();
    } catch (e) {
      replace(this.el, h('p', { class: 'notice notice-error', role: 'alert' }, t('alerts.loadError', { message: e.message })));
    }
  }

  render() {
    const sub = `h${this.headingLevel + 1}`;
    const status = h('p', { class: 'form-status', role: 'status', 'data-testid': 'alerts-status' });
    const thresholdRows = h('ul', { class: 'edit-list', 'data-testid': 'threshold-list' });
    const channelRows = h('ul', { class: 'edit-list', 'data-testid': 'channel-list' });
    const drawThresholds = () => replace(thresholdRows,
      this.thresholds.length === 0 ? h('li', { class: 'muted' }, t('alerts.noThresholds')) : null,
      this.thresholds.map((th, i) => this.thresholdRow(th, i, drawThresholds)));
    const drawChannels = () => replace(channelRows,
      this.channels.length === 0 ? h('li', { class: 'muted' }, t('alerts.noChannels')) : null,
      this.channels.map((c, i) => this.channelRow(c, i, drawChannels)));
    drawThresholds();
    drawChannels();

    const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'alerts-save' }, t('alerts.save'));
    const form = h('form', { class: 'alerts-form', 'data-testid': 'alert-form', 'data-line': this.lineId, novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        status.className = 'form-status';
        const body = this.body();
        if (body.error) {
          status.classList.add('form-error');
          status.textContent = body.error;
          return;
        }
        save.disabled = true;
        status.textContent = t('alerts.saving');
        try {
          const a = await put(path`/v1/lines/${this.lineId}/alerts`, body.value);
          this.inherited = Boolean(a?.inherited);
          if (a?.thresholds) this.thresholds = a.thresholds.map((label) => parseThreshold(label) ?? { kind: 'percent', amount: '' });
          if (a?.channels) this.channels = a.channels.map(fromApi);
          if (a && 'sms_alerts' in a) this.smsAlerts = a.sms_alerts !== false;
          drawThresholds();
          drawChannels();
          inheritedNote.hidden = !this.inherited;
          stoppedNote.hidden = this.smsAlerts;
          status.textContent = t('alerts.saved');
        } catch (err) {
          status.classList.add('form-error');
          const sms = err instanceof ApiError && err.status === 400 ? smsChannelError(err.message) : null;
          if (sms) {
            status.textContent = sms.row === null ? t(sms.key) : t('alerts.channelError', { n: sms.row + 1, message: t(sms.key) });
            if (sms.key === 'alerts.error.smsUnavailable') {
              this.smsUnavailable = true;
              drawChannels();
            }
          } else {
            status.textContent = err instanceof ApiError && err.status === 400
              ? t('alerts.rejected', { message: err.message })
              : t('common.failed', { message: err.message });
          }
        } finally {
          save.disabled = false;
        }
      } });
    const inheritedNote = h('p', { class: 'note', 'data-testid': 'alerts-inherited', hidden: !this.inherited }, t('alerts.inherited'));
    const stoppedNote = h('p', { class: 'notice', role: 'status', 'data-testid': 'sms-stopped', hidden: this.smsAlerts },
      t('alerts.smsStopped'));
    replace(form,
      h('fieldset', null,
        h('legend', null, h(sub, null, t('alerts.thresholds'))),
        h('p', { class: 'muted small' }, t('alerts.thresholdsHelp')),
        inheritedNote,
        thresholdRows,
        h('button', { type: 'button', class: 'btn', 'data-testid': 'threshold-add', onclick: () => {
          this.thresholds.push({ kind: 'percent', amount: '' });
          drawThresholds();
          thresholdRows.querySelector('li:last-child input')?.focus();
        } }, t('alerts.addThreshold'))),
      h('fieldset', null,
        h('legend', null, h(sub, null, t('alerts.channels'))),
        h('p', { class: 'muted small' }, t('alerts.channelsIntro')),
        stoppedNote,
        channelRows,
        h('button', { type: 'button', class: 'btn', 'data-testid': 'channel-add', onclick: () => {
          // One SMS destination is enough when it can only be the line's own number.
          const sms = !(this.ownNumberOnly && this.channels.some((c) => c.type === 'sms'));
          this.channels.push(sms ? { type: 'sms', to: '', quiet: { mode: 'default' } } : { type: 'webhook', url: '' });
          drawChannels();
          channelRows.querySelector('li:last-child select')?.focus();
        } }, t('alerts.addChannel'))),
      h('div', { class: 'form-actions' }, save, status));
    replace(this.el, form);
  }

  thresholdRow(th, i, redraw) {
    const kindId = uid('tk');
    const kind = h('select', { id: kindId, 'data-testid': 'threshold-kind', onchange: () => {
      th.kind = kind.value;
      if (th.kind === 'left' && !th.unit) th.unit = 'MB';
      redraw();
    } },
    ['percent', 'left', 'pace'].map((k) => h('option', { value: k, selected: th.kind === k }, t(`alerts.kind.${k}`))));
    const parts = [h('label', { for: kindId, class: 'visually-hidden' }, t('alerts.kindLabel', { n: i + 1 })), kind];
    if (th.kind !== 'pace') {
      const amountId = uid('ta');
      const amount = h('input', { id: amountId, type: 'number', inputmode: 'decimal', min: '0', step: 'any',
        max: th.kind === 'percent' ? '100' : null, value: th.amount ?? '', required: true, class: 'input-amount',
        'data-testid': 'threshold-value', oninput: () => { th.amount = amount.value; } });
      parts.push(h('label', { for: amountId, class: 'visually-hidden' }, t('alerts.amountLabel', { n: i + 1 })), amount);
      if (th.kind === 'percent') {
        parts.push(h('span', { class: 'unit' }, '%'));
      } else {
        const unitId = uid('tu');
        const unit = h('select', { id: unitId, 'data-testid': 'threshold-unit', onchange: () => { th.unit = unit.value; } },
          ['MB', 'GB'].map((u) => h('option', { value: u, selected: (th.unit ?? 'MB') === u }, u)));
        parts.push(h('label', { for: unitId, class: 'visually-hidden' }, t('alerts.unitLabel', { n: i + 1 })), unit,
          h('span', { class: 'unit' }, t('alerts.leftSuffix')));
      }
    } else {
      parts.push(h('span', { class: 'muted small pace-help' }, t('alerts.paceHelp')));
    }
    parts.push(h('button', { type: 'button', class: 'btn btn-quiet btn-remove', 'data-testid': 'threshold-remove',
      'aria-label': t('alerts.removeThreshold', { n: i + 1 }), onclick: () => {
        this.thresholds.splice(i, 1);
        redraw();
      } }, t('alerts.remove')));
    return h('li', { class: 'edit-row', 'data-testid': 'threshold-row' }, parts);
  }

  channelRow(c, i, redraw) {
    const typeId = uid('ck');
    const type = h('select', { id: typeId, 'data-testid': 'channel-kind', onchange: () => {
      c.type = type.value;
      if (c.type === 'sms') c.quiet ??= { mode: 'default' };
      redraw();
    } }, ['sms', 'webhook'].map((k) => h('option', { value: k, selected: c.type === k }, t(`alerts.channel.${k}`))));
    const remove = h('button', { type: 'button', class: 'btn btn-quiet btn-remove', 'data-testid': 'channel-remove',
      'aria-label': t('alerts.removeChannel', { n: i + 1 }), onclick: () => {
        this.channels.splice(i, 1);
        redraw();
      } }, t('alerts.remove'));
    const kind = [h('label', { for: typeId, class: 'visually-hidden' }, t('alerts.channelKindLabel', { n: i + 1 })), type];
    if (c.type === 'sms') {
      return h('li', { class: 'edit-row', 'data-testid': 'channel-row', 'data-type': 'sms' },
        kind, this.smsNumber(c, i), remove, this.quietHours(c, i),
        this.smsUnavailable
          ? h('p', { class: 'form-error small channel-note', 'data-testid': 'channel-sms-unavailable' }, t('alerts.smsUnavailable'))
          : null);
    }
    const targetId = uid('ct');
    const target = h('input', { id: targetId, type: 'url', value: c.url ?? '', placeholder: 'https://', 'data-testid': 'channel-target',
      autocomplete: 'off', spellcheck: 'false', oninput: () => { c.url = target.value; } });
    // A saved webhook's signing secret: the receiver checks X-Ryuryo-Signature with it.
    const secret = c.secret
      ? h('p', { class: 'muted small secret', 'data-testid': 'channel-secret' }, t('alerts.secret'), ' ',
        h('code', { class: 'mono' }, c.secret))
      : null;
    return h('li', { class: 'edit-row', 'data-testid': 'channel-row', 'data-type': 'webhook' },
      kind,
      h('label', { for: targetId, class: 'visually-hidden' }, t('alerts.urlLabel', { n: i + 1 })), target,
      remove,
      secret);
  }

  /** Where an SMS channel texts: the line's own number (read-only), or for an operator a field. */
  smsNumber(c, i) {
    if (!this.ownNumberOnly) {
      const id = uid('ct');
      const target = h('input', { id, type: 'tel', value: c.to ?? '', placeholder: t('alerts.smsToPlaceholder'),
        'data-testid': 'channel-target', autocomplete: 'off', oninput: () => { c.to = target.value; } });
      return [h('label', { for: id, class: 'visually-hidden' }, t('alerts.phoneLabel', { n: i + 1 })), target];
    }
    const number = c.to || (this.msisdn ? t('alerts.smsOwnNumberIs', { number: this.msisdn }) : t('alerts.smsOwnNumber'));
    return h('p', { class: 'sms-to', 'data-testid': 'channel-to' },
      h('span', { class: 'muted' }, t('alerts.smsTo')), ' ', h('span', { class: 'sms-number' }, number));
  }

  /** Quiet hours of an SMS channel: the server's default, none, or from-to (two time fields). */
  quietHours(c, i) {
    const q = c.quiet ?? { mode: 'default' };
    c.quiet = q;
    const time = (key, shortKey, labelKey, testid) => {
      const id = uid('cq');
      const input = h('input', { id, type: 'time', value: q[key] ?? '', required: true, 'data-testid': testid,
        oninput: () => { q[key] = input.value; } });
      return h('span', { class: 'quiet-time' },
        h('label', { for: id }, h('span', { 'aria-hidden': 'true' }, t(shortKey)),
          h('span', { class: 'visually-hidden' }, t(labelKey, { n: i + 1 }))),
        input);
    };
    const from = time('from', 'alerts.quietFrom', 'alerts.quietFromLabel', 'quiet-from');
    const to = time('to', 'alerts.quietTo', 'alerts.quietToLabel', 'quiet-to');
    const times = h('span', { class: 'quiet-times', hidden: q.mode !== 'custom' }, from, to);
    const modeId = uid('cq');
    const mode = h('select', { id: modeId, 'data-testid': 'quiet-mode', onchange: () => {
      q.mode = mode.value;
      if (q.mode === 'custom' && !q.from && !q.to) {
        // A usual night as the starting point.
        q.from = '22:00';
        q.to = '07:00';
        from.querySelector('input').value = q.from;
        to.querySelector('input').value = q.to;
      }
      times.hidden = q.mode !== 'custom';
    } },
    h('option', { value: 'default', selected: q.mode === 'default' }, t('alerts.quiet.default')),
    h('option', { value: 'off', selected: q.mode === 'off' }, t('alerts.quiet.off')),
    h('option', { value: 'custom', selected: q.mode === 'custom' }, t('alerts.quiet.custom')));
    return h('div', { class: 'quiet-hours', 'data-testid': 'quiet-hours' },
      h('label', { for: modeId, class: 'quiet-label' }, h('span', { 'aria-hidden': 'true' }, t('alerts.quiet')),
        h('span', { class: 'visually-hidden' }, t('alerts.quietLabel', { n: i + 1 }))),
      mode,
      times,
      h('p', { class: 'muted small quiet-help' }, t('alerts.quietHelp')));
  }

  /** {value: the PUT body} or {error: a message naming the first bad row}. */
  body() {
    const thresholds = [];
    let paces = 0;
    for (const [i, th] of this.thresholds.entries()) {
      const r = thresholdLabel(th);
      if (r.error) return { error: t('alerts.rowError', { n: i + 1, message: t(r.error) }) };
      if (r.label === 'pace') paces += 1;
      if (thresholds.includes(r.label) || paces > 1) return { error: t('alerts.duplicate', { n: i + 1 }) };
      thresholds.push(r.label);
    }
    const channels = [];
    let sms = 0;
    for (const [i, c] of this.channels.entries()) {
      const r = c.type === 'sms' ? smsChannel(c, { ownNumberOnly: this.ownNumberOnly }) : checkChannel(c);
      if (r.error) return { error: t('alerts.channelError', { n: i + 1, message: t(r.error) }) };
      if (c.type === 'sms') sms += 1;
      if (this.ownNumberOnly && sms > 1) return { error: t('alerts.channelError', { n: i + 1, message: t('alerts.error.smsTwice') }) };
      channels.push(r.channel);
    }
    return { value: { thresholds, channels } };
  }
}

export function mount(root, ctx) {
  const lines = ctx.me.lines ?? [];
  const page = h('div', { class: 'page narrow' }, h('h1', null, t('alerts.title')), h('p', { class: 'muted' }, t('alerts.intro')));
  root.append(page);
  if (lines.length === 0) {
    page.append(h('p', { class: 'notice' }, t('dash.noLines')));
    return null;
  }
  const holder = h('section', { class: 'card' });
  const show = (id) => {
    const editor = new AlertsEditor(id, { ownNumberOnly: true, msisdn: lines.find((l) => l.id === id)?.msisdn ?? null });
    replace(holder, editor.el);
    editor.load();
  };
  if (lines.length > 1) {
    const select = h('select', { 'data-testid': 'alerts-line', onchange: () => {
      history.replaceState(null, '', `/alerts?line=${encodeURIComponent(select.value)}`);
      show(select.value);
    } }, lines.map((l) => h('option', { value: l.id }, l.msisdn ? `${l.id} (${l.msisdn})` : l.id)));
    const wanted = ctx.query.get('line');
    if (wanted && lines.some((l) => l.id === wanted)) select.value = wanted;
    page.append(field(t('alerts.line'), select));
    page.append(holder);
    show(select.value);
  } else {
    page.append(holder);
    show(lines[0].id);
  }
  return null;
}
