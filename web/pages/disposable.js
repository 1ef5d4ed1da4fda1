/*
 * disposable.js - the disposable check (#/tools/disposable): is this domain
 * (or the domain of this address) a throwaway-address service?
 */
import { api, isAbort } from '../lib/api.js';
import { h, replace, field, showError, clearError, whileBusy, renderValue } from '../lib/dom.js';

export function render(root, _params, ctx) {
  const input = h('input', {
    id: 'disposable-input', type: 'text', required: true, spellcheck: 'false', autocapitalize: 'off',
    placeholder: 'mailinator.com or someone@mailinator.com',
  });
  const button = h('button', { type: 'submit', id: 'disposable-submit', class: 'button-primary' }, 'Check');
  const out = h('div', { id: 'disposable-output', 'aria-live': 'polite' });
  const form = h('form', { class: 'inline-form', novalidate: true },
    field('Domain or email address', input), button);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    if (!value) {
      showError('Type a domain or an email address first.');
      input.focus();
      return;
    }
    clearError();
    const query = value.includes('@') ? { email: value } : { domain: value };
    try {
      const r = await whileBusy(out, button, () => api('/v1/disposable', { query, signal: ctx.signal }));
      const domain = r.unicode_domain || r.domain;
      let sentence;
      if (r.disposable) {
        sentence = `Yes: ${domain} is a disposable (throwaway) address service. Addresses there are used once and rarely read again.`;
      } else if (r.allowlisted) {
        sentence = `No: ${domain} is on the allow list${r.allow_matched ? ` (${r.allow_matched})` : ''}, so it is treated as a normal domain.`;
      } else {
        sentence = `No: ${domain} is not a known disposable address service.`;
      }
      const extra = r.has_mx === false ? h('p', { class: 'notice notice-warn' }, 'This domain has no mail server, so no address there can receive mail.') : null;
      replace(out, h('article', { id: 'disposable-result', class: `result ${r.disposable ? 'result-risky' : 'result-deliverable'}`, dataset: { disposable: r.disposable ? 'true' : 'false' } },
        h('h2', null, r.disposable ? 'Disposable' : 'Not disposable'),
        h('p', null, sentence),
        extra,
        h('details', { class: 'technical' }, h('summary', null, 'Details'),
          renderValue(r, { matched: 'Matched list entry', list: 'List', registrable_domain: 'Registrable domain', has_mx: 'Has a mail server', dns_error: 'DNS error' }))));
    } catch (err) {
      if (isAbort(err)) return;
      replace(out);
      showError(err);
    }
  });

  replace(root,
    h('h1', { tabindex: '-1' }, 'Disposable address check'),
    h('p', { class: 'lead' }, 'Find out whether a domain hands out throwaway addresses (people sign up with them and never come back).'),
    form, out);
  input.focus();
}
