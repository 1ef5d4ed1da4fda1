/*
 * app.js - the web UI's entry point: hash router, sign-in form and the nav's
 * session state. Each page lives in web/pages/ and exports
 * render(root, params, ctx); ctx.signal is aborted and ctx.onLeave callbacks
 * run when the user goes to another page.
 */
import { api, getKey, setKey, clearKey, onSignInNeeded, isAbort } from './lib/api.js';
import { h, replace, clearError } from './lib/dom.js';
import * as verify from './pages/verify.js';
import * as bulk from './pages/bulk.js';
import * as jobs from './pages/jobs.js';
import * as job from './pages/job.js';
import * as disposable from './pages/disposable.js';
import * as extract from './pages/extract.js';
import * as dns from './pages/dns.js';
import * as smtp from './pages/smtp.js';
import * as doctor from './pages/doctor.js';
import * as keys from './pages/keys.js';
import * as docs from './pages/docs.js';

/* [pattern, nav item, page module, title] */
const ROUTES = [
  [/^\/(verify)?$/, 'verify', verify, 'Verify an address'],
  [/^\/bulk$/, 'bulk', bulk, 'Verify a list'],
  [/^\/jobs$/, 'jobs', jobs, 'Your lists'],
  [/^\/jobs\/([0-9A-Za-z_-]+)$/, 'jobs', job, 'List results'],
  [/^\/tools\/disposable$/, 'disposable', disposable, 'Disposable address check'],
  [/^\/tools\/extract$/, 'extract', extract, 'Find addresses in text'],
  [/^\/tools\/dns$/, 'dns', dns, 'Domain health'],
  [/^\/tools\/smtp$/, 'smtp', smtp, 'Mail server test'],
  [/^\/tools\/doctor$/, 'doctor', doctor, 'Before you start'],
  [/^\/keys$/, 'keys', keys, 'API keys'],
  [/^\/docs$/, 'docs', docs, 'API docs'],
];

let current = null; /* { controller, leave: [] } of the page shown */
let firstRender = true;

export const session = { me: null, known: false };

function leavePage() {
  if (!current) return;
  current.controller.abort();
  for (const fn of current.leave) {
    try {
      fn();
    } catch (err) {
      console.warn('leaving page:', err);
    }
  }
  current = null;
}

function parseHash() {
  let hash = location.hash.replace(/^#/, '');
  if (!hash.startsWith('/')) hash = '/' + hash;
  const q = hash.indexOf('?');
  const path = q >= 0 ? hash.slice(0, q) : hash;
  const query = new URLSearchParams(q >= 0 ? hash.slice(q + 1) : '');
  return { path, query };
}

function notFound(root) {
  replace(root,
    h('h1', { tabindex: '-1' }, 'Page not found'),
    h('p', null, 'There is no page at this address. ', h('a', { href: '#/verify' }, 'Go to Verify'), '.'));
}

function render() {
  const { path, query } = parseHash();
  leavePage();
  clearError();
  const root = document.getElementById('page');
  const controller = new AbortController();
  current = { controller, leave: [] };
  const ctx = {
    signal: controller.signal,
    query,
    onLeave(fn) {
      current?.leave.push(fn);
    },
  };
  let navName = null;
  let title = 'Page not found';
  root.replaceChildren();
  const route = ROUTES.find(([re]) => re.test(path));
  if (route) {
    const [re, nav, mod, t] = route;
    navName = nav;
    title = t;
    const params = path.match(re).slice(1);
    try {
      mod.render(root, params, ctx);
    } catch (err) {
      console.error(err);
      replace(root, h('h1', null, title), h('p', null, 'This page could not be shown: ' + err.message));
    }
  } else {
    notFound(root);
  }
  document.title = `${title} · BounceCheck`;
  for (const a of document.querySelectorAll('a[data-nav]')) {
    if (a.dataset.nav === navName) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  /* Move focus to the new page's heading so screen readers hear the change. */
  if (!firstRender) root.querySelector('h1')?.focus({ preventScroll: false });
  firstRender = false;
}

/* ---- sign-in ---- */

let signInResolve = null;

function showSignIn(message) {
  const panel = document.getElementById('signin-panel');
  document.getElementById('signin-message').textContent = message;
  panel.hidden = false;
  document.getElementById('page').hidden = true;
  updateSessionUi();
  const input = document.getElementById('signin-key');
  input.value = '';
  input.focus();
  return new Promise((resolve) => {
    signInResolve = resolve;
  });
}

function setupSignIn() {
  onSignInNeeded(showSignIn);
  document.getElementById('signin').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = document.getElementById('signin-key');
    const value = input.value.trim();
    if (!value) {
      input.focus();
      return;
    }
    setKey(value, document.getElementById('signin-remember').checked);
    document.getElementById('signin-panel').hidden = true;
    document.getElementById('page').hidden = false;
    const resolve = signInResolve;
    signInResolve = null;
    updateSessionUi();
    if (resolve) resolve();
    refreshSession();
  });
  document.getElementById('signout').addEventListener('click', () => {
    clearKey();
    session.me = null;
    session.known = false;
    updateSessionUi();
    refreshSession();
    render();
  });
}

function updateSessionUi() {
  const info = document.getElementById('session-info');
  const out = document.getElementById('signout');
  const keysLink = document.querySelector('a[data-nav="keys"]');
  const me = session.me;
  out.hidden = !getKey();
  if (me && me.key) {
    info.textContent = `Key: ${me.key.name || me.key.id}${me.key.admin ? ' (admin)' : ''}`;
  } else if (getKey()) {
    info.textContent = 'Signed in with a key';
  } else {
    info.textContent = '';
  }
  if (keysLink) {
    const admin = Boolean(me && me.key && me.key.admin);
    keysLink.title = admin ? 'Manage API keys' : 'How API keys work (managing them needs an admin key)';
  }
}

/* Asks GET /v1/me who we are (fine if the server has no such endpoint yet). */
async function refreshSession() {
  try {
    session.me = await api('/v1/me');
    session.known = true;
  } catch (err) {
    if (!isAbort(err)) {
      session.me = null;
      session.known = false;
    }
  }
  updateSessionUi();
}

function setupSkipLink() {
  /* The skip link must not change the hash (that is the router's). */
  document.getElementById('skip-link').addEventListener('click', (ev) => {
    ev.preventDefault();
    const main = document.getElementById('main');
    main.focus();
    main.scrollIntoView();
  });
}

function start() {
  setupSignIn();
  setupSkipLink();
  updateSessionUi();
  window.addEventListener('hashchange', render);
  render();
  refreshSession();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
