// The dashboard's entry: who is signed in (GET /v1/me), the header, and the router. Pages are
// real paths (/, /alerts, /privacy, /login, /admin/...): the server answers every such path with
// index.html and this module draws the page; links carrying data-link navigate without reloading.
//
// Views are loaded with import() when a page first needs them: a subscriber's browser never
// fetches the operator's pages. index.html preloads (<link rel="modulepreload">) the modules of
// the subscriber's usage page, the page most visits open, so they arrive in parallel with this one.

import { ApiError, get, post, put, setCsrfToken } from './api.js';
import { h, replace, toast } from './dom.js';
import { getLang, initLang, onLangChange, setLang, storedLang, t } from './i18n.js';

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

// Loads a view module (once: import() caches it); `name` picks an export of it, else the module
// itself is the view.
const view = (load, name = null) => async () => {
  const m = await load();
  return name ? m[name] : m;
};
const admin = (name) => view(() => import('./views/admin.js'), name);

// [pattern, role ('subscriber' | 'admin' | null for signed out), view loader, title key]
const ROUTES = [
  [/^\/login$/, null, view(() => import('./views/login.js')), 'login.title'],
  [/^\/$/, 'subscriber', view(() => import('./views/dashboard.js')), 'dash.title'],
  [/^\/alerts$/, 'subscriber', view(() => import('./views/alerts.js')), 'alerts.title'],
  [/^\/privacy$/, 'subscriber', view(() => import('./views/privacy.js')), 'privacy.title'],
  [/^\/admin$/, 'admin', admin('lines'), 'admin.lines.title'],
  [/^\/admin\/lines\/([^/]+)$/, 'admin', admin('lineDetail'), 'admin.line.title'],
  [/^\/admin\/accounts$/, 'admin', admin('accounts'), 'admin.accounts.title'],
  [/^\/admin\/quarantine$/, 'admin', admin('quarantine'), 'admin.quarantine.title'],
  [/^\/admin\/health$/, 'admin', admin('health'), 'admin.health.title'],
  [/^\/admin\/events$/, 'admin', admin('events'), 'admin.events.title'],
];
// Each render() takes a number; a view that finishes loading after a newer render began is dropped.
let renderSeq = 0;

// While the sign-in form waits for someone to type, the usage page's modules and the chart
// library are run, so that signing in does not wait for them (once per page load).
let warmedUp = false;
function warmUpAfterSignIn() {
  if (warmedUp) return;
  warmedUp = true;
  const idle = window.requestIdleCallback ?? ((f) => setTimeout(f, 500));
  idle(() => {
    import('./views/dashboard.js').catch(() => {});
    import('./chart.js').then((c) => c.uPlotReady()).catch(() => {});
  });
}

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
  const seq = ++renderSeq;
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
  for (const [re, role, load, title] of ROUTES) {
    const m = re.exec(pathname);
    if (m) {
      match = { role, load, title, params: m.slice(1).map(decodeURIComponent) };
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
  match.load().then((v) => {
    if (seq !== renderSeq) return;
    state.view = v.mount(main, ctx) ?? null;
    if (!state.me) warmUpAfterSignIn();
  }, (e) => {
    if (seq !== renderSeq) return;
    replace(main, h('p', { class: 'notice notice-error', role: 'alert' }, t('app.unreachable', { message: e.message })));
  });
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
  // A login link from the operator ("/#login-link=TOKEN"): the token is in the fragment, which
  // browsers never send to a server; it is exchanged for a session once, then dropped from the URL.
  const link = /^#login-link=([^&]+)$/.exec(location.hash);
  // Who is signed in is asked before anything else runs (after the link's exchange, if any): the
  // first read of localStorage (the stored language, just below) can take tens of milliseconds in
  // a new browser profile.
  let me = link ? null : loadMe();
  me?.catch(() => {}); // awaited below
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
  if (link) {
    history.replaceState(null, '', location.pathname + location.search);
    try {
      const answer = await post('/v1/auth/link', { token: decodeURIComponent(link[1]) }, { quiet401: true });
      setCsrfToken(answer?.csrf_token);
    } catch (e) {
      toast(e instanceof ApiError && (e.status === 401 || e.status === 404 || e.status === 400)
        ? t('login.error.link') : t('login.error.other', { message: e.message }), 'error');
    }
    me = loadMe();
  }
  try {
    await me;
  } catch (e) {
    replace(main, h('p', { class: 'notice notice-error', role: 'alert' }, t('app.unreachable', { message: e.message })));
    return;
  }
  render();
}

boot();
