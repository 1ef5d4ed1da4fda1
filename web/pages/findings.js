/*
 * findings.js - shared rendering of findings ({severity, code, message, fix})
 * for the domain health and mail server test pages.
 */
import { h, badge } from '../lib/dom.js';
import { CHECK_STATUSES } from '../lib/words.js';

const SEVERITY_WORD = { pass: 'Pass', info: 'Info', warn: 'Warning', fail: 'Problem' };

export function findingList(findings) {
  const list = Array.isArray(findings) ? findings : [];
  if (!list.length) return h('p', { class: 'muted' }, 'Nothing to report.');
  return h('ul', { class: 'findings' }, list.map((f) => {
    const sev = f.severity || 'info';
    return h('li', { class: `finding finding-${sev}`, dataset: { severity: sev, code: f.code || '' } },
      badge(`check-${sev}`, SEVERITY_WORD[sev] || sev),
      h('div', { class: 'finding-body' },
        h('p', { class: 'finding-message' }, f.message || f.code || ''),
        f.fix ? h('p', { class: 'finding-fix' }, h('strong', null, 'How to fix: '), f.fix) : null));
  }));
}

export function checkBadge(status) {
  return badge(`check-${status}`, CHECK_STATUSES[status] || status);
}
