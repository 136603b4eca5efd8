// Languages: Japanese, Simplified Chinese, English. The choice, in order: what the person
// picked with the switch on this device (localStorage), the account's locale, the browser's
// languages (navigator.languages), English.
//
// t('key', {n: 3}) looks the key up in the current language (then English); `{name}` in a
// message is replaced by params.name; a message given as {one, other, ...} is chosen with
// Intl.PluralRules on params.n.

import { MESSAGES } from './messages.js';

export const LANGS = ['ja', 'zh', 'en'];
const STORAGE_KEY = 'ryuryo.lang';
// The value of <html lang> for each language.
const HTML_LANG = { ja: 'ja', zh: 'zh-Hans', en: 'en' };

let current = 'en';
let formatLocale = 'en';
const listeners = new Set();

/** 'ja-JP' -> 'ja', 'zh-Hans-CN' / 'zh-TW' -> 'zh', 'en-GB' -> 'en', else null. */
export function langFromTag(tag) {
  const t = String(tag || '').toLowerCase();
  if (t === 'ja' || t.startsWith('ja-')) return 'ja';
  if (t === 'zh' || t.startsWith('zh-')) return 'zh';
  if (t === 'en' || t.startsWith('en-')) return 'en';
  return null;
}

/** The language to use: {stored, account, languages} -> 'ja' | 'zh' | 'en'. */
export function chooseLang({ stored, account, languages }) {
  if (LANGS.includes(stored)) return stored;
  const fromAccount = langFromTag(account);
  if (fromAccount) return fromAccount;
  for (const tag of languages ?? []) {
    const l = langFromTag(tag);
    if (l) return l;
  }
  return 'en';
}

/**
 * The locale Intl formats with: the browser's own tag when it is of the same language (so an
 * en-GB reader gets day-month dates), else the language's usual one.
 */
export function formatLocaleFor(lang, languages) {
  for (const tag of languages ?? []) {
    if (langFromTag(tag) === lang) {
      try {
        return Intl.getCanonicalLocales(tag)[0];
      } catch {
        break;
      }
    }
  }
  return { ja: 'ja-JP', zh: 'zh-CN', en: 'en' }[lang];
}

function browserLanguages() {
  if (typeof navigator === 'undefined') return [];
  return navigator.languages?.length ? navigator.languages : [navigator.language];
}

export function storedLang() {
  try {
    return globalThis.localStorage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    return null;
  }
}

/** Picks the language at start (or after login, with the account's locale). */
export function initLang(accountLocale) {
  applyLang(chooseLang({ stored: storedLang(), account: accountLocale, languages: browserLanguages() }));
}

/** The switch: remembers the choice on this device. */
export function setLang(lang) {
  if (!LANGS.includes(lang)) return;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, lang);
  } catch {
    // Private mode without storage: the choice lasts for this page.
  }
  applyLang(lang);
}

function applyLang(lang) {
  const changed = lang !== current;
  current = lang;
  formatLocale = formatLocaleFor(lang, browserLanguages());
  if (typeof document !== 'undefined') document.documentElement.lang = HTML_LANG[lang];
  if (changed) listeners.forEach((f) => f(lang));
}

export function getLang() {
  return current;
}

/** The Intl locale for numbers, dates and units. */
export function locale() {
  return formatLocale;
}

export function onLangChange(f) {
  listeners.add(f);
  return () => listeners.delete(f);
}

export function hasMessage(key, lang = current) {
  return MESSAGES[lang]?.[key] !== undefined;
}

export function t(key, params = {}) {
  let m = MESSAGES[current]?.[key] ?? MESSAGES.en[key];
  if (m === undefined) return key;
  if (typeof m === 'object') {
    const rule = new Intl.PluralRules(formatLocale).select(Number(params.n ?? 0));
    m = m[rule] ?? m.other;
  }
  return m.replace(/\{(\w+)\}/g, (all, name) => (params[name] === undefined ? all : String(params[name])));
}
