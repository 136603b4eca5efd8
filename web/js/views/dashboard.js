// The subscriber's page: a card per line (GET /v1/me's lines), kept current by the stream, and
// the alerts that arrived while the page is open.

import { h, replace, toast } from '../dom.js';
import { formatBytes, formatDateTime } from '../format.js';
import { locale, t } from '../i18n.js';
import { LiveFeed } from '../live.js';
import { LineCard } from './linecard.js';

const ALERTS_SHOWN_MAX = 20;

export function mount(root, ctx) {
  const me = ctx.me;
  const lines = me.lines ?? [];
  const status = h('span', { class: 'live-status', 'data-testid': 'live-status', role: 'status' });
  const alertList = h('ul', { class: 'event-list', 'data-testid': 'live-alerts' });
  const alertBox = h('section', { class: 'card alerts-feed', hidden: true, 'aria-labelledby': 'live-alerts-title' },
    h('h2', { id: 'live-alerts-title' }, t('dash.recentAlerts')), alertList);
  const name = me.account?.name || me.account?.id;
  root.append(h('div', { class: 'page' },
    h('div', { class: 'page-head' },
      h('div', null,
        h('h1', null, t('dash.title')),
        name ? h('p', { class: 'muted' }, t('dash.hello', { name })) : null),
      status),
    alertBox));
  const page = root.firstChild;

  if (lines.length === 0) {
    page.append(h('p', { class: 'notice' }, t('dash.noLines')));
    return null;
  }
  const cards = new Map();
  const grid = h('div', { class: 'cards' });
  page.append(grid);
  for (const line of lines) {
    const card = new LineCard(line, { collectApps: me.account?.collect_apps ?? null });
    cards.set(line.id, card);
    grid.append(card.el);
    card.load();
  }

  const lineTimeZone = (id) => cards.get(id)?.usage?.timezone ?? 'UTC';
  const feed = new LiveFeed({
    lines: null,
    onUsage: (id, usage) => cards.get(id)?.setUsage(usage),
    onEvent: (ev) => {
      const text = describeEvent(ev, lineTimeZone(ev.line));
      if (!text) return;
      alertBox.hidden = false;
      alertList.prepend(h('li', { class: `event event-${ev.type}`, 'data-testid': 'live-alert' },
        h('time', { datetime: ev.at, class: 'muted small' }, formatDateTime(ev.at, locale(), lineTimeZone(ev.line))),
        ' ', h('strong', null, ev.line), ' ', text));
      while (alertList.children.length > ALERTS_SHOWN_MAX) alertList.lastChild.remove();
      if (['threshold', 'pace', 'exhausted', 'throttled', 'blocked', 'restored'].includes(ev.type)) toast(`${ev.line}: ${text}`);
    },
    onStatus: (s) => {
      status.className = `live-status live-${s}`;
      replace(status, h('span', { class: 'dot', 'aria-hidden': 'true' }), t(`live.${s}`));
    },
    poll: () => Promise.all([...cards.values()].map((c) => c.refreshUsage())),
  });
  feed.start();
  return {
    destroy() {
      feed.stop();
      cards.forEach((c) => c.destroy());
    },
  };
}

/** One line of text for an event in the subscriber's language (null: not worth showing). */
export function describeEvent(ev, timeZone) {
  const loc = locale();
  switch (ev.type) {
    case 'threshold':
      return t('event.threshold', { threshold: thresholdText(ev.threshold), left: ev.remaining === undefined ? '–' : formatBytes(ev.remaining, loc) });
    case 'pace':
      return t('event.pace', { date: formatDateTime(ev.exhausted_at, loc, timeZone) });
    case 'exhausted':
      return t('event.exhausted');
    case 'throttled':
      return t('event.throttled');
    case 'blocked':
      return t('event.blocked');
    case 'restored':
      return t('event.restored');
    case 'reset':
      return t('event.reset');
    case 'topup':
      return t('event.topup', { bytes: formatBytes(ev.bytes, loc) });
    default:
      return null;
  }
}

/** "80%" -> "80%", "500 MB left" -> "500 MB left" in the reader's language, "pace" -> its name. */
export function thresholdText(label) {
  if (label === 'pace') return t('alerts.kind.pace');
  const m = /^(.*) left$/.exec(String(label ?? ''));
  if (m) return t('event.leftLabel', { amount: m[1] });
  return String(label ?? '');
}
