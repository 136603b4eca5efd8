// The JSON API client. Same origin, so the browser sends the session cookie (HttpOnly, set by
// POST /v1/auth/login); the page never sees or stores a token. Every request that changes
// something carries X-CSRF-Token (from the login answer or GET /v1/me).
//
// Errors become ApiError {status, code, message, retryAfter}. A 401 on any call but the login
// itself dispatches `ryuryo:unauthenticated` on window, and the app shows the login page.

let csrfToken = null;

export function setCsrfToken(token) {
  csrfToken = token || null;
}

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || 'http_error';
    this.retryAfter = retryAfter;
  }
}

/** A path with each interpolated value percent-encoded: path`/v1/lines/${id}/usage`. */
export function path(strings, ...values) {
  let out = strings[0];
  values.forEach((v, i) => {
    out += encodeURIComponent(String(v)) + strings[i + 1];
  });
  return out;
}

/** `base` plus a query string of the defined, non-empty params (arrays repeat the key). */
export function withQuery(base, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `${base}?${s}` : base;
}

export async function request(method, url, body, { signal, quiet401 = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', e.message);
  }
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  let data = null;
  if (type.includes('json')) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  } else {
    data = await response.text();
  }
  if (!response.ok) {
    const err = data && typeof data === 'object' && data.error ? data.error : {};
    const retry = response.headers.get('Retry-After');
    const e = new ApiError(response.status, err.code, err.message, retry === null ? null : Number(retry));
    if (response.status === 401 && !quiet401) {
      window.dispatchEvent(new CustomEvent('ryuryo:unauthenticated'));
    }
    throw e;
  }
  return data;
}

export const get = (url, opts) => request('GET', url, undefined, opts);
export const put = (url, body, opts) => request('PUT', url, body, opts);
export const post = (url, body, opts) => request('POST', url, body, opts);
export const del = (url, opts) => request('DELETE', url, undefined, opts);

/** The Prometheus text of /metrics. */
export async function getMetricsText(signal) {
  const response = await fetch('/metrics', { credentials: 'same-origin', cache: 'no-store', signal });
  if (!response.ok) throw new ApiError(response.status, 'metrics', `HTTP ${response.status}`);
  return response.text();
}
