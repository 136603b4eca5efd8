// The subscriber's page: a card per line (GET /v1/me's lines), kept current by the stream, and
// the lines' recent alerts: those raised before the page opened (GET /v1/lines/{id}/events, once
// the cards have their numbers) and those the stream brings while it is open.

import { get, path, withQuery } from '../api.js';
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
  const alertList = h('ul', { class: 'event-list', 'data-testid': 'recent-alerts' });
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
  const loads = [];
  for (const line of lines) {
    const card = new LineCard(line, { collectApps: me.account?.collect_apps ?? null });
    cards.set(line.id, card);
    grid.append(card.el);
    loads.push(card.load());
  }

  const lineTimeZone = (id) => cards.get(id)?.usage?.timezone ?? 'UTC';
  // The alerts listed, newest (highest seq) first: {ev, line (the card it belongs to), live}.
  let alerts = [];
  let destroyed = false;
  const showAlerts = () => {
    alerts.sort((a, b) => b.ev.seq - a.ev.seq);
    alerts = alerts.slice(0, ALERTS_SHOWN_MAX);
    replace(alertList, alerts.map(({ ev, line, live, text }) => h('li', {
      class: `event event-${ev.type}`, 'data-testid': live ? 'live-alert' : 'recent-alert', 'data-seq': ev.seq,
    },
    h('time', { datetime: ev.at, class: 'muted small' }, formatDateTime(ev.at, locale(), lineTimeZone(line))),
    ' ', h('strong', null, line), ' ', text)));
    alertBox.hidden = alerts.length === 0;
  };
  /**
   * Lists an event once (by seq); false when it says nothing or is listed already. (One raised
   * while the page asked for the recent ones may come both ways: the stream's copy marks it live.)
   */
  const addAlert = (ev, line, live) => {
    const listed = alerts.find((a) => a.ev.seq === ev.seq);
    if (listed) {
      if (!live || listed.live) return false;
      listed.live = true;
      return true;
    }
    const text = describeEvent(ev, lineTimeZone(line));
    if (!text) return false;
    alerts.push({ ev, line, live, text });
    return true;
  };
  // Alerts raised before the page opened: asked once the cards have their numbers (the cards
  // come first). A pool's alert raised by another account's member names no line: it is shown
  // under the line that asked.
  Promise.allSettled(loads).then(() => Promise.allSettled(lines.map(async (line) => {
    const r = await get(withQuery(path`/v1/lines/${line.id}/events`, { limit: ALERTS_SHOWN_MAX }));
    if (destroyed) return;
    for (const ev of r.events ?? []) addAlert(ev, ev.line && cards.has(ev.line) ? ev.line : line.id, false);
    showAlerts();
  })));

  const feed = new LiveFeed({
    lines: null,
    onUsage: (id, usage) => cards.get(id)?.setUsage(usage),
    onEvent: (ev) => {
      if (!addAlert(ev, ev.line, true)) return;
      showAlerts();
      const text = describeEvent(ev, lineTimeZone(ev.line));
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
      destroyed = true;
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
