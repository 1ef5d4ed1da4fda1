/*
 * verify.js - the Verify page (#/verify): one address, its verdict in plain
 * words, its flags, a "did you mean" suggestion and a technical view.
 */
import { api, isAbort } from '../lib/api.js';
import { h, replace, field, badge, showError, clearError, whileBusy, renderValue } from '../lib/dom.js';
import { statusLabel, statusMeaning, reasonText, FLAGS } from '../lib/words.js';

function transcriptBlock(lines) {
  return h('pre', { id: 'verify-transcript', class: 'transcript', tabindex: '0', 'aria-label': 'SMTP transcript' },
    lines.map((l) => h('span', { class: `line dir-${l.dir === 'C' ? 'c' : l.dir === 'S' ? 's' : 'note'}` },
      `${l.dir === '*' ? '*' : l.dir + ':'} ${l.line}\n`)));
}

function technical(r, onTrace) {
  const rows = [
    ['Address as given', r.email],
    ['Normalized', r.normalized],
    ['Reason code', r.reason],
    ['Syntax', r.syntax ? `${r.syntax.valid ? 'valid' : 'invalid'} (${r.syntax.code})` : null],
    ['Role category', r.role_category],
    ['Provider', r.provider],
    ['Checked in', typeof r.duration_ms === 'number' ? `${r.duration_ms} ms` : null],
    ['From cache', r.cached],
  ];
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of rows) dl.append(h('dt', null, k), h('dd', null, renderValue(v)));

  const mx = Array.isArray(r.mx) && r.mx.length
    ? h('ul', { class: 'plain-list' }, r.mx.map((m) => h('li', null,
      h('code', null, m.host), ` (preference ${m.preference})`,
      m.addresses && m.addresses.length ? ` — ${m.addresses.join(', ')}` : '')))
    : h('p', { class: 'muted' }, 'No mail servers found.');

  let smtp = h('p', { class: 'muted' }, 'The mail server was not contacted.');
  if (r.smtp && (r.smtp.host || r.smtp.code)) {
    const reply = [r.smtp.code, r.smtp.enhanced, r.smtp.message].filter((x) => x !== null && x !== undefined).join(' ');
    smtp = h('dl', { class: 'kv' },
      h('dt', null, 'Reply'), h('dd', null, reply ? h('code', null, reply) : '—'),
      h('dt', null, 'Server'), h('dd', null, renderValue(r.smtp.host ? `${r.smtp.host}${r.smtp.address ? ' [' + r.smtp.address + ']' : ''}${r.smtp.port ? ':' + r.smtp.port : ''}` : null)),
      h('dt', null, 'Encrypted (STARTTLS)'), h('dd', null, renderValue(r.smtp.tls)),
      h('dt', null, 'Ended at step'), h('dd', null, renderValue(r.smtp.step)),
      h('dt', null, 'Read by rule'), h('dd', null, r.smtp.rule ? h('code', { id: 'verify-rule' }, r.smtp.rule) : '—'),
      h('dt', null, 'Attempts'), h('dd', null, renderValue(r.smtp.attempts)),
      h('dt', null, 'Time'), h('dd', null, renderValue(typeof r.smtp.ms === 'number' ? `${r.smtp.ms} ms` : null)));
  }

  const lines = Array.isArray(r.transcript) ? r.transcript : [];
  let transcript;
  if (lines.length) {
    transcript = transcriptBlock(lines);
  } else if (Array.isArray(r.mx) && r.mx.length) {
    // Transcripts are not kept with answers (nor in the cache): ask for one.
    const slot = h('div', { id: 'verify-transcript-slot', 'aria-live': 'polite' });
    const button = h('button', { type: 'button', id: 'verify-trace', class: 'button-secondary' },
      'Show the conversation with the mail server');
    button.addEventListener('click', () => onTrace(slot, button));
    slot.append(h('p', { class: 'muted' },
      'The conversation is shown on request: this asks the mail server once more.'), button);
    transcript = slot;
  } else {
    transcript = h('p', { class: 'muted' }, 'No conversation: the mail server was not contacted.');
  }

  return h('details', { id: 'verify-technical', class: 'technical' },
    h('summary', null, 'Technical details'),
    dl,
    h('h3', null, 'Mail servers (MX)'), mx,
    h('h3', null, 'SMTP reply'), smtp,
    h('h3', null, 'Transcript'), transcript);
}

function verdict(r, onSuggest, onTrace) {
  const status = r.status || 'unknown';
  const flags = h('div', { id: 'verify-flags', class: 'flags' });
  for (const [name, info] of Object.entries(FLAGS)) {
    if (r[name] === true) {
      flags.append(h('span', { class: 'flag', dataset: { flag: name }, title: info.title }, info.label));
    }
  }
  if (!flags.childElementCount) flags.append(h('span', { class: 'muted' }, 'No flags.'));
  const score = typeof r.score === 'number' ? r.score : null;
  return h('article', { id: 'verify-result', class: `result result-${status}`, dataset: { status } },
    h('h2', { class: 'result-title' },
      h('span', { class: 'result-address' }, r.normalized || r.email || ''),
      ' ',
      badge(status, statusLabel(status), 'badge-large'),
    ),
    h('p', { class: 'status-line' },
      h('strong', { id: 'verify-status' }, statusLabel(status)), ': ', statusMeaning(status)),
    h('p', { id: 'verify-reason', class: 'reason' }, reasonText(r.reason)),
    r.hint ? h('p', { id: 'verify-hint', class: 'notice', role: 'note' }, r.hint) : null,
    r.suggestion
      ? h('p', { class: 'suggestion' },
        h('button', { type: 'button', id: 'verify-suggestion', class: 'button-secondary', onclick: () => onSuggest(r.suggestion) },
          `Did you mean ${r.suggestion}?`))
      : null,
    h('div', { class: 'score-row' },
      h('span', null, 'Confidence: '),
      h('strong', { id: 'verify-score' }, score === null ? '—' : `${score} / 100`),
      score === null ? null : h('meter', { min: '0', max: '100', low: '40', high: '80', optimum: '100', value: String(score), 'aria-label': 'Confidence score' })),
    h('div', { class: 'flags-row' }, h('span', null, 'Flags: '), flags),
    technical(r, onTrace));
}

export function render(root, _params, ctx) {
  const input = h('input', {
    id: 'verify-email', name: 'email', type: 'text', inputmode: 'email', autocomplete: 'email',
    spellcheck: 'false', autocapitalize: 'off', required: true, placeholder: 'name@example.com',
  });
  const button = h('button', { type: 'submit', id: 'verify-submit', class: 'button-primary' }, 'Verify');
  const out = h('div', { id: 'verify-output', 'aria-live': 'polite' });
  const form = h('form', { class: 'inline-form', novalidate: true },
    field('Email address', input, 'We ask the mail server whether the mailbox exists — no email is sent.'),
    button);

  async function run() {
    const email = input.value.trim();
    if (!email) {
      showError('Type an email address first.');
      input.focus();
      return;
    }
    clearError();
    replace(out, h('p', { class: 'muted working' }, 'Checking… this can take up to half a minute when a mail server is slow.'));
    try {
      const r = await whileBusy(out, button, () => api('/v1/verify', { query: { email }, signal: ctx.signal }));
      replace(out, verdict(r, (suggestion) => {
        input.value = suggestion;
        run();
      }, (slot, traceButton) => trace(email, slot, traceButton)));
    } catch (err) {
      if (isAbort(err)) return;
      replace(out);
      showError(err);
    }
  }

  async function trace(email, slot, traceButton) {
    clearError();
    try {
      const r = await whileBusy(slot, traceButton,
        () => api('/v1/verify', { query: { email, trace: '1' }, signal: ctx.signal }));
      const lines = Array.isArray(r.transcript) ? r.transcript : [];
      replace(slot, lines.length ? transcriptBlock(lines)
        : h('p', { class: 'muted' }, 'No conversation: the mail server was not contacted this time.'));
    } catch (err) {
      if (isAbort(err)) return;
      showError(err);
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    run();
  });

  replace(root,
    h('h1', { tabindex: '-1' }, 'Verify an address'),
    h('p', { class: 'lead' }, 'Find out whether an email address will receive mail before you send to it.'),
    form,
    out,
    h('section', { class: 'legend-box', 'aria-labelledby': 'verify-legend' },
      h('h2', { id: 'verify-legend' }, 'What the answers mean'),
      h('ul', { class: 'status-legend' },
        ['deliverable', 'undeliverable', 'risky', 'unknown'].map((st) => h('li', null,
          badge(st, statusLabel(st)), ' ', statusMeaning(st))))));

  const preset = ctx.query.get('email');
  if (preset) {
    input.value = preset;
    run();
  } else {
    input.focus();
  }
}
