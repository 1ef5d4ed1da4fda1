/*
 * dns.js - the domain health report (#/tools/dns): a big grade, then one
 * section per area (MX, SPF, DMARC, DKIM, blocklists, MTA-STS, TLS-RPT, BIMI,
 * DNSSEC) with its pass/warn/fail badge, findings and how to fix them.
 */
import { api, isAbort } from '../lib/api.js';
import { h, replace, field, showError, clearError, whileBusy, renderValue } from '../lib/dom.js';
import { DNS_SECTIONS } from '../lib/words.js';
import { findingList, checkBadge } from './findings.js';

const GRADE_WORDS = {
  A: 'Excellent: the domain is set up the way receivers like.',
  B: 'Good, with a few things to improve.',
  C: 'Fair: some settings are missing and may hurt delivery.',
  D: 'Poor: important settings are missing or wrong.',
  F: 'Failing: mail from or to this domain is likely to have trouble.',
};

function records(section) {
  const recs = Array.isArray(section.records) ? section.records : [];
  if (!recs.length) return null;
  return h('div', { class: 'records' },
    h('h4', null, 'Records found'),
    h('ul', { class: 'plain-list' }, recs.map((r) => h('li', null,
      typeof r === 'string' ? h('code', { class: 'record' }, r) : renderValue(r)))));
}

function sectionView(key, title, about, section) {
  const status = (section && section.status) || 'none';
  const extra = {};
  for (const [k, v] of Object.entries(section || {})) {
    if (!['status', 'records', 'findings'].includes(k)) extra[k] = v;
  }
  return h('section', { class: `dns-section check-${status}`, dataset: { section: key, status }, 'aria-labelledby': `dns-${key}-title` },
    h('h3', { id: `dns-${key}-title` }, h('span', null, title), ' ', checkBadge(status)),
    h('p', { class: 'muted' }, about),
    findingList(section && section.findings),
    records(section || {}),
    Object.keys(extra).length
      ? h('details', { class: 'technical' }, h('summary', null, 'Details'), renderValue(extra))
      : null);
}

export function render(root, _params, ctx) {
  const input = h('input', {
    id: 'dns-domain', type: 'text', required: true, spellcheck: 'false', autocapitalize: 'off', placeholder: 'example.com',
  });
  const selector = h('input', { id: 'dns-dkim', type: 'text', spellcheck: 'false', autocapitalize: 'off', placeholder: 'selector1' });
  const button = h('button', { type: 'submit', id: 'dns-submit', class: 'button-primary' }, 'Check domain');
  const out = h('div', { id: 'dns-output', 'aria-live': 'polite' });
  const form = h('form', { class: 'inline-form', novalidate: true },
    field('Domain', input),
    field('DKIM selector (optional)', selector, 'Found in the DKIM-Signature header of a mail you sent (s=...). Separate several with commas.'),
    button);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const domain = input.value.trim().replace(/^.*@/, '');
    if (!domain) {
      showError('Type a domain first, for example example.com.');
      input.focus();
      return;
    }
    clearError();
    const sels = selector.value.split(/[\s,]+/).filter(Boolean);
    replace(out, h('p', { class: 'muted working' }, 'Looking up the domain\'s records… this takes a few seconds.'));
    try {
      const r = await whileBusy(out, button, () => api('/v1/dns', { query: { domain, dkim_selector: sels }, signal: ctx.signal }));
      const grade = r.grade || '?';
      replace(out, h('article', { id: 'dns-report', class: 'report', dataset: { grade } },
        h('div', { class: `grade-box grade-${grade}` },
          h('p', { class: 'grade', 'aria-label': `Grade ${grade}` }, grade),
          h('div', null,
            h('h2', null, `Health of ${r.domain}`),
            h('p', null, GRADE_WORDS[grade] || ''),
            h('p', { class: 'muted' }, `Score ${r.score ?? '—'} / 100`))),
        DNS_SECTIONS.map(([key, title, about]) => sectionView(key, title, about, r[key]))));
    } catch (err) {
      if (isAbort(err)) return;
      replace(out);
      showError(err);
    }
  });

  replace(root,
    h('h1', { tabindex: '-1' }, 'Domain health'),
    h('p', { class: 'lead' }, 'Check that a domain\'s mail settings (MX, SPF, DMARC, DKIM and more) are right, with plain advice on what to fix.'),
    form, out);
  const preset = ctx.query.get('domain');
  if (preset) {
    input.value = preset;
    form.requestSubmit();
  } else {
    input.focus();
  }
}
