// The dashboard's entry: who is signed in (GET /v1/me), the header, and the router. Pages are
// real paths (/, /alerts, /privacy, /login, /admin/...): the server answers every such path with
// index.html and this module draws the page; links carrying data-link navigate without reloading.

import { ApiError, get, post, put, setCsrfToken } from './api.js';
import { h, replace, toast } from './dom.js';
import { getLang, initLang, onLangChange, setLang, storedLang, t } from './i18n.js';
import * as admin from './views/admin.js';
import * as alerts from './views/alerts.js';
import * as dashboard from './views/dashboard.js';
import * as login from './views/login.js';
import * as privacy from './views/privacy.js';

const main = document.getElementById('main');
const state = { me: null, view: null };

const SUBSCRIBER_NAV = [
  ['/', 'nav.usage'],
  ['/alerts', 'nav.alerts'],
  ['/privacy', 'nav.privacy'],
];
const ADMIN_NAV = [
  ['/admin', 'nav.lines'],
  ['/admin/accounts', 'nav.accounts'],
  ['/admin/quarantine', 'nav.quarantine'],
  ['/admin/health', 'nav.health'],
  ['/admin/events', 'nav.events'],
];

// [pattern, role ('subscriber' | 'admin' | null for signed out), view module, title key]
const ROUTES = [
  [/^\/login$/, null, login, 'login.title'],
  [/^\/$/, 'subscriber', dashboard, 'dash.title'],
  [/^\/alerts$/, 'subscriber', alerts, 'alerts.title'],
  [/^\/privacy$/, 'subscriber', privacy, 'privacy.title'],
  [/^\/admin$/, 'admin', admin.lines, 'admin.lines.title'],
  [/^\/admin\/lines\/([^/]+)$/, 'admin', admin.lineDetail, 'admin.line.title'],
  [/^\/admin\/accounts$/, 'admin', admin.accounts, 'admin.accounts.title'],
  [/^\/admin\/quarantine$/, 'admin', admin.quarantine, 'admin.quarantine.title'],
  [/^\/admin\/health$/, 'admin', admin.health, 'admin.health.title'],
  [/^\/admin\/events$/, 'admin', admin.events, 'admin.events.title'],
];

export function navigate(to, { replace: replaceEntry = false } = {}) {
  if (to === location.pathname + location.search) {
    render();
    return;
  }
  if (replaceEntry) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  render();
}

function home() {
  return state.me?.role === 'admin' ? '/admin' : '/';
}

async function loadMe() {
  try {
    const me = await get('/v1/me', { quiet401: true });
    state.me = me;
    setCsrfToken(me.csrf_token);
    if (!storedLang()) initLang(me.account?.locale);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      state.me = null;
      setCsrfToken(null);
      return;
    }
    throw e;
  }
}

function renderHeader() {
  const nav = document.getElementById('nav');
  const items = !state.me ? [] : state.me.role === 'admin' ? ADMIN_NAV : SUBSCRIBER_NAV;
  const here = location.pathname;
  replace(nav, h('ul', null, items.map(([href, key]) => {
    const active = href === here || (href === '/admin' && here.startsWith('/admin/lines/'));
    return h('li', null, h('a', { href, 'data-link': true, 'aria-current': active ? 'page' : null }, t(key)));
  })));
  document.getElementById('brand').setAttribute('href', state.me ? home() : '/login');
  document.getElementById('brand').setAttribute('aria-label', t('app.home'));
  const logout = document.getElementById('logout');
  logout.hidden = !state.me;
  logout.textContent = t('app.logout');
  document.getElementById('lang-label').textContent = t('app.language');
  document.getElementById('skip-link').textContent = t('app.skip');
  document.getElementById('lang-switch').value = getLang();
  nav.setAttribute('aria-label', t('app.navigation'));
}

function render() {
  const pathname = location.pathname;
  if (!state.me && pathname !== '/login') {
    const next = pathname === '/' ? '' : `?next=${encodeURIComponent(pathname + location.search)}`;
    history.replaceState(null, '', `/login${next}`);
    return render();
  }
  if (state.me && pathname === '/login') {
    history.replaceState(null, '', home());
    return render();
  }
  let match = null;
  for (const [re, role, view, title] of ROUTES) {
    const m = re.exec(pathname);
    if (m) {
      match = { role, view, title, params: m.slice(1).map(decodeURIComponent) };
      break;
    }
  }
  if (match && match.role && state.me && match.role !== state.me.role) {
    history.replaceState(null, '', home());
    return render();
  }
  state.view?.destroy?.();
  state.view = null;
  renderHeader();
  replace(main);
  if (!match) {
    document.title = `${t('notfound.title')} · ryuryo`;
    main.append(h('section', { class: 'page narrow' },
      h('h1', null, t('notfound.title')),
      h('p', null, t('notfound.text')),
      h('p', null, h('a', { href: home(), 'data-link': true }, t('notfound.home')))));
    return;
  }
  document.title = `${t(match.title)} · ryuryo`;
  const ctx = {
    me: state.me,
    params: match.params,
    query: new URLSearchParams(location.search),
    navigate,
    signedIn: async (next) => {
      await loadMe();
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : home(), { replace: true });
    },
    refreshMe: async () => {
      await loadMe();
      return state.me;
    },
  };
  state.view = match.view.mount(main, ctx) ?? null;
}

async function logout() {
  try {
    await post('/v1/auth/logout');
  } catch (e) {
    // Signed out already (401) or the server is gone: the page signs out either way.
    if (!(e instanceof ApiError)) throw e;
  }
  state.me = null;
  setCsrfToken(null);
  navigate('/login', { replace: true });
}

async function boot() {
  initLang();
  const langSwitch = document.getElementById('lang-switch');
  langSwitch.value = getLang();
  langSwitch.addEventListener('change', () => {
    setLang(langSwitch.value);
    // The account remembers it too, so SMS and other devices follow (subscribers only).
    if (state.me?.role === 'subscriber') {
      put('/v1/me', { locale: langSwitch.value }).catch(() => {});
    }
  });
  onLangChange(() => render());
  document.getElementById('logout').addEventListener('click', () => logout());
  window.addEventListener('ryuryo:unauthenticated', () => {
    if (!state.me) return;
    state.me = null;
    setCsrfToken(null);
    toast(t('app.sessionEnded'));
    render();
  });
  window.addEventListener('popstate', () => render());
  document.addEventListener('click', (e) => {
    const a = e.target.closest?.('a[data-link]');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
    main.focus({ preventScroll: true });
  });
  // A login link from the operator ("/#login-link=TOKEN"): the token is in the fragment, which
  // browsers never send to a server; it is exchanged for a session once, then dropped from the URL.
  const link = /^#login-link=([^&]+)$/.exec(location.hash);
  if (link) {
    history.replaceState(null, '', location.pathname + location.search);
    try {
      const answer = await post('/v1/auth/link', { token: decodeURIComponent(link[1]) }, { quiet401: true });
      setCsrfToken(answer?.csrf_token);
    } catch (e) {
      toast(e instanceof ApiError && (e.status === 401 || e.status === 404 || e.status === 400)
        ? t('login.error.link') : t('login.error.other', { message: e.message }), 'error');
    }
  }
  try {
    await loadMe();
  } catch (e) {
    replace(main, h('p', { class: 'notice notice-error', role: 'alert' }, t('app.unreachable', { message: e.message })));
    return;
  }
  render();
}

boot();
