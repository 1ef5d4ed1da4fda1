/*
 * keys.js - the API keys page (#/keys): with an admin key, list, create and
 * revoke keys (a new key's secret is shown once, with a copy button); on an
 * open server or with an ordinary key it explains how keys work instead.
 */
import { api, apiJson, request, ApiError, isAbort } from '../lib/api.js';
import { h, replace, field, showError, clearError, whileBusy, scrollBox, when, badge, num } from '../lib/dom.js';

function explain(kind) {
  const intro = kind === 'open'
    ? h('p', null, 'This server is open: it has no API keys, so anyone who can reach it can use it. That is fine on your own computer.')
    : h('p', null, 'You are signed in with an ordinary key. Only an admin key can see and manage keys; ask the person who runs this server.');
  return h('section', { id: 'keys-help', class: 'panel', 'aria-labelledby': 'keys-help-title' },
    h('h2', { id: 'keys-help-title' }, 'How keys work'),
    intro,
    h('ul', null,
      h('li', null, 'Once any key exists, every request needs one, and each key sees only its own lists.'),
      h('li', null, 'Keys can have a rate limit (checks per second) and a daily limit.'),
      h('li', null, 'An admin key can also create and revoke other keys on this page.')),
    h('p', null, 'To create the first admin key, run this on the server:'),
    h('pre', { class: 'command', tabindex: '0' }, 'bouncecheck keys create --admin --name "Your name"'),
    h('p', null, 'Then sign in here with the key it prints.'));
}

export function render(root, _params, ctx) {
  const box = h('div', { id: 'keys-box', 'aria-live': 'polite' }, h('p', { class: 'muted working' }, 'Loading…'));
  replace(root,
    h('h1', { tabindex: '-1' }, 'API keys'),
    h('p', { class: 'lead' }, 'Keys let programs and people use this server. Give each one its own key so you can revoke it alone.'),
    box);

  async function revoke(k, button) {
    const mine = k.id === myKeyId
      ? ' This is the key you are signed in with: this page will stop working for you too.' : '';
    if (!window.confirm(`Revoke the key "${k.name || k.id}"? Programs using it will stop working.${mine}`)) return;
    clearError();
    try {
      await whileBusy(box, button, () => request(`/v1/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE', signal: ctx.signal }));
      load();
    } catch (err) {
      if (!isAbort(err)) showError(err);
    }
  }

  let myKeyId = null;

  function listView(keys) {
    return h('table', { id: 'keys-list', class: 'data-table' },
      h('caption', { class: 'visually-hidden' }, 'API keys'),
      h('thead', null, h('tr', null,
        ['Name', 'Kind', 'Limits', 'Created', 'State', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, keys.map((k) => {
        const b = k.revoked_at ? null
          : h('button', { type: 'button', class: 'key-revoke button-danger button-small', dataset: { keyId: k.id } }, 'Revoke');
        b?.addEventListener('click', () => revoke(k, b));
        return h('tr', { dataset: { keyId: k.id } },
          h('td', null, k.name || h('code', null, k.id), k.id === myKeyId ? h('span', { class: 'muted' }, ' (the key you use)') : null),
          h('td', null, k.admin ? 'Admin' : 'Ordinary'),
          h('td', null, `${k.rate ? num(k.rate) + '/s' : 'no rate limit'}, ${k.daily ? num(k.daily) + '/day' : 'no daily limit'}`),
          h('td', { class: 'nowrap' }, when(k.created_at)),
          h('td', null, k.revoked_at ? badge('check-fail', `revoked ${when(k.revoked_at)}`) : badge('check-pass', 'active')),
          h('td', null, b));
      })));
  }

  function createForm() {
    const name = h('input', { id: 'key-name', type: 'text', required: true, autocomplete: 'off' });
    const rate = h('input', { id: 'key-rate', type: 'number', min: '0', inputmode: 'numeric', placeholder: 'no limit' });
    const daily = h('input', { id: 'key-daily', type: 'number', min: '0', inputmode: 'numeric', placeholder: 'no limit' });
    const admin = h('input', { id: 'key-admin', type: 'checkbox' });
    const button = h('button', { type: 'submit', id: 'key-create', class: 'button-primary' }, 'Create key');
    const secretBox = h('div', { id: 'key-secret-box', 'aria-live': 'polite' });
    const form = h('form', { class: 'stack', novalidate: true },
      field('Name', name, 'Who or what will use it, e.g. "Newsletter tool".'),
      h('div', { class: 'field-row' },
        field('Rate limit (checks per second)', rate),
        field('Daily limit (checks per day)', daily)),
      h('div', { class: 'check' }, admin, h('label', { for: 'key-admin' }, 'Admin key (can manage other keys)')),
      h('div', { class: 'actions' }, button));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!name.value.trim()) {
        showError('Give the key a name first.');
        name.focus();
        return;
      }
      clearError();
      const body = { name: name.value.trim(), admin: admin.checked };
      if (rate.value) body.rate = Number(rate.value);
      if (daily.value) body.daily = Number(daily.value);
      try {
        const r = await whileBusy(form, button, () => apiJson('/v1/keys', 'POST', body, { signal: ctx.signal }));
        const secret = h('code', { id: 'key-secret', class: 'secret' }, r.key);
        const copy = h('button', { type: 'button', id: 'key-copy', class: 'button-secondary' }, 'Copy');
        const copied = h('span', { class: 'muted', 'aria-live': 'polite' });
        copy.addEventListener('click', async () => {
          try {
            await navigator.clipboard.writeText(r.key);
            copied.textContent = 'Copied.';
          } catch {
            const range = document.createRange();
            range.selectNodeContents(secret);
            const sel = window.getSelection();
            sel.removeAllRanges();
            sel.addRange(range);
            copied.textContent = 'Selected: press Ctrl+C (or ⌘C) to copy.';
          }
        });
        replace(secretBox, h('div', { class: 'notice notice-ok' },
          h('p', null, h('strong', null, `Key "${r.name || body.name}" created. `), 'Copy it now: it is shown only once.'),
          h('p', { class: 'secret-row' }, secret, ' ', copy, ' ', copied)));
        copy.focus();
        name.value = '';
        rate.value = '';
        daily.value = '';
        admin.checked = false;
        load(true);
      } catch (err) {
        if (!isAbort(err)) showError(err);
      }
    });
    return h('section', { class: 'panel', 'aria-labelledby': 'key-new-title' },
      h('h2', { id: 'key-new-title' }, 'Create a key'), form, secretBox);
  }

  let listBox = null;

  async function load(listOnly) {
    try {
      let me = null;
      try {
        me = await api('/v1/me', { signal: ctx.signal });
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 404) throw err;
      }
      myKeyId = me && me.key ? me.key.id : null;
      if (me && me.auth === 'none') {
        replace(box, explain('open'));
        return;
      }
      if (me && me.key && !me.key.admin) {
        replace(box, explain('ordinary'));
        return;
      }
      let data;
      try {
        data = await api('/v1/keys', { signal: ctx.signal });
      } catch (err) {
        if (err instanceof ApiError && (err.status === 403 || err.status === 404)) {
          replace(box, explain(err.status === 403 ? 'ordinary' : 'open'));
          return;
        }
        throw err;
      }
      const keys = (data && data.keys) || [];
      if (!keys.length && (!me || me.auth === 'none')) {
        replace(box, explain('open'));
        return;
      }
      const list = h('section', { class: 'panel', 'aria-labelledby': 'keys-title' },
        h('h2', { id: 'keys-title' }, 'Keys'), scrollBox(listView(keys), 'API keys'));
      if (listOnly && listBox) {
        listBox.replaceWith(list);
        listBox = list;
        return;
      }
      listBox = list;
      replace(box, list, createForm());
    } catch (err) {
      if (isAbort(err)) return;
      replace(box);
      showError(err);
    }
  }
  load();
}
