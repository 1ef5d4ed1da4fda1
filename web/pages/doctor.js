/*
 * doctor.js - "Before you start" (#/tools/doctor): the server audits itself
 * as a sender (GET /v1/doctor, the report of `bouncecheck doctor`): one
 * card per check with its pass/warn/fail badge, what was found and how to
 * fix it. The server keeps the report for 5 minutes.
 */
import { api, isAbort } from '../lib/api.js';
import { h, replace, showError, clearError, whileBusy } from '../lib/dom.js';
import { DOCTOR_CHECKS } from '../lib/words.js';
import { checkBadge } from './findings.js';

function checkView(c, i) {
  const [title, about] = DOCTOR_CHECKS[c.name] || [c.name, ''];
  const status = c.status || 'none';
  const id = `doctor-${i}-title`;
  return h('section', { class: `dns-section check-${status}`, dataset: { check: c.name, status }, 'aria-labelledby': id },
    h('h3', { id }, h('span', null, c.subject ? `${title}: ${c.subject}` : title), ' ', checkBadge(status)),
    h('p', { class: 'muted' }, about),
    h('p', { class: 'finding-message' }, c.detail || ''),
    c.fix ? h('p', { class: 'finding-fix' }, h('strong', null, 'How to fix: '), c.fix) : null);
}

export function render(root, _params, ctx) {
  const button = h('button', { type: 'button', id: 'doctor-run', class: 'button-primary' }, 'Check again');
  const out = h('div', { id: 'doctor-output', 'aria-live': 'polite' });

  async function run() {
    clearError();
    replace(out, h('p', { class: 'muted working' }, 'Checking this server as a sender… this takes a few seconds.'));
    try {
      const r = await whileBusy(out, button, () => api('/v1/doctor', { signal: ctx.signal }));
      const checks = Array.isArray(r.checks) ? r.checks : [];
      replace(out, h('article', { id: 'doctor-report', class: 'report', dataset: { ok: String(!!r.ok) } },
        h('h2', null, r.ok ? 'No check failed' : 'Fix the failed checks before you verify'),
        h('p', null, r.ok
          ? 'Receivers will see an honest sender. Warnings, if any, say what could still be better.'
          : 'Receivers refuse or blocklist senders like this: each failed check says what to change.'),
        checks.map(checkView)));
    } catch (err) {
      if (isAbort(err)) return;
      replace(out);
      showError(err);
    }
  }
  button.addEventListener('click', run);

  replace(root,
    h('h1', { tabindex: '-1' }, 'Before you start'),
    h('p', { class: 'lead' }, 'Verifying from a host without reverse DNS, or with a name that is someone else\'s, gets its address refused or blocklisted. This page checks the server the way receivers will.'),
    button, out);
  run();
}
