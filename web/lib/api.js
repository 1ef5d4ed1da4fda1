/*
 * api.js - the client of the public API (/v1/..., /openapi.json).
 *
 * Sends "Authorization: Bearer KEY" when the user gave a key (kept in
 * sessionStorage, and in localStorage when they asked to be remembered). On a
 * 401 it asks the sign-in form (installed by app.js) for a key and retries.
 * Errors become ApiError with the server's code and message. While a request
 * runs, <main> carries aria-busy="true".
 */

const KEY_NAME = 'bouncecheck-key';

function readStore(store) {
  try {
    return store.getItem(KEY_NAME) || '';
  } catch {
    return '';
  }
}

let key = readStore(sessionStorage) || readStore(localStorage);

export function getKey() {
  return key;
}

/* Keeps the key for this tab; remember also keeps it across browser restarts. */
export function setKey(newKey, remember) {
  key = newKey.trim();
  try {
    sessionStorage.setItem(KEY_NAME, key);
    if (remember) localStorage.setItem(KEY_NAME, key);
    else localStorage.removeItem(KEY_NAME);
  } catch {
    /* storage refused (private mode): the key lives in memory only */
  }
}

export function clearKey() {
  key = '';
  try {
    sessionStorage.removeItem(KEY_NAME);
    localStorage.removeItem(KEY_NAME);
  } catch {
    /* nothing stored */
  }
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/* True for errors that only mean "the page was left": not worth showing. */
export function isAbort(err) {
  return err && err.name === 'AbortError';
}

let busyCount = 0;
function busy(delta) {
  busyCount += delta;
  const main = document.getElementById('main');
  if (!main) return;
  if (busyCount > 0) main.setAttribute('aria-busy', 'true');
  else main.removeAttribute('aria-busy');
}

let signInHandler = null;
let pendingSignIn = null;

/* app.js installs fn(message) -> Promise resolved once the user gave a key. */
export function onSignInNeeded(fn) {
  signInHandler = fn;
}

function needSignIn(hadKey) {
  if (!pendingSignIn) {
    const message = hadKey
      ? 'That API key was not accepted (mistyped or revoked). Please enter a valid key.'
      : 'This server needs an API key. Enter yours to go on.';
    pendingSignIn = Promise.resolve(signInHandler(message)).finally(() => {
      pendingSignIn = null;
    });
  }
  return pendingSignIn;
}

async function errorFrom(res) {
  let code = `http_${res.status}`;
  let message = `The server answered ${res.status} ${res.statusText || ''}`.trim() + '.';
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    /* not JSON: keep the generic message */
  }
  return new ApiError(res.status, code, message);
}

/*
 * Sends one request and returns the Response (2xx only).
 * opts: method, query (object; arrays repeat the name), body, type (the
 * Content-Type of a string/Blob body), signal (AbortSignal), auth (false: no
 * key and no sign-in, for /openapi.json).
 */
export async function request(path, opts = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(opts.query || {})) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(one));
  }
  for (;;) {
    const headers = { Accept: 'application/json' };
    const sentKey = opts.auth === false ? '' : key;
    if (sentKey) headers.Authorization = `Bearer ${sentKey}`;
    if (opts.type) headers['Content-Type'] = opts.type;
    let res;
    busy(1);
    try {
      res = await fetch(url, {
        method: opts.method || 'GET',
        headers,
        body: opts.body,
        signal: opts.signal,
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (err) {
      if (isAbort(err)) throw err;
      throw new ApiError(0, 'network', 'Could not reach the BounceCheck server. Check your connection and try again.');
    } finally {
      busy(-1);
    }
    if (res.status === 401 && opts.auth !== false && signInHandler) {
      /* A key the server refuses is useless: forget it (also from storage). */
      if (sentKey && sentKey === key) clearKey();
      await needSignIn(Boolean(sentKey));
      if (opts.signal && opts.signal.aborted) throw new DOMException('page left', 'AbortError');
      continue;
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  }
}

/* Same as request() but returns the parsed JSON (null for 204). */
export async function api(path, opts = {}) {
  const res = await request(path, opts);
  if (res.status === 204) return null;
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'bad_json', 'The server sent an answer that could not be read.');
  }
}

/* Sends a JSON body. */
export function apiJson(path, method, data, opts = {}) {
  return api(path, { ...opts, method, body: JSON.stringify(data), type: 'application/json' });
}
