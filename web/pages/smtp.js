/*
 * smtp.js - the mail server test (#/tools/smtp): renders the JSON of
 * `bouncecheck smtp-test --json` (GET /v1/smtp-test): findings first, then per
 * port the greeting, EHLO capabilities, TLS and certificate, and the relay
 * test; anything else in the answer is shown generically.
 */
import { api, isAbort } from '../lib/api.js';
import { h, replace, field, showError, clearError, whileBusy, renderValue, badge } from '../lib/dom.js';
import { findingList } from './findings.js';

const LABELS = {
  connect_ms: 'Connect time (ms)', banner_host: 'Name in greeting', ptr: 'Reverse DNS (PTR)',
  ptr_matches_banner: 'PTR matches greeting', ehlo_after_tls: 'EHLO after TLS', open_relay: 'Open relay',
  relay_reply: 'Relay test reply', days_left: 'Days left', not_after: 'Valid until', sans: 'Names (SAN)',
  verify_error: 'Verification error', name_matches: 'Name matches', '8bitmime': '8BITMIME',
  enhancedstatuscodes: 'Enhanced status codes', smtputf8: 'SMTPUTF8', starttls: 'STARTTLS', helo_fallback: 'Fell back to HELO',
};

function yesNo(v, good) {
  if (v === null || v === undefined) return badge('check-none', 'not tested');
  const ok = v === good;
  return badge(ok ? 'check-pass' : 'check-fail', v ? 'yes' : 'no');
}

function transcriptView(lines) {
  if (!Array.isArray(lines) || !lines.length) return null;
  return h('details', { class: 'technical' }, h('summary', null, 'Transcript'),
    h('pre', { class: 'transcript', tabindex: '0' }, lines.map((l) => (typeof l === 'string' ? l : `${l.dir || ''} ${l.line || ''}`) + '\n')));
}

function portView(p) {
  const tls = p.tls || {};
  const cert = tls.version || tls.subject || tls.issuer
    ? h('dl', { class: 'kv' },
      h('dt', null, 'Mode'), h('dd', null, renderValue(tls.mode)),
      h('dt', null, 'Version / cipher'), h('dd', null, `${tls.version || '—'} / ${tls.cipher || '—'}`),
      h('dt', null, 'Certificate trusted'), h('dd', null, yesNo(tls.verified, true), tls.verify_error ? ` ${tls.verify_error}` : ''),
      h('dt', null, 'Name matches'), h('dd', null, yesNo(tls.name_matches, true)),
      h('dt', null, 'Subject'), h('dd', null, renderValue(tls.subject)),
      h('dt', null, 'Issuer'), h('dd', null, renderValue(tls.issuer)),
      h('dt', null, 'Names (SAN)'), h('dd', null, renderValue(tls.sans)),
      h('dt', null, 'Valid until'), h('dd', null, renderValue(tls.not_after),
        typeof tls.days_left === 'number' ? ` (${tls.days_left} days left)` : ''))
    : h('p', { class: 'muted' }, tls.error ? `No encryption: ${tls.error}` : 'No encryption was negotiated on this port.');
  const known = ['port', 'connected', 'connect_ms', 'error', 'banner', 'banner_host', 'ptr', 'ptr_matches_banner',
    'ehlo', 'ehlo_after_tls', 'tls', 'open_relay', 'relay_reply', 'transcript'];
  const rest = {};
  for (const [k, v] of Object.entries(p)) if (!known.includes(k)) rest[k] = v;
  const banner = p.banner ? `${p.banner.code ?? ''} ${p.banner.text ?? ''}`.trim() : null;
  return h('section', { class: 'panel smtp-port', dataset: { port: p.port, connected: p.connected ? 'true' : 'false' }, 'aria-labelledby': `smtp-port-${p.port}` },
    h('h3', { id: `smtp-port-${p.port}` }, `Port ${p.port} `, p.connected ? badge('check-pass', 'connected') : badge('check-fail', 'no connection')),
    p.error ? h('p', { class: 'notice notice-warn' }, p.error) : null,
    h('dl', { class: 'kv' },
      h('dt', null, 'Greeting'), h('dd', null, banner ? h('code', null, banner) : '—'),
      h('dt', null, 'Connect time'), h('dd', null, typeof p.connect_ms === 'number' ? `${p.connect_ms} ms` : '—'),
      h('dt', null, 'Reverse DNS (PTR)'), h('dd', null, renderValue(p.ptr), ' ', p.ptr_matches_banner === null || p.ptr_matches_banner === undefined ? ''
        : badge(p.ptr_matches_banner ? 'check-pass' : 'check-warn', p.ptr_matches_banner ? 'matches the greeting' : 'differs from the greeting')),
      h('dt', null, 'STARTTLS offered'), h('dd', null, p.ehlo ? yesNo(Boolean(p.ehlo.starttls), true) : yesNo(null)),
      h('dt', null, 'Open relay'), h('dd', null, yesNo(p.open_relay, false), p.relay_reply ? h('span', null, ' ', h('code', null, p.relay_reply)) : '')),
    h('h4', null, 'Encryption and certificate'), cert,
    p.ehlo ? h('details', { class: 'technical' }, h('summary', null, 'Capabilities (EHLO)'), renderValue(p.ehlo, LABELS)) : null,
    p.ehlo_after_tls ? h('details', { class: 'technical' }, h('summary', null, 'Capabilities after TLS'), renderValue(p.ehlo_after_tls, LABELS)) : null,
    Object.keys(rest).length ? h('details', { class: 'technical' }, h('summary', null, 'More'), renderValue(rest, LABELS)) : null,
    transcriptView(p.transcript));
}

export function render(root, _params, ctx) {
  const host = h('input', { id: 'smtp-host', type: 'text', required: true, spellcheck: 'false', autocapitalize: 'off', placeholder: 'mail.example.com' });
  const port = h('input', { id: 'smtp-port', type: 'number', min: '1', max: '65535', value: '25', inputmode: 'numeric' });
  const portField = field('Port', port, '25 between servers; 587 or 465 for sending.');
  portField.classList.add('field-narrow');
  const button = h('button', { type: 'submit', id: 'smtp-submit', class: 'button-primary' }, 'Test server');
  const out = h('div', { id: 'smtp-output', 'aria-live': 'polite' });
  const form = h('form', { class: 'inline-form', novalidate: true },
    field('Mail server (host name or IP address)', host), portField, button);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const target = host.value.trim();
    if (!target) {
      showError('Type the mail server\'s name first, for example mail.example.com.');
      host.focus();
      return;
    }
    clearError();
    replace(out, h('p', { class: 'muted working' }, 'Talking to the mail server… this can take up to a minute.'));
    try {
      const r = await whileBusy(out, button, () => api('/v1/smtp-test', { query: { host: target, port: port.value.trim() }, signal: ctx.signal }));
      const ports = Array.isArray(r.ports) ? r.ports : [];
      const rest = {};
      for (const [k, v] of Object.entries(r)) if (!['host', 'address', 'ports', 'findings', 'transcript'].includes(k)) rest[k] = v;
      replace(out, h('article', { id: 'smtp-report', class: 'report' },
        h('h2', null, `Test of ${r.host || target}${r.address ? ' (' + r.address + ')' : ''}`),
        h('section', { 'aria-labelledby': 'smtp-findings' }, h('h3', { id: 'smtp-findings' }, 'Summary'), findingList(r.findings)),
        ports.map(portView),
        Object.keys(rest).length ? h('details', { class: 'technical' }, h('summary', null, 'More'), renderValue(rest, LABELS)) : null,
        transcriptView(r.transcript)));
    } catch (err) {
      if (isAbort(err)) return;
      replace(out);
      showError(err.status === 404 ? 'This server cannot run mail server tests yet (no /v1/smtp-test).' : err);
    }
  });

  replace(root,
    h('h1', { tabindex: '-1' }, 'Mail server test'),
    h('p', { class: 'lead' }, 'Connect to a mail server the way other servers do: check its greeting, encryption, certificate and that it is not an open relay.'),
    form, out);
  host.focus();
}
